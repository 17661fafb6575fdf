"""Covert seismic sensors: speed, streaming latency, false alarms on real background, accuracy.

Prints, on this machine:
1. **Speed**: times real time per core of scanning (read + detect + snippets + labels) a 3-component
   500 Hz MiniSEED file made of real Luhu noise (upsampled) with modelled episodes, one thread; and
   the same for ``--sensors`` files at once through Dask, with peak memory (bounded: per file).
2. **Streaming latency**: a local SeedLink server replays 500 Hz data stamped *now* at the pace it
   was recorded; the watch's delay from a station's trigger onset to the site's declaration.
3. **False alarms per hour** on the real background hours: Luhu LH01-LH03 as a site of three sensors
   (the manual rockfall cut out; the Luhu road may carry real traffic, counted as alarms here), and
   BW.KW1 as one sensor alone (the worst case, no coincidence).
4. **Accuracy by class** on held-out sites (leave one background site out), with the share of rows
   that are modelled — every footstep and vehicle figure rests on modelling — and what the site
   would see with a model that never saw it: modelled episodes alerted, alerts per background hour.

Run: python bench/seismic.py [--data ../shared/data/seismic] [--hours 1] [--sensors 4] [--skip-latency]
"""

from __future__ import annotations

import argparse
import glob
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shekteu.seismic.batch import detect_files, scan_file  # noqa: E402
from shekteu.seismic.classify import WATCHED, label_events  # noqa: E402
from shekteu.seismic.detect import Params, coincide, detect  # noqa: E402
from shekteu.seismic.model import load  # noqa: E402
from shekteu.seismic.read import read_stream, segments  # noqa: E402


def luhu(data: Path, comp: str = "EHZ") -> list[np.ndarray]:
    return [read_stream(Path(p))[0].data.astype(float) for p in
            sorted(glob.glob(str(data / "rocknet_luhu" / "sac" / "*" / f"*{comp}*.sac")))]  # fmt: skip


def three_component_file(data: Path, out: Path, hours: float, seed: int, station: str = "S01") -> Path:
    """A 3-component 500 Hz MiniSEED of real noise with a modelled episode every ten minutes."""
    from obspy import Stream, Trace, UTCDateTime
    from scipy.signal import resample_poly

    from shekteu.seismic.synth import embed, footsteps, vehicle

    rng = np.random.default_rng(seed)
    rate, n = 500.0, int(hours * 3600 * 500)
    traces = []
    for comp in ("EHE", "EHN", "EHZ"):
        src = luhu(data, comp)[int(rng.integers(5))]
        x = resample_poly(src - src.mean(), 5, 1)
        reps = int(np.ceil(n / len(x)))
        x = np.concatenate([x] * reps)[:n]
        traces.append(x)
    sensors = np.array([[0.0, 0.0]])
    for k, t in enumerate(np.arange(120, hours * 3600 - 120, 600)):
        i, m = int(t * rate), int(60 * rate)
        sig = footsteps(rng, rate, m, sensors, 5, 40) if k % 2 else vehicle(rng, rate, m, sensors, 30)
        traces[2][i : i + m] = embed(rng, sig, traces[2][i : i + m][None, :], 15)[0]
    st = Stream([Trace(np.round(x).astype(np.int32), header={"network": "KZ", "station": station,
                                                            "channel": c, "sampling_rate": rate,
                                                            "starttime": UTCDateTime(2026, 7, 1)})
                 for c, x in zip(("EHE", "EHN", "EHZ"), traces, strict=True)])  # fmt: skip
    st.write(str(out), format="MSEED", reclen=4096, encoding="STEIM2")
    return out


