"""What tells a walker from a vehicle from everything else, as numbers that do not depend on the
instrument's gain or sampling rate.

Every window is resampled to ``RATE`` (100 Hz, the slowest rate a sensor may have, so a 2 kHz
geophone and a 100 Hz one give the same features) and described by: the share of energy in five
bands, spectral centroid, spread, flatness and peakiness (engine harmonics), kurtosis of the trace
and of its envelope (impulsive steps), the envelope's autocorrelation at walking cadence (1.5-2.5
steps/s) against other lags, the envelope's rise and fall (a vehicle swells and fades, a quake
starts sharp and decays), duration, loudness over the quiet part of the window, and across
stations the spread of amplitudes and of arrival times (a walker is loud at one sensor, a distant
quake at all of them alike).
"""

from __future__ import annotations

import numpy as np

RATE = 100.0
BANDS = ((1, 5), (5, 10), (10, 20), (20, 30), (30, 48))
ENV_RATE = 20.0  # the envelope is looked at 20 times a second
NAMES = (
    *(f"band_{lo}_{hi}" for lo, hi in BANDS), "centroid", "spread", "flatness", "peakiness", "kurtosis",
    "env_kurtosis", "cadence", "cadence_contrast", "slow_periodicity", "rise", "fall", "duration",
    "log_snr", "env_cv", *(f"snr_{lo}_{hi}" for lo, hi in BANDS), "active_share", "amp_spread", "delay_spread",
)  # fmt: skip


def resample(data: np.ndarray, rate: float) -> np.ndarray:
    """``data`` at ``RATE``: an anti-aliased polyphase resampling (or as is at 100 Hz)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    x = np.asarray(data, dtype=np.float64)
    if abs(rate - RATE) < 1e-6:
        return x
    ratio = Fraction(RATE / rate).limit_denominator(1000)
    # The offset is removed first: resampling pads with zeros, and a logger's DC offset (tens of
    # thousands of counts) would ring at both ends of the window as a loud false transient.
    return resample_poly(x - np.median(x), ratio.numerator, ratio.denominator)


def _kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    v = float((x * x).mean())
    return float((x**4).mean() / (v * v)) if v > 0 else 0.0


def envelope(x: np.ndarray) -> np.ndarray:
    """Smoothed absolute amplitude at ``ENV_RATE`` (mean |x| over 50 ms)."""
    step = int(RATE / ENV_RATE)
    n = len(x) // step
    return np.abs(x[: n * step]).reshape(n, step).mean(axis=1) if n else np.zeros(1)


def station_features(x: np.ndarray) -> np.ndarray:
    """The single-station features of a 100 Hz window (event plus a little before and after)."""
    from scipy.signal import butter, sosfiltfilt

    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    if len(x) > 30:
        x = sosfiltfilt(butter(2, 1.0, "highpass", fs=RATE, output="sos"), x)
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n))) ** 2 if n > 8 else np.ones(5)
    freqs = np.fft.rfftfreq(max(n, 8), 1 / RATE)[: len(spec)]
    use = (freqs >= 1) & (freqs <= 48)
    s, f = spec[use] + 1e-30, freqs[use]
    total = s.sum()
    bands = [float(s[(f >= lo) & (f < hi)].sum() / total) for lo, hi in BANDS]
    centroid = float((f * s).sum() / total)
    spread = float(np.sqrt(((f - centroid) ** 2 * s).sum() / total))
    flatness = float(np.exp(np.log(s).mean()) / s.mean())
    smooth = np.convolve(s, np.ones(9) / 9, mode="same")
    peakiness = float(np.log10(np.max(s / (smooth + 1e-30)) + 1e-9))
    env = envelope(x)
    env_db = env / (np.median(env) + 1e-30)
    e = env - env.mean()
    ac = np.correlate(e, e, mode="full")[len(e) - 1 :]
    ac = ac / ac[0] if len(ac) and ac[0] > 0 else np.zeros(1)

    def lag_max(lo: float, hi: float) -> float:
        a, b = int(lo * ENV_RATE), int(hi * ENV_RATE) + 1
        return float(ac[a:b].max()) if len(ac) > a else 0.0

    cadence = lag_max(0.38, 0.7)  # 1.4-2.6 steps/s
    other = max(lag_max(0.15, 0.3), lag_max(0.8, 1.2))
    slow = lag_max(2.0, 6.0)
    peak = int(np.argmax(env)) if len(env) else 0
    loud = np.flatnonzero(env >= 0.3 * env.max()) if env.max() > 0 else np.array([0])
    span = max(1, loud[-1] - loud[0] + 1)
    rise = (peak - loud[0]) / span
    fall = (loud[-1] - peak) / span
    quiet = np.percentile(env, 10) + 1e-30
    return np.array([
        *bands, centroid, spread, flatness, peakiness, np.log10(_kurtosis(x) + 1e-9),
        np.log10(_kurtosis(env) + 1e-9), cadence, cadence - other, slow, rise, fall,
        np.log10(span / ENV_RATE + 1e-3), np.log10(np.percentile(env, 95) / quiet),
        float(np.std(env_db) / (np.mean(env_db) + 1e-30)), *_band_contrast(x),
    ])  # fmt: skip


def _band_contrast(x: np.ndarray) -> list[float]:
    """Per band, how far the loud half-seconds rise over the quiet ones (log10 of power ratio), and the
    share of half-seconds well over the quiet level: measured against the window's own noise, so a
    noisy site and a quiet one, a sensitive sensor and a deaf one, give comparable numbers."""
    from scipy.signal import spectrogram

    if len(x) < 2 * int(RATE):
        return [0.0] * (len(BANDS) + 1)
    f, _, sxx = spectrogram(x, fs=RATE, nperseg=int(RATE / 2), noverlap=0)
    out = []
    total = np.zeros(sxx.shape[1])
    for lo, hi in BANDS:
        band = sxx[(f >= lo) & (f < hi)].sum(axis=0) + 1e-30
        total += band
        out.append(float(np.log10(np.percentile(band, 90) / np.percentile(band, 20))))
    out.append(float(np.mean(total > 4 * np.percentile(total, 20))))
    return out


def window_features(windows: list[np.ndarray], onsets: list[float] | None = None) -> np.ndarray:
    """Features of one event seen by several stations (100 Hz windows): the loudest station's
    features, then the spread of amplitudes (dB) and of onsets (s) across stations."""
    windows = [w for w in windows if len(w) >= 50]
    if not windows:
        return np.zeros(len(NAMES))
    loudness = np.array([float(np.sqrt(np.mean((w - w.mean()) ** 2))) + 1e-30 for w in windows])
    best = station_features(windows[int(np.argmax(loudness))])
    amp_spread = float(20 * np.log10(loudness.max() / loudness.min())) if len(windows) > 1 else 0.0
    delay = float(np.ptp(onsets)) if onsets and len(onsets) > 1 else 0.0
    return np.concatenate([best, [min(amp_spread, 40.0), min(delay, 10.0)]])
