"""Modelled footsteps and vehicles, embedded in real background noise, to train and test on.

No licensed recording of people walking past a geophone could be obtained (see the shared data's
README), and none of a vehicle either, so both are modelled from physics and every figure that rests
on them says so. A step is a short force pulse exciting the ground's resonances (damped modes of
15-45 Hz), repeated at walking cadence (1.5-2.5 steps/s) with the jitter and loudness changes of a
real gait; "other" is a quake, blast or rockfall far off (sharp onset, decaying coda, alike at every
sensor) or a knock or two near one sensor; a vehicle is an engine's firing frequency and harmonics (8-35 Hz, wandering, Doppler-
shifted) plus broadband tyre and road noise and the odd bump. Both reach each sensor through
geometric spreading and frequency-dependent absorption along a straight path past it, with the
travel delay of the distance. The noise is always real: hours of background from the shared
recordings, so what the model learns to reject is what a real field sounds like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WAVE_SPEED = 250.0  # m/s, surface waves in dry soil
Q = 20.0  # absorption quality factor of the top soil


@dataclass
class Scene:
    """One modelled episode: per-station traces (signal + real noise), rate, and what is in them."""

    label: str  # footstep | vehicle | other | none
    rate: float
    traces: dict[str, np.ndarray]
    onset: float | None  # seconds from the window start when the source becomes audible (None: none)


def _sensors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sensor positions (m) around a site: a few tens of metres apart."""
    return rng.uniform(-40, 40, size=(n, 2))