def speed(data: Path, hours: float, sensors: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    one = three_component_file(data, tmp / "S01.mseed", hours, 1)
    forest = load()
    t = time.perf_counter()
    scan = scan_file(str(one), Params(min_stations=1), {})
    events = coincide(scan.triggers, 1)  # one station: its triggers are the events
    label_events(forest, scan.snippets, events)
    dt = time.perf_counter() - t
    print(f"speed: 1 file, {hours:g} h x 3 components at 500 Hz, one thread: {dt:.2f} s = "
          f"{hours * 3600 / dt:,.0f}x real time per core ({len(events)} events, "
          f"{sum(e.label in WATCHED for e in events)} walker/vehicle)")  # fmt: skip
    files = [one] + [three_component_file(data, tmp / f"S{k:02d}.mseed", hours, k, f"S{k:02d}")
                     for k in range(2, sensors + 1)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    found = detect_files(files, Params(), forest, workers=2)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"speed: {len(files)} sensors x {hours:g} h (3 x 500 Hz, {size:.0f} MB MiniSEED), Dask, 2 threads: "
          f"{dt:.2f} s = {len(files) * hours * 3600 / dt / 2:,.0f}x real time per core; peak RSS {peak:,.0f} MB "
          f"(before {before:,.0f} MB); {len(found.events)} network events")  # fmt: skip


def latency(data: Path) -> None:
    from obspy import Stream, Trace, UTCDateTime

    from shekteu.runtime import Runtime
    from shekteu.seismic.replay import ReplayServer, records
    from shekteu.seismic.sensors import add
    from shekteu.seismic.synth import scene
    from shekteu.seismic.train import Background, _noise
    from shekteu.seismic.watch import Watch
    from shekteu.settings import load_settings

    tmp = Path(tempfile.mkdtemp())
    rt = Runtime(load_settings({"SHEKTEU_DATA_DIR": str(tmp / "data")}))
    with rt.db.write() as s:
        for k in range(3):
            add(s, f"KZ.L{k}.00.HHZ", lat=43.5, lon=73.8, place="bench", actor="cli:bench")
    rng = np.random.default_rng(5)
    bg = Background("Luhu", 100.0, luhu(data))
    now = time.time() + 2
    paths = []
    scenes = []
    while len(scenes) < 4:  # episodes loud enough to trigger (SNR ≥ 12 dB), two of each kind
        label = ("vehicle", "footstep")[len(scenes) % 2]
        sc = scene(rng, label, _noise(rng, bg, 3, 40.0, 500.0), 500.0)
        if detect(_segs(sc), Params()):
            scenes.append(sc)
    for k in range(3):
        x = np.concatenate([sc.traces[f"S{k}"] for sc in scenes])
        tr = Trace((x / np.abs(x).max() * 30_000).astype(np.int32), header={
            "network": "KZ", "station": f"L{k}", "location": "00", "channel": "HHZ", "sampling_rate": 500.0,
            "starttime": UTCDateTime(now)})  # fmt: skip
        paths.append(tmp / f"L{k}.mseed")
        Stream([tr]).write(str(paths[-1]), format="MSEED", reclen=512, encoding="STEIM2")
    recs = records(paths)
    fill = np.median([r.end - r.start for r in recs])
    server = ReplayServer(recs, wall_clock=True).start()
    w = Watch(rt, server.address, load())
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    server.finished.wait(400)
    time.sleep(2)
    w.stop()
    server.stop()
    thread.join(30)
    lat = w.stats.latencies
    print(f"streaming: 3 sensors at 500 Hz replayed at the pace recorded; a 512-byte record holds {fill:.2f} s; "
          f"{w.stats.declared} declarations, latency from trigger onset "
          + (f"median {np.median(lat):.2f} s, max {max(lat):.2f} s" if lat else "n/a")
          + f"; {w.stats.events} events stored, {w.stats.alerts} alerts")  # fmt: skip


def _segs(sc):  # type: ignore[no-untyped-def]
    from shekteu.seismic.read import Segment

    return [Segment(f"SY.{k}..Z", 0.0, sc.rate, v) for k, v in sc.traces.items()]


def false_alarms(data: Path) -> None:
    from shekteu.seismic.train import LUHU_EVENTS

    forest = load()
    z = sorted(glob.glob(str(data / "rocknet_luhu" / "sac" / "*" / "*EHZ*.sac")))[:3]
    segs = []
    for p in z:
        segs += segments(read_stream(Path(p)))
    hours = (segs[0].end - segs[0].start) / 3600
    a, b = LUHU_EVENTS[0]
    events = label_events(forest, segs, detect(segs, Params()))
    kept = [e for e in events if not (a - 30 <= e.start <= b)]
    cut_hours = hours - (b - a + 30) / 3600
    alarms = [e for e in kept if e.label in WATCHED and (e.score or 0) >= ALERT_SCORE]
    episodes = _episodes(alarms)
    print(f"false alarms: Luhu LH01-LH03 (3 sensors, {cut_hours:.2f} h of background): {len(kept)} network events, "
          f"{len(alarms)} called walker/vehicle at score >= {ALERT_SCORE} = {len(alarms) / cut_hours:.2f}/h, "
          f"{episodes} alert episodes = {episodes / cut_hours:.2f}/h")  # fmt: skip
    kw1 = segments(read_stream(data / "obspy_testdata" / "BW.KW1..EHZ.2011.090_downsampled.mseed"))
    hours = sum(s.end - s.start for s in kw1) / 3600
    events = label_events(forest, kw1, detect(kw1, Params(min_stations=1)))
    alarms = [e for e in events if e.label in WATCHED and (e.score or 0) >= ALERT_SCORE]
    print(f"false alarms: BW.KW1 alone (1 sensor, no coincidence, {hours:.2f} h): {len(events)} triggers, "
          f"{len(alarms)} called walker/vehicle = {len(alarms) / hours:.2f}/h, "
          f"{_episodes(alarms)} episodes = {_episodes(alarms) / hours:.2f}/h")  # fmt: skip


ALERT_SCORE = 0.5  # SHEKTEU_SEISMIC_ALERT_SCORE's default


def _episodes(events: list, gap: float = 600.0) -> int:
    n, last = 0, None
    for e in sorted(events, key=lambda e: e.start):
        if last is None or e.start - last > gap:
            n += 1
        last = e.start
    return n


def accuracy(data: Path, scenes: int) -> None:
    from shekteu.seismic.train import dataset, validate

    rows = dataset(data, scenes=scenes, seed=11)  # another seed than the shipped model's
    modelled = sum(r[3] for r in rows) / len(rows)
    for site, f in validate(rows, seed=11, root=data).items():
        d = f["deployment"]
        print(f"accuracy, held-out site {site} ({f['rows']} rows): recall {f['recall']}, balanced "
              f"{f['balanced_accuracy']:.3f}, vehicle vs background {f['vehicle_vs_background']:.3f}")  # fmt: skip
        print(f"  as deployed there (model never saw {site}): modelled episodes alerted {d['episodes_alerted']}, "
              f"real background {d['background_hours']} h: {d['false_events_per_hour']} walker/vehicle events/h, "
              f"{d['false_alerts_per_hour']} alerts/h")  # fmt: skip
        for w in d["windows"]:
            print(f"  `seismic classify` on {w['seconds']:.0f}-s single-sensor windows there: "
                  f"{w['background_called_vehicle']:.1%} of {w['background_windows']} real background windows called "
                  f"vehicle, {w['vehicle_recall']:.0%} of modelled vehicle windows found, balanced accuracy "
                  f"{w['balanced_accuracy']:.3f}")  # fmt: skip
    print(f"accuracy: {modelled:.0%} of rows are modelled (walkers, vehicles, far quakes, knocks) over real "
          "noise; the rest are real recordings (quakes, mine events, rockfall, background triggers and windows)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "seismic")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--scenes", type=int, default=100)
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    speed(args.data, args.hours, args.sensors)
    if not args.skip_latency:
        latency(args.data)
    false_alarms(args.data)
    accuracy(args.data, args.scenes)


if __name__ == "__main__":
    main()
