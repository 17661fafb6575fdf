"""Covert seismic sensors (issue 22): ObsPy's reference events, hostile files, classification,
the registry, and the live watch over a real SeedLink connection to a local replay server."""

from __future__ import annotations

import glob
import gzip
import json
import os
import struct
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

pytest.importorskip("obspy")

from shekteu.db.seismic_tables import SeismicAlert, SeismicEvent, Sensor
from shekteu.db.tables import AuditEntry
from shekteu.runtime import Runtime
from shekteu.seismic import SeismicError
from shekteu.seismic.detect import REFERENCE, Event, Params, StationDetector
from shekteu.seismic.read import read_stream
from tests.command import shekteu

DATA = Path(__file__).resolve().parent / "data" / "seismic"  # real recordings, a subset of ../shared (see README)
UH = sorted(glob.glob(str(DATA / "obspy_testdata" / "BW.UH*.cut.slist.gz")))
KW1 = DATA / "obspy_testdata" / "BW.KW1..EHZ.2011.090_downsampled.mseed"
LUHU = sorted(glob.glob(str(DATA / "rocknet_luhu" / "sac" / "*" / "*EHZ*")))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    return shekteu(*args, env=full, timeout=300)


def test_detect_reproduces_obspys_three_reference_events(env: dict[str, str]) -> None:
    from obspy import Stream, read
    from obspy.signal.trigger import coincidence_trigger

    z = [p for p in UH if "SHE" not in p and "SHN" not in p]
    st = Stream()
    for p in z:
        st += read(p)
    st.filter("bandpass", freqmin=10, freqmax=20)
    ref = coincidence_trigger("recstalta", 3.5, 1, st, 3, sta=0.5, lta=10)
    done = cli(env, "seismic", "detect", *UH, "--freqmin", "10", "--freqmax", "20", "--sta", "0.5", "--lta", "10",
               "--on", "3.5", "--off", "1", "--min-stations", "3", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(ref) == 3
    for row, r in zip(rows, ref, strict=True):
        assert abs(datetime.fromisoformat(row["start"]).timestamp() - r["time"].timestamp) < 0.011
        assert abs(row["duration"] - r["duration"]) < 0.011
        assert sorted(s.split(".")[1] for s in row["stations"]) == sorted(r["stations"])
        assert row["label"] in ("footstep", "vehicle", "other") and 0 <= row["score"] <= 1
    # the README's figures
    assert [r["start"][11:22] for r in rows] == ["16:24:33.21", "16:27:01.26", "16:27:30.51"]
    assert [round(r["duration"], 2) for r in rows] == [4.27, 3.44, 4.29]


def test_station_detector_in_chunks_equals_obspys_recursive_sta_lta_on_the_whole_trace() -> None:
    from obspy.signal.trigger import recursive_sta_lta, trigger_onset

    tr = read_stream(Path(UH[0]))[0]
    whole = tr.copy().filter("bandpass", freqmin=10, freqmax=20)
    ref = recursive_sta_lta(whole.data, int(0.5 * 50), 10 * 50)
    det = StationDetector("BW.UH1", 50.0, REFERENCE)
    data, t0 = tr.data.astype(float), tr.stats.starttime.timestamp
    parts, triggers = [], []
    for k in range(0, len(data), 613):  # odd chunks, as SeedLink records arrive
        found, cft = det.feed(t0 + k / 50, data[k : k + 613])
        parts.append(cft)
        triggers += found
    triggers += det.finish()
    assert np.allclose(np.concatenate(parts), ref, rtol=1e-9, atol=1e-12)
    onsets = trigger_onset(ref, 3.5, 1)
    assert [(round(t.on - t0, 2), round(t.off - t0, 2)) for t in triggers] == [
        (round(a / 50, 2), round(b / 50, 2)) for a, b in onsets]


def test_a_gap_restarts_the_detector_instead_of_smearing_across_it() -> None:
    det = StationDetector("XX.A", 100.0, Params(lta=2.0, sta=0.2))
    rng = np.random.default_rng(1)
    det.feed(0.0, rng.normal(0, 1, 500))
    assert det.n == 500
    det.feed(100.0, rng.normal(0, 1, 300))  # 95 s later: a gap
    assert det.n == 300 and det.t0 == 100.0
    found, cft = det.feed(100.0, rng.normal(0, 1, 100))  # wholly old data (a repeated record)
    assert det.n == 300 and not found and not len(cft)
    det.feed(102.0, rng.normal(0, 1, 200))  # overlapping by one second: only the new second is used
    assert det.n == 400
    det.feed(20.0, rng.normal(0, 1, 300))  # the clock was set back 84 s: start over, not ignore it for 84 s
    assert det.n == 300 and det.t0 == 20.0


def _mseed(tmp: Path, name: str = "ok.mseed") -> Path:
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(3)
    tr = Trace(rng.normal(0, 100, 6000).astype(np.int32), header={"network": "KZ", "station": "T1", "channel": "HHZ",
                                                                     "sampling_rate": 100.0,
                                                                     "starttime": UTCDateTime(2026, 6, 1)})  # fmt: skip
    path = tmp / name
    Stream([tr]).write(str(path), format="MSEED", reclen=512, encoding="STEIM2")
    return path


def test_hostile_files_get_a_clear_error_and_the_batch_goes_on(env: dict[str, str], tmp_path: Path) -> None:
    good = _mseed(tmp_path)
    raw = good.read_bytes()
    corrupt = tmp_path / "corrupt.mseed"
    corrupt.write_bytes(raw[:48] + bytes(range(256)) * 2 + raw[560:])
    zero_hz = tmp_path / "zero_hz.mseed"  # sample-rate factor and multiplier (bytes 32-35) set to 0
    zero_hz.write_bytes(b"".join(raw[i : i + 32] + b"\0\0\0\0" + raw[i + 36 : i + 512] for i in range(0, len(raw), 512)))
    sac = tmp_path / "huge.sac"  # a SAC header claiming 10⁹ samples (npts is word 79)
    from obspy import read

    read(str(good))[0].write(str(sac), format="SAC")
    b = bytearray(sac.read_bytes())
    b[79 * 4 : 80 * 4] = struct.pack("<i", 1_000_000_000)
    sac.write_bytes(bytes(b))
    text = tmp_path / "notes.dat"
    text.write_text("this is not a recording\n")
    done = cli(env, "seismic", "classify", str(corrupt), str(zero_hz), str(sac), str(text), str(good), "--json")
    assert done.returncode == 0, done.stderr
    rows = {Path(r["file"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["ok.mseed"]["label"] in ("footstep", "vehicle", "other", "none")
    for name in ("corrupt.mseed", "zero_hz.mseed", "huge.sac", "notes.dat"):
        assert rows[name]["label"] is None and name in rows[name]["error"]
    assert "Hz" in rows["zero_hz.mseed"]["error"]
    assert "4000000632" in rows["huge.sac"]["error"]  # ObsPy's own check: 10⁹ samples would need 4 GB
    assert "Traceback" not in done.stderr
    with pytest.raises(SeismicError, match="claims 6,000\\+ samples, over the 5,000 limit"):
        read_stream(good, max_samples=5_000)  # refused from the headers, before any sample is decoded


def test_a_gzip_bomb_is_refused_before_obspy_sees_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.mseed.gz"
    with gzip.open(bomb, "wb") as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))
    with pytest.raises(SeismicError, match="bomb"):
        read_stream(bomb, max_bytes=8 << 20)


def _scene(label: str, seed: int, rate: float = 200.0, stations: int = 3):
    from shekteu.seismic.synth import scene
    from shekteu.seismic.train import Background, _noise

    kw1 = read_stream(KW1)[0].data.astype(float)
    rng = np.random.default_rng(seed)
    return scene(rng, label, _noise(rng, Background("BW.KW1", 100.0, [kw1]), stations, 60.0, rate), rate)


def _segments(sc, t0: float = 0.0):
    from shekteu.seismic.read import Segment

    return [Segment(f"SY.{k}..Z", t0, sc.rate, v) for k, v in sc.traces.items()]


@pytest.mark.parametrize("label", ["footstep", "vehicle"])
def test_modelled_episodes_over_real_background_are_recognised(label: str) -> None:
    """Rests on modelled footsteps and vehicles (synth.py), over real BW.KW1 noise."""
    from shekteu.seismic.classify import classify
    from shekteu.seismic.model import load

    forest = load()
    verdicts = [classify(forest, _segments(_scene(label, seed)), Params()).label for seed in range(100, 110)]
    assert verdicts.count(label) >= 7, verdicts


def test_the_label_does_not_depend_on_the_sampling_rate() -> None:
    from shekteu.seismic.classify import classify
    from shekteu.seismic.model import load

    forest = load()
    agree = 0
    for seed in range(200, 206):
        label = ("footstep", "vehicle")[seed % 2]
        slow = classify(forest, _segments(_scene(label, seed, rate=100.0)), Params()).label
        fast = classify(forest, _segments(_scene(label, seed, rate=2000.0)), Params()).label
        agree += slow == fast
    assert agree >= 5


def test_real_background_windows_are_not_called_walkers_or_vehicles() -> None:
    from shekteu.seismic.classify import classify
    from shekteu.seismic.model import load
    from shekteu.seismic.read import Segment

    forest = load()
    kw1 = read_stream(KW1)[0]
    data, rate = kw1.data.astype(float), kw1.stats.sampling_rate
    labels = [classify(forest, [Segment("BW.KW1..EHZ", 0.0, rate, data[i : i + int(60 * rate)])], Params()).label
              for i in range(0, len(data) - int(60 * rate), int(150 * rate))]  # fmt: skip
    watched = sum(label in ("footstep", "vehicle") for label in labels)
    assert len(labels) >= 15 and watched <= len(labels) // 5, labels


def test_sensors_registry_is_for_the_sensors_permission_and_audited(rt: Runtime, env: dict[str, str]) -> None:
    from shekteu.seismic.sensors import add, as_json, listing
    from shekteu.users import UserError, add_user

    with rt.db.write() as s:
        add_user(s, "aliya", ["analyst"], actor="cli:test")
        add_user(s, "volunteer", ["coordinator"], actor="cli:test")
    with rt.db.write() as s, pytest.raises(UserError, match="may not"):
        add(s, "KZ.SHU01.00.HHZ", lat=43.6, lon=73.7, place="Шу", actor="volunteer")
    with rt.db.write() as s:
        add(s, "KZ.SHU01.00.HHZ", lat=43.6, lon=73.7, place="Шу", rate=500, actor="aliya")
    with rt.db.write() as s, pytest.raises(SeismicError, match="already installed"):
        add(s, "kz.shu01.00.hhz", lat=43.6, lon=73.7, place="Шу", actor="aliya")
    with rt.db.write() as s, pytest.raises(SeismicError, match="SEED id"):
        add(s, "SHU01", lat=43.6, lon=73.7, place="Шу", actor="aliya")
    with rt.db.write() as s, pytest.raises(UserError, match="may not"):
        listing(s, actor="volunteer")
    done = cli(env, "sensors", "list", "--json", "--as", "aliya")
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert {k: row[k] for k in ("seed_id", "lat", "lon", "site_id", "rate")} == {
        "seed_id": "KZ.SHU01.00.HHZ", "lat": 43.6, "lon": 73.7, "site_id": None, "rate": 500.0}
    assert isinstance(row["id"], int)
    assert cli(env, "sensors", "list", "--as", "volunteer").returncode == 2
    done = cli(env, "sensors", "remove", "KZ.SHU01.00.HHZ", "--reason", "recovered", "--as", "aliya")
    assert done.returncode == 0, done.stderr
    with rt.db.read() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert [as_json(x)["removed_on"] is not None for x in s.scalars(select(Sensor))] == [True]
    assert actions.count("sensor.add") == 1 and "sensor.list" in actions and "sensor.remove" in actions


def _event(start: float, label: str = "footstep") -> Event:
    return Event(start, start + 3, ["KZ.A", "KZ.B"], 2.0, label=label, score=0.9)


def _sensor(session, seed: str = "KZ.A.00.HHZ", **kw) -> Sensor:
    from shekteu.seismic.sensors import add

    return add(session, seed, lat=43.0, lon=73.0, place="лаборатория", actor="cli:test", **kw)


def test_one_alert_per_episode_and_quiet_rules(rt: Runtime) -> None:
    from shekteu.db.ops_tables import Job
    from shekteu.seismic.alerts import EPISODE_SECONDS, record_event

    t0 = datetime(2026, 7, 1, 20, 0, tzinfo=UTC).timestamp()  # 01:00 local
    with rt.db.write() as s:
        a = _sensor(s)
        b = _sensor(s, "KZ.B.00.HHZ", quiet_hours=["09:00-11:00"])
        site = a.site_key
        for k in range(5):  # a walker about for two minutes: one alert
            record_event(s, _event(t0 + 30 * k), site_key=site, site_id=None, sensors=[a, b])
        assert record_event(s, _event(t0), site_key=site, site_id=None, sensors=[a, b]) is None  # replayed
        later = t0 + EPISODE_SECONDS + 400  # a new episode after a long quiet
        record_event(s, _event(later), site_key=site, site_id=None, sensors=[a, b])
        record_event(s, _event(later + 5, "vehicle"), site_key=site, site_id=None, sensors=[a, b])
        patrol = datetime(2026, 7, 2, 5, 0, tzinfo=UTC).timestamp()  # 10:00 local: patrol hours of B
        q = record_event(s, _event(patrol), site_key=site, site_id=None, sensors=[a, b])
        assert q is not None and q.alert_id is None and q.quiet.startswith("patrol hours")
        other = record_event(s, _event(t0 + 10, "other"), site_key=site, site_id=None, sensors=[a, b])
        assert other is not None and other.alert_id is None
    with rt.db.read() as s:
        rows = list(s.scalars(select(SeismicAlert).order_by(SeismicAlert.id)))
        assert [(r.label, r.events, r.state) for r in rows] == [
            ("footstep", 5, "closed"), ("footstep", 1, "open"), ("vehicle", 1, "open")]
        assert s.scalar(select(func.count()).select_from(SeismicEvent)) == 9
        assert s.scalar(select(func.count()).select_from(Job).where(Job.stage == "alert")) == 3
    with rt.db.write() as s:
        from shekteu.seismic.sensors import set_muted

        set_muted(s, "KZ.A.00.HHZ", True, actor="cli:test", reason="works")
        set_muted(s, "KZ.B.00.HHZ", True, actor="cli:test", reason="works")
        a, b = list(s.scalars(select(Sensor).order_by(Sensor.id)))
        m = record_event(s, _event(t0 + 99_999), site_key=site, site_id=None, sensors=[a, b])
        assert m.quiet == "muted" and m.alert_id is None


def _replay_files(tmp: Path, label: str, seed: int, start_at: float) -> list[Path]:
    """A modelled episode over real Luhu noise at three stations, as MiniSEED stamped from ``start_at``."""
    from obspy import Stream, Trace, UTCDateTime

    from shekteu.seismic.synth import scene
    from shekteu.seismic.train import Background, _noise

    rng = np.random.default_rng(seed)
    noise = [read_stream(Path(p))[0].data.astype(float) for p in LUHU[:3]]
    sc = scene(rng, label, _noise(rng, Background("Luhu", 100.0, noise), 3, 90.0, 100.0), 100.0)
    paths = []
    for k, (_, data) in enumerate(sc.traces.items()):
        tr = Trace((data / np.abs(data).max() * 20_000).astype(np.int32),
                   header={"network": "KZ", "station": f"W{k}", "location": "00", "channel": "HHZ",
                           "sampling_rate": 100.0, "starttime": UTCDateTime(start_at)})  # fmt: skip
        paths.append(tmp / f"W{k}.mseed")
        Stream([tr]).write(str(paths[-1]), format="MSEED", reclen=512, encoding="STEIM2")
    return paths


def _watch_until(w, server, timeout: float = 120.0) -> None:
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.finished.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    w.stop()
    thread.join(30)
    assert not thread.is_alive()


def test_the_watch_raises_one_alert_that_reaches_the_staff_chat(make_runtime, tmp_path: Path) -> None:
    from shekteu.queue.worker import drain
    from shekteu.seismic.model import load
    from shekteu.seismic.replay import ReplayServer, records
    from shekteu.seismic.watch import Watch
    from tests.fake_telegram import TOKEN, FakeBotAPI

    api = FakeBotAPI()
    rt = make_runtime(SHEKTEU_TELEGRAM_TOKEN=TOKEN, SHEKTEU_TELEGRAM_API_BASE=api.base,
                      SHEKTEU_TELEGRAM_STAFF_CHAT="-100777", SHEKTEU_SEISMIC_STREAM_TIMEOUT="2")  # fmt: skip
    with rt.db.write() as s:
        for k in range(3):
            _sensor(s, f"KZ.W{k}.00.HHZ")
    server = ReplayServer(records(_replay_files(tmp_path, "vehicle", 11, time.time() - 90)), drop_after=40).start()
    try:
        w = Watch(rt, server.address, load())
        _watch_until(w, server)
    finally:
        server.stop()
    assert w.stats.reconnects >= 1 and server.drops >= 1  # the server dropped us mid-stream; we resumed
    with rt.db.read() as s:
        events = list(s.scalars(select(SeismicEvent)))
        alerts = list(s.scalars(select(SeismicAlert).where(SeismicAlert.kind == "activity")))
    assert events and len({e.key for e in events}) == len(events)
    assert len(alerts) <= 2 and any(a.label == "vehicle" for a in alerts), [(e.label, e.score) for e in events]
    try:
        drain(rt)
        sent = api.wait_sent(1)
    finally:
        api.close()
    assert str(sent[0]["chat_id"]) == "-100777" and "транспорт" in sent[0]["text"]
    assert "43.0" not in sent[0]["text"] and "73.0" not in sent[0]["text"]  # never a position


def test_a_sensor_that_goes_silent_raises_a_health_alert(make_runtime, tmp_path: Path) -> None:
    from shekteu.seismic.model import load
    from shekteu.seismic.replay import ReplayServer, records
    from shekteu.seismic.watch import Watch

    rt = make_runtime(SHEKTEU_SEISMIC_SILENT_MINUTES="0.02", SHEKTEU_SEISMIC_STREAM_TIMEOUT="2")  # 1.2 s
    with rt.db.write() as s:
        for k in range(3):
            _sensor(s, f"KZ.W{k}.00.HHZ")
    server = ReplayServer(records(_replay_files(tmp_path, "none", 5, time.time() - 90))[:30]).start()
    try:
        w = Watch(rt, server.address, load())
        thread = threading.Thread(target=w.run, daemon=True)
        thread.start()
        server.finished.wait(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # data stopped; the connection stays open and silent
            with rt.db.read() as s:
                if s.scalar(select(func.count()).select_from(SeismicAlert).where(SeismicAlert.label == "silent")):
                    break
            time.sleep(0.2)
            w.flush_health()
    finally:
        w.stop()
        server.stop()
        thread.join(30)
    with rt.db.read() as s:
        silent = list(s.scalars(select(SeismicAlert).where(SeismicAlert.label == "silent")))
    assert silent and all(a.kind == "health" and a.state == "open" for a in silent)
    assert len({a.sensor_id for a in silent}) == len(silent)  # one per sensor


def test_two_watchers_raising_one_alert_at_once_make_one_alert(make_runtime) -> None:
    from tests.races import need_postgres

    rt = make_runtime()
    need_postgres(rt)
    from shekteu.seismic.alerts import record_event

    with rt.db.write() as s:
        a = _sensor(s)
        site = a.site_key
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    t0 = time.time()

    def one(k: int) -> None:
        try:
            with rt.db.write() as s:
                sensor = s.scalars(select(Sensor)).one()
                start.wait(10)
                record_event(s, _event(t0 + k), site_key=site, site_id=None, sensors=[sensor])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with rt.db.read() as s:
        rows = list(s.scalars(select(SeismicAlert)))
    assert len(rows) == 1 and rows[0].events == 2
    assert rows[0].first_at <= datetime.fromtimestamp(t0 + 1, UTC) + timedelta(seconds=1)


def test_a_low_score_walker_is_kept_without_an_alert(rt: Runtime) -> None:
    from shekteu.seismic.alerts import record_event

    with rt.db.write() as s:
        a = _sensor(s)
        weak = _event(1.79e9)
        weak.score = 0.31
        row = record_event(s, weak, site_key=a.site_key, site_id=None, sensors=[a], min_score=0.5)
        assert row is not None and row.alert_id is None and "under the alert score" in row.quiet
        assert s.scalar(select(func.count()).select_from(SeismicAlert)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # files in, a model out
def test_seismic_train_builds_a_model_that_loads_and_reports_held_out_sites(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "forest.npz"
    done = cli(env, "seismic", "train", str(DATA), "--out", str(out), "--scenes", "10", "--json")
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    assert set(meta["validation"]) == {"BW.KW1", "Luhu"}
    assert "false_alerts_per_hour" in meta["validation"]["Luhu"]["deployment"]
    assert 0 < meta["modelled_share"] < 1
    from shekteu.seismic.model import load

    forest = load(out)
    assert forest.meta["rows"]["footstep"] > 0 and forest.proba(np.zeros((1, len(forest.meta["features"])))).shape == (1, 4)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(SeismicError, match="not a seismic model"):
        load(bad)


def test_overlapping_records_and_a_gap_in_one_file_are_read_and_detected(tmp_path: Path) -> None:
    from obspy import Stream, Trace, UTCDateTime

    from shekteu.seismic.detect import detect
    from shekteu.seismic.read import segments

    rng = np.random.default_rng(9)
    t0 = UTCDateTime(2026, 6, 1)
    head = {"network": "KZ", "station": "G1", "channel": "HHZ", "sampling_rate": 100.0}
    a = Trace(rng.normal(0, 50, 6000).astype(np.int32), header={**head, "starttime": t0})
    b = Trace(rng.normal(0, 50, 6000).astype(np.int32), header={**head, "starttime": t0 + 50})  # 10 s overlap
    c = Trace(rng.normal(0, 50, 6000).astype(np.int32), header={**head, "starttime": t0 + 200})  # 90 s gap
    path = tmp_path / "messy.mseed"
    Stream([a, b, c]).write(str(path), format="MSEED", reclen=512, encoding="STEIM2")
    segs = segments(read_stream(path))
    assert [(round(s.start - t0.timestamp), len(s.data)) for s in segs] == [(0, 11000), (200, 6000)]
    assert detect(segs, Params(min_stations=1)) is not None  # runs across the hole without error


def test_flat_and_clipped_traces_are_health_problems() -> None:
    from shekteu.seismic.alerts import trace_problems

    rng = np.random.default_rng(4)
    assert trace_problems(np.full(3000, 7.0), 100.0) == ["flat"]
    assert trace_problems(np.clip(rng.normal(0, 3000, 3000), -2048, 2047).round(), 100.0) == ["clipped"]
    assert trace_problems(rng.normal(0, 30, 3000).round(), 100.0) == []
    assert trace_problems(np.full(300, 7.0), 100.0) == []  # under 10 s: too little to say


def test_the_watch_command_alerts_the_staff_chat_stops_on_sigterm_and_detect_uses_sensor_settings(
    env: dict[str, str], make_runtime, tmp_path: Path
) -> None:
    import signal

    from shekteu.seismic.replay import ReplayServer, records
    from tests.fake_telegram import TOKEN, FakeBotAPI

    api = FakeBotAPI()
    chat = {"SHEKTEU_TELEGRAM_TOKEN": TOKEN, "SHEKTEU_TELEGRAM_API_BASE": api.base,
            "SHEKTEU_TELEGRAM_STAFF_CHAT": "-100555", "SHEKTEU_WORKER_POLL_SECONDS": "0.2"}  # fmt: skip
    rt = make_runtime()
    with rt.db.write() as s:
        for k in range(3):
            _sensor(s, f"KZ.W{k}.00.HHZ")
    server = ReplayServer(records(_replay_files(tmp_path, "vehicle", 11, time.time() - 90))).start()
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env | chat
    proc = subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "seismic", "watch",
                             "--seedlink", server.address], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        sent = api.wait_sent(1, timeout=120)  # the watch's own worker sends the alert: no `shekteu worker`
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        server.stop()
        api.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopped:" in err and "Traceback" not in err, err
    assert sent and str(sent[0]["chat_id"]) == "-100555" and "Сейсмодатчики" in sent[0]["text"]
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(SeismicEvent)) >= 1
    # `detect` picks up the registered sensors' own settings: an impossible threshold silences W0-W2
    with rt.db.write() as s:
        for sensor in s.scalars(select(Sensor)):
            sensor.params = {"on": 1e9, "off": 1.0}
    files = [str(p) for p in _replay_files(tmp_path, "vehicle", 11, time.time() - 90)]  # stations KZ.W0-W2
    done = cli(env, "seismic", "detect", *files, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    elsewhere = {**env, "SHEKTEU_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}  # no sensors registered
    assert cli(elsewhere, "seismic", "detect", *files, "--json").stdout.strip() != ""


def test_coincidence_runs_within_each_registered_site(tmp_path: Path) -> None:
    from shekteu.seismic.batch import detect_files

    z = [Path(p) for p in UH if "SHE" not in p and "SHN" not in p]
    together = detect_files(z, REFERENCE, None, workers=1)
    assert len(together.events) == 3
    # UH1 and UH2 at one site, UH3 and UH4 at another: no site has three stations any more
    apart = detect_files(z, REFERENCE, None, workers=1, site_of={"BW.UH1": "a", "BW.UH2": "a",
                                                                    "BW.UH3": "b", "BW.UH4": "b"})  # fmt: skip
    assert apart.events == []
    two = detect_files(z, replace(REFERENCE, min_stations=2), None, workers=1,
                       site_of={"BW.UH1": "a", "BW.UH2": "a", "BW.UH3": "b", "BW.UH4": "b"})  # fmt: skip
    assert {tuple(sorted(e.stations)) for e in two.events} >= {("BW.UH1", "BW.UH2"), ("BW.UH3", "BW.UH4")}


def test_a_clock_set_back_or_running_ahead_is_a_health_alert(rt: Runtime) -> None:
    from obspy import Trace, UTCDateTime

    from shekteu.seismic.model import load
    from shekteu.seismic.watch import Watch

    with rt.db.write() as s:
        _sensor(s, "KZ.C1.00.HHZ")
    w = Watch(rt, "127.0.0.1:1", load())  # handle() only: nothing connects
    rng = np.random.default_rng(8)
    head = {"network": "KZ", "station": "C1", "location": "00", "channel": "HHZ", "sampling_rate": 100.0}
    now = time.time()
    w.handle(Trace(rng.normal(0, 10, 1000), header={**head, "starttime": UTCDateTime(now - 20)}))
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(SeismicAlert)) == 0
    w.handle(Trace(rng.normal(0, 10, 1000), header={**head, "starttime": UTCDateTime(now - 400)}))  # set back
    w.handle(Trace(rng.normal(0, 10, 1000), header={**head, "starttime": UTCDateTime(now + 3600)}))  # ahead
    with rt.db.read() as s:
        (alert,) = s.scalars(select(SeismicAlert)).all()
    assert (alert.kind, alert.label, alert.events) == ("health", "clock", 2)


def test_bad_sensor_settings_and_streams_are_one_line_errors(rt: Runtime, env: dict[str, str]) -> None:
    from shekteu.seismic.watch import Watch

    with rt.db.write() as s, pytest.raises(SeismicError, match="HH:MM-HH:MM"):
        _sensor(s, quiet_hours=["8-10"])
    with rt.db.write() as s, pytest.raises(SeismicError, match="must be numbers"):
        _sensor(s, params={"on": "loud"})
    with rt.db.write() as s, pytest.raises(SeismicError, match="need on > off"):
        _sensor(s, params={"on": 1.0, "off": 2.0})
    with pytest.raises(SeismicError, match=r"NET\.STA"):
        Watch(rt, "127.0.0.1:1", None, streams=["KZ.A.B"])  # type: ignore[arg-type]
    done = cli(env, "seismic", "watch", "--seedlink", "127.0.0.1:1")
    assert done.returncode == 2 and "nothing to watch" in done.stderr and "Traceback" not in done.stderr
    done = cli(env, "sensors", "add", "KZ.X.00.HHZ", "--lat", "91", "--lon", "0", "--place", "x")
    assert done.returncode == 2 and "latitude" in done.stderr


def test_two_officers_installing_one_sensor_at_once_make_one(make_runtime) -> None:
    from tests.races import need_postgres

    rt = make_runtime()
    need_postgres(rt)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def one() -> None:
        try:
            with rt.db.write() as s:
                start.wait(10)
                _sensor(s, "KZ.SAME.00.HHZ")
            outcomes.append("added")
        except SeismicError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes)[0] == "added" and "already installed" in sorted(outcomes)[1], outcomes
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Sensor)) == 1


def test_a_three_component_stream_votes_once_per_station_with_its_vertical(rt: Runtime, tmp_path: Path) -> None:
    from obspy import Trace, UTCDateTime

    from shekteu.seismic.model import load
    from shekteu.seismic.watch import Watch

    w = Watch(rt, "127.0.0.1:1", load(), streams=["KZ.T3"])  # NET.STA: the server sends every channel
    rng = np.random.default_rng(6)
    t0 = time.time() - 300
    for k in range(10):  # E, N and Z records of the same seconds, interleaved as a server sends them
        for cha in ("HHE", "HHN", "HHZ"):
            w.handle(Trace(rng.normal(0, 10, 1000), header={"network": "KZ", "station": "T3", "channel": cha,
                                                            "sampling_rate": 100.0,
                                                            "starttime": UTCDateTime(t0 + 10 * k)}))  # fmt: skip
    det = w.station_site["KZ.T3"].detectors["KZ.T3"]
    assert w.channel_of["KZ.T3"] == "HHZ"
    assert det.n == 10_000  # the vertical's samples, once each: the first E record's start was dropped


def test_a_loggers_dc_offset_does_not_change_the_label_at_any_rate() -> None:
    from shekteu.seismic.classify import classify
    from shekteu.seismic.model import load

    forest = load()
    same = 0
    for seed in range(300, 306):
        sc = _scene(("footstep", "vehicle", "none")[seed % 3], seed, rate=500.0)
        plain = classify(forest, _segments(sc), Params()).label
        offset = classify(forest, [replace(s, data=s.data + 65_000.0) for s in _segments(sc)], Params()).label
        same += plain == offset
    assert same == 6
