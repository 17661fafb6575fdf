"""`shekteu sensors` and `shekteu seismic`: the covert-sensor registry, detection and classification
of recordings, training, and the real-time SeedLink watch (issue 22). The work is in ``seismic/``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from shekteu import audit
from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, err, out, progress, safe

sensors_app = typer.Typer(no_args_is_help=True, help="Covert seismic sensors: where they are and how they listen.")
seismic_app = typer.Typer(no_args_is_help=True, help="Seismic detection: walkers and vehicles at watched sites.")
app.add_typer(sensors_app, name="sensors")
app.add_typer(seismic_app, name="seismic")
AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (needs the sensors permission; default: "
                                             "the local account).")]  # fmt: skip
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786); "
                                                  "default: local threads.")]  # fmt: skip
ModelOpt = Annotated[Path | None, typer.Option("--model", help="A model file from `seismic train` (default: shipped).")]


def _err(exc: Exception) -> UserError:
    return UserError(str(exc))


@sensors_app.command("add")
def sensors_add(
    seed_id: Annotated[str, typer.Argument(help="SEED id NET.STA.LOC.CHA, e.g. KZ.SHU01.00.HHZ.")],
    lat: Annotated[float, typer.Option("--lat")],
    lon: Annotated[float, typer.Option("--lon")],
    site: Annotated[int | None, typer.Option("--site", help="Field site id from the registry.")] = None,
    place: Annotated[str | None, typer.Option("--place", help="A named place, when there is no field site.")] = None,
    installed: Annotated[str | None, typer.Option("--installed", help="YYYY-MM-DD (default today).")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Sampling rate, Hz.")] = None,
    gain: Annotated[float | None, typer.Option("--gain", help="Counts per m/s, if known.")] = None,
    response: Annotated[str | None, typer.Option("--response", help="Instrument or response description.")] = None,
    quiet: Annotated[list[str] | None, typer.Option("--quiet", help="Patrol hours HH:MM-HH:MM (repeatable).")] = None,
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an installed sensor."""
    from shekteu.seismic import SeismicError
    from shekteu.seismic.sensors import add, as_json

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            s = add(session, seed_id, lat=lat, lon=lon, site_id=site, place=place, installed_on=installed, rate=rate,
                    gain=gain, response=response, quiet_hours=quiet or [], actor=actor or audit.current_actor())  # fmt: skip
            row = as_json(s)
    except SeismicError as exc:
        raise _err(exc) from None
    emit_json(row) if json_out else out.print(f"sensor {row['id']} {safe(row['seed_id'])} installed")