def _path(rng: np.random.Generator, speed: float, duration: float, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """A straight path crossing the site: start point and velocity (m, m/s) so that it is nearest at t0."""
    heading = rng.uniform(0, 2 * np.pi)
    v = speed * np.array([np.cos(heading), np.sin(heading)])
    miss = rng.uniform(-60, 60) * np.array([-np.sin(heading), np.cos(heading)])
    return miss - v * t0, v


def _attenuate(amplitude_at_1m: float, f: float, r: np.ndarray) -> np.ndarray:
    r = np.maximum(r, 1.0)
    return amplitude_at_1m / np.sqrt(r) * np.exp(-np.pi * f * r / (Q * WAVE_SPEED))


def footsteps(rng: np.random.Generator, rate: float, n: int, sensors: np.ndarray, start: float, length: float,
              ) -> np.ndarray:  # fmt: skip
    """Traces (sensors × n samples) of one walker crossing the site from ``start`` for ``length`` s."""
    out = np.zeros((len(sensors), n))
    cadence = rng.uniform(1.5, 2.5)
    speed = rng.uniform(0.8, 1.8)
    p0, v = _path(rng, speed, length, start + length / 2)
    modes = [(rng.uniform(15, 45), rng.uniform(0.08, 0.3), 1.0)]
    if rng.random() < 0.7:
        modes.append((rng.uniform(8, 80), rng.uniform(0.1, 0.4), rng.uniform(0.2, 0.8)))
    ring = int(0.4 * rate)
    tt = np.arange(ring) / rate
    t = start + rng.uniform(0, 1 / cadence)
    left = True
    while t < start + length:
        pos = p0 + v * t
        force = rng.lognormal(0, 0.3) * (1.0 if left else rng.uniform(0.6, 1.0))
        pulse = rng.uniform(0.01, 0.04)
        for k, s in enumerate(sensors):
            r = float(np.hypot(*(pos - s)))
            arrive = t + r / WAVE_SPEED
            i = int(arrive * rate)
            if i >= n:
                continue
            wave = np.zeros(ring)
            for f, zeta, a in modes:
                wave += a * float(_attenuate(force, f, np.array([r]))[0]) * np.exp(-zeta * 2 * np.pi * f * tt) \
                    * np.sin(2 * np.pi * f * tt) * (1 - np.exp(-tt / pulse))
            if rng.random() < 0.4:  # heel then toe
                lag = int(rng.uniform(0.05, 0.12) * rate)
                wave[lag:] += 0.5 * wave[: ring - lag]
            m = min(ring, n - i)
            out[k, i : i + m] += wave[:m]
        t += (1 / cadence) * rng.normal(1, 0.05)
        left = not left
    return out


def vehicle(rng: np.random.Generator, rate: float, n: int, sensors: np.ndarray, nearest: float) -> np.ndarray:
    """Traces (sensors × n samples) of one vehicle passing the site, nearest at ``nearest`` s."""
    t = np.arange(n) / rate
    speed = rng.uniform(3, 25)
    p0, v = _path(rng, speed, n / rate, nearest)
    firing = rng.uniform(8, 35)
    wander = 1 + 0.05 * np.cumsum(rng.normal(0, 1, n)) / np.sqrt(n) * rng.uniform(0.5, 3)
    harmonics = [(k, rng.uniform(0.1, 1.0) / k**rng.uniform(0.3, 1.2)) for k in range(1, rng.integers(2, 6) + 1)]
    road_level = rng.lognormal(0, 0.8)
    lo, hi = rng.uniform(3, 12), rng.uniform(25, 48)
    from scipy.signal import butter, sosfilt

    road = sosfilt(butter(2, [lo, min(hi, 0.45 * rate)], "bandpass", fs=rate, output="sos"), rng.normal(0, 1, n))
    road /= road.std() + 1e-30
    bands = ((3, 10), (10, 20), (20, 35), (35, 48))
    road_parts = [sosfilt(butter(2, [a, min(b, 0.45 * rate)], "bandpass", fs=rate, output="sos"), road) for a, b in bands]
    bumps = rng.uniform(0, n / rate, rng.poisson(rng.uniform(0, 0.3) * n / rate))
    out = np.zeros((len(sensors), n))
    for k, s in enumerate(sensors):
        pos = p0[None, :] + v[None, :] * t[:, None]
        rel = pos - s
        r = np.hypot(rel[:, 0], rel[:, 1])
        radial = (rel * v).sum(axis=1) / np.maximum(r, 1.0)
        delay = r / WAVE_SPEED
        doppler = 1 / (1 + radial / WAVE_SPEED)
        phase = 2 * np.pi * np.cumsum(firing * wander * doppler) / rate
        sig = np.zeros(n)
        for h, a in harmonics:
            sig += a * _attenuate(1.0, firing * h, r) * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
        for (a, b), part in zip(bands, road_parts, strict=True):
            sig += road_level * 0.5 * _attenuate(1.0, (a + b) / 2, r) * np.interp(t - delay, t, part)
        for b in bumps:
            i = int((b + float(np.interp(b, t, delay))) * rate)
            if 0 <= i < n - int(0.3 * rate):
                tt = np.arange(int(0.3 * rate)) / rate
                f = rng.uniform(10, 30)
                sig[i : i + len(tt)] += 3 * float(_attenuate(1.0, f, np.array([r[i]]))[0]) * np.exp(-8 * tt) \
                    * np.sin(2 * np.pi * f * tt)
        out[k] = sig
    return out


def quake(rng: np.random.Generator, rate: float, n: int, sensors: np.ndarray, onset: float) -> np.ndarray:
    """A local quake, blast or rockfall far from the site: sharp onset, P then a larger S, and a coda
    that decays over seconds; nearly the same at every sensor (the source is far compared with the
    sensor spacing), arriving within a fraction of a second."""
    from scipy.signal import butter, sosfilt

    t = np.arange(n) / rate
    lo = rng.uniform(1.5, 8)
    hi = min(rng.uniform(lo * 2, 45), 0.45 * rate)
    sp = rng.uniform(0.3, 5.0)  # S minus P, seconds
    tau = rng.uniform(0.8, 8.0)  # coda decay
    heading = rng.uniform(0, 2 * np.pi)
    slowness = rng.uniform(0, 1 / 1500) * np.array([np.cos(heading), np.sin(heading)])
    out = np.zeros((len(sensors), n))
    for k, pos in enumerate(sensors):
        carrier = sosfilt(butter(2, [lo, hi], "bandpass", fs=rate, output="sos"), rng.normal(0, 1, n))
        tp = onset + float(pos @ slowness)
        ts = tp + sp
        env = np.where(t >= tp, 0.3 * np.exp(-np.clip(t - tp, 0, None) / max(sp, 0.3)), 0.0)
        env += np.where(t >= ts, np.exp(-np.clip(t - ts, 0, None) / tau), 0.0)
        out[k] = carrier * env * rng.lognormal(0, 0.15)
    return out


def thump(rng: np.random.Generator, rate: float, n: int, sensors: np.ndarray, onset: float) -> np.ndarray:
    """One or two knocks near one sensor (an animal, a dropped object, a door): no cadence, no swell."""
    out = np.zeros((len(sensors), n))
    near = int(rng.integers(len(sensors)))
    f, zeta = rng.uniform(10, 60), rng.uniform(0.05, 0.3)
    ring = int(0.5 * rate)
    tt = np.arange(ring) / rate
    for j in range(int(rng.integers(1, 3))):
        i = int((onset + j * rng.uniform(0.1, 1.5)) * rate)
        for k, pos in enumerate(sensors):
            r = float(np.hypot(*(pos - sensors[near]))) + rng.uniform(1, 5)
            a = float(_attenuate(1.0, f, np.array([r]))[0])
            m = min(ring, n - i)
            if m > 0:
                out[k, i : i + m] += a * np.exp(-zeta * 2 * np.pi * f * tt[:m]) * np.sin(2 * np.pi * f * tt[:m])
    return out


def embed(rng: np.random.Generator, signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Signal scaled so that its loudest sensor's peak 1-s RMS is ``snr_db`` over the noise RMS, plus noise."""
    noise_rms = float(np.sqrt(np.mean(noise**2))) + 1e-30
    rate_guess = max(1, signal.shape[1] // 60)
    power = np.convolve((signal**2).max(axis=0), np.ones(rate_guess) / rate_guess, mode="same")
    peak = float(np.sqrt(power.max())) + 1e-30
    return signal * (noise_rms * 10 ** (snr_db / 20) / peak) + noise


def scene(rng: np.random.Generator, label: str, noise: np.ndarray, rate: float) -> Scene:
    """A modelled episode of ``label`` over real ``noise`` (stations × samples at ``rate``)."""
    stations, n = noise.shape
    sensors = _sensors(rng, stations)
    seconds = n / rate
    if label == "footstep":
        length = rng.uniform(6, max(7, seconds * 0.8))
        start = rng.uniform(0, max(0.1, seconds - length))
        sig = footsteps(rng, rate, n, sensors, start, length)
        onset = start
    elif label == "vehicle":
        nearest = rng.uniform(0.3, 0.7) * seconds
        sig = vehicle(rng, rate, n, sensors, nearest)
        onset = max(0.0, nearest - 8)
    elif label == "other":
        onset = rng.uniform(0.2, 0.7) * seconds
        sig = quake(rng, rate, n, sensors, onset) if rng.random() < 0.7 else thump(rng, rate, n, sensors, onset)
    else:
        return Scene("none", rate, {f"S{k}": noise[k] for k in range(stations)}, None)
    mixed = embed(rng, sig, noise, rng.uniform(3, 30))
    return Scene(label, rate, {f"S{k}": mixed[k] for k in range(stations)}, onset)