@sensors_app.command("list")
def sensors_list(
    all_sensors: Annotated[bool, typer.Option("--all", help="Include removed sensors.")] = False,
    actor: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sensors with their positions (sensitive: the listing is audited)."""
    from rich.table import Table

    from shekteu.seismic.sensors import as_json, listing

    rt = open_runtime()
    with rt.db.write() as session:
        rows = [as_json(s) for s in listing(session, actor=actor or audit.current_actor(), all_sensors=all_sensors)]
    if json_out:
        for r in rows:
            emit_json({k: r[k] for k in ("id", "seed_id", "lat", "lon", "site_id", "rate")} | r)
        return
    table = Table("id", "SEED id", "lat", "lon", "site", "rate", "installed", "removed", "muted")
    for r in rows:
        table.add_row(str(r["id"]), safe(r["seed_id"]), f"{r['lat']:.5f}", f"{r['lon']:.5f}",
                      str(r["site_id"] or safe(r["place"])), str(r["rate"] or "-"), r["installed_on"],
                      r["removed_on"] or "", "yes" if r["muted"] else "")  # fmt: skip
    out.print(table)


@sensors_app.command("remove")
def sensors_remove(
    seed_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")],
    on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default today).")] = None,
    actor: AsOpt = None,
) -> None:
    """Mark a sensor removed (its record stays)."""
    from shekteu.seismic import SeismicError
    from shekteu.seismic.sensors import remove

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            s = remove(session, seed_id, actor=actor or audit.current_actor(), reason=reason, on=on)
            out.print(f"sensor {s.id} {safe(s.seed_id)} removed on {s.removed_on}")
    except SeismicError as exc:
        raise _err(exc) from None


@sensors_app.command("mute")
def sensors_mute(
    seed_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")],
    off: Annotated[bool, typer.Option("--off", help="Unmute.")] = False,
    actor: AsOpt = None,
) -> None:
    """Mute a sensor: its events are kept but raise no alert (works, a herd grazing there …)."""
    from shekteu.seismic import SeismicError
    from shekteu.seismic.sensors import set_muted

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            set_muted(session, seed_id, not off, actor=actor or audit.current_actor(), reason=reason)
    except SeismicError as exc:
        raise _err(exc) from None


def _params(freqmin: float | None, freqmax: float | None, sta: float | None, lta: float | None, on: float | None,
            off: float | None, min_stations: float | None):  # type: ignore[no-untyped-def]  # fmt: skip
    from shekteu.seismic.detect import Params

    return Params().merged({"freqmin": freqmin, "freqmax": freqmax, "sta": sta, "lta": lta, "on": on, "off": off,
                            "min_stations": min_stations})  # fmt: skip


def _bars(description: str):  # type: ignore[no-untyped-def]
    bar = progress(None, description)
    task = bar.tasks[0].id

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


def _workers() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)))


F = Annotated[float | None, typer.Option()]


@seismic_app.command("detect")
def detect_cmd(
    paths: Annotated[list[str], typer.Argument(help="Recordings (MiniSEED, SAC, GSE2, SLIST …) or folders.")],
    freqmin: Annotated[float | None, typer.Option("--freqmin", help="Band-pass low corner, Hz (default 8).")] = None,
    freqmax: Annotated[float | None, typer.Option("--freqmax", help="Band-pass high corner, Hz (default 45).")] = None,
    sta: Annotated[float | None, typer.Option("--sta", help="Short-term average, s (default 0.3).")] = None,
    lta: Annotated[float | None, typer.Option("--lta", help="Long-term average, s (default 15).")] = None,
    on: Annotated[float | None, typer.Option("--on", help="Trigger-on STA/LTA (default 4).")] = None,
    off: Annotated[float | None, typer.Option("--off", help="Trigger-off STA/LTA (default 1.5).")] = None,
    min_stations: Annotated[float | None, typer.Option("--min-stations", help="Coincidence sum (default 2).")] = None,
    scheduler: SchedulerOpt = None,
    model: ModelOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Network events in recordings: one per coincidence of station triggers, labelled and scored."""
    from rich.table import Table

    from shekteu.seismic import SeismicError, need_extra
    from shekteu.seismic.batch import detect_files
    from shekteu.seismic.classify import event_json
    from shekteu.seismic.model import load
    from shekteu.seismic.read import expand

    try:
        need_extra()
        params = _params(freqmin, freqmax, sta, lta, on, off, min_stations)
        files = expand(paths)
        forest = load(model)
        per_station, site_of = _registered(params)
        bar, update = _bars("detecting")
        with bar:
            found = detect_files(files, params, forest, per_station=per_station, site_of=site_of, scheduler=scheduler,
                                 workers=_workers(), on_progress=update)  # fmt: skip
    except SeismicError as exc:
        raise _err(exc) from None
    for _path, problem in found.errors:
        err.print(f"skipped: {safe(problem)}")
    rows = [event_json(e) for e in found.events]
    if json_out:
        for r in rows:
            emit_json(r)
    else:
        table = Table("start (UTC)", "duration s", "stations", "label", "score")
        for r in rows:
            table.add_row(r["start"], f"{r['duration']:.2f}", safe(", ".join(r["stations"])), r["label"] or "-",
                          f"{r['score']:.2f}" if r["score"] is not None else "-")  # fmt: skip
        out.print(table)
        out.print(f"{len(rows)} events in {found.files - len(found.errors)} files from {found.stations} stations")
    if found.errors and not rows and len(found.errors) == found.files:
        raise SystemExit(2)


def _registered(params):  # type: ignore[no-untyped-def]
    """Registered sensors' own detection settings over ``params``, and each one's site (coincidence
    runs per site); nothing if there is no database yet."""
    from shekteu.seismic.sensors import by_station, station_params

    try:
        rt = open_runtime()
    except UserError:
        return {}, {}
    with rt.db.read() as session:
        sensors = by_station(session)
        return station_params(sensors, params), {st: s.site_key for st, s in sensors.items()}


@seismic_app.command("classify")
def classify_cmd(
    paths: Annotated[list[str], typer.Argument(help="Windows or traces (any ObsPy format) or folders.")],
    model: ModelOpt = None,
    scheduler: SchedulerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One label per file: footstep, vehicle, other or none (no event found), with a score."""
    from rich.table import Table

    from shekteu.seismic import SeismicError, need_extra
    from shekteu.seismic.batch import classify_files
    from shekteu.seismic.detect import Params
    from shekteu.seismic.model import load
    from shekteu.seismic.read import expand

    try:
        need_extra()
        files = expand(paths)
        forest = load(model)
        bar, update = _bars("classifying")
        with bar:
            verdicts = classify_files(files, forest, Params(), scheduler=scheduler, workers=_workers(),
                                      on_progress=update)  # fmt: skip
    except SeismicError as exc:
        raise _err(exc) from None
    table = Table("file", "label", "score", "events")
    failed = 0
    for path, v in verdicts:
        if isinstance(v, str):
            failed += 1
            err.print(f"skipped: {safe(v)}")
            if json_out:
                emit_json({"file": path, "label": None, "score": None, "events": 0, "error": v})
            continue
        row = v.as_json(path)
        if json_out:
            emit_json(row)
        else:
            table.add_row(safe(path), row["label"], f"{row['score']:.2f}", str(row["events"]))
    if not json_out:
        out.print(table)
    if failed and failed == len(verdicts):
        raise SystemExit(2)


@seismic_app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Argument(help="The shared seismic folder (obspy_testdata/, rocknet_luhu/, coal_node/).")],
    out_path: Annotated[Path, typer.Option("--out", help="Model file to write (.npz).")],
    scenes: Annotated[int, typer.Option("--scenes", min=10, max=5000, help="Modelled episodes per class and site.")] = 150,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    json_out: JsonOpt = False,
) -> None:
    """Rebuild the classifier from real recordings and modelled footsteps/vehicles; print its figures
    on held-out sites. Ship it by copying the file to src/shekteu/seismic/data/seismic_forest.npz."""
    from shekteu.seismic import SeismicError
    from shekteu.seismic.model import save
    from shekteu.seismic.train import train

    try:
        bar, update = _bars("modelling episodes")
        with bar:
            forest, meta = train(data, scenes=scenes, seed=seed, on_progress=update)
        save(forest, out_path)
    except (SeismicError, ImportError) as exc:
        raise _err(exc) from None
    if json_out:
        emit_json(meta)
        return
    for site, figures in meta["validation"].items():
        out.print(f"held-out {site}: balanced accuracy {figures['balanced_accuracy']:.3f}, vehicle vs background "
                  f"{figures['vehicle_vs_background']:.3f}, recall {figures['recall']}")  # fmt: skip
    out.print(f"wrote {out_path} ({meta['modelled_share']:.0%} of rows are modelled footsteps/vehicles)")


@seismic_app.command("watch")
def watch_cmd(
    seedlink: Annotated[str, typer.Option("--seedlink", help="SeedLink server HOST:PORT.")],
    streams: Annotated[str | None, typer.Option("--streams", help="NET.STA.LOC.CHA,… (default: installed sensors).")] = None,
    model: ModelOpt = None,
) -> None:
    """Watch live streams until stopped: events stored, alerts raised and sent to the staff chat."""
    from shekteu.seismic import SeismicError, need_extra
    from shekteu.seismic.model import load
    from shekteu.seismic.watch import Watch

    rt = open_runtime()
    try:
        need_extra()
        w = Watch(rt, seedlink, load(model), streams=[s for s in (streams or "").split(",") if s.strip()] or None)
    except SeismicError as exc:
        raise _err(exc) from None

    def stop(signum: int, _frame: object) -> None:
        w.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"watching {len(w.streams)} streams at {safe(seedlink)} (Ctrl-C stops)")
    sender = None
    if rt.settings.embedded_worker:  # alerts reach the staff chat without a separate `shekteu worker`
        from shekteu.queue.worker import Worker

        sender = Worker(rt, concurrency=1, stages=["alert"])
        sender.start()
    try:
        stats = w.run()
    finally:
        if sender is not None:
            sender.stop()
    err.print(f"stopped: {stats.records} records, {stats.events} events, {stats.alerts} alerts, "
              f"{stats.reconnects} reconnections")  # fmt: skip


@seismic_app.command("replay")
def replay_cmd(
    paths: Annotated[list[str], typer.Argument(help="Recordings to serve.")],
    port: Annotated[int, typer.Option("--port")] = 18000,
    speed: Annotated[float, typer.Option("--speed", help="1 = as recorded; 0 = as fast as read.")] = 1.0,
    now: Annotated[bool, typer.Option("--now/--as-recorded", help="Stamp the data as if recorded now.")] = True,
) -> None:
    """Serve recordings as a SeedLink server (drills, demos): `seismic watch --seedlink 127.0.0.1:PORT`."""
    import time

    from shekteu.seismic import SeismicError
    from shekteu.seismic.read import expand
    from shekteu.seismic.replay import ReplayServer, records

    try:
        recs = records(expand(paths), start_at=time.time() if now else None)
    except SeismicError as exc:
        raise _err(exc) from None
    server = ReplayServer(recs, port=port, speed=speed, wall_clock=now and speed == 1.0)
    err.print(f"SeedLink replay of {len(recs)} records on {server.address} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
