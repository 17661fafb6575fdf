"""Detection and classification over many files, in parallel and in bounded memory.

A file is scanned by one task (Dask, local threads or a cluster): it is read, its channels run
through their station detectors, and what comes back is only the triggers and, around each one, a
100 Hz snippet of the raw trace — a few kilobytes — so a day of 500 Hz data from twenty sensors never
sits in memory at once. Coincidence then runs over the triggers of all files, and each network event
is described from the snippets of its stations. A file that cannot be read is reported and the
batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shekteu.parallel import run_tasks
from shekteu.seismic import SeismicError
from shekteu.seismic.classify import MIN_WINDOW, PAD, PRE, Verdict, classify, label_events
from shekteu.seismic.detect import Event, Params, Trigger, coincide, station_triggers
from shekteu.seismic.features import RATE, resample
from shekteu.seismic.model import Forest
from shekteu.seismic.read import Segment, one_channel_per_station, read_stream, segments

SNIPPET_AFTER = 60.0  # seconds of trace kept after a trigger's onset (the classifier sees at most 60 s)


@dataclass
class Scan:
    path: str
    triggers: list[Trigger] = field(default_factory=list)
    snippets: list[Segment] = field(default_factory=list)
    stations: set[str] = field(default_factory=set)
    error: str | None = None


def scan_file(path: str, params: Params, per_station: dict[str, Params]) -> Scan:
    """One file's station triggers with their 100 Hz snippets (or the error that stopped it)."""
    scan = Scan(path)
    try:
        segs = one_channel_per_station(segments(read_stream(Path(path)), source=path))
        table = {"*": params, **per_station}
        scan.triggers = station_triggers(segs, table)
    except SeismicError as exc:
        scan.error = str(exc)
        return scan
    scan.stations = {s.station for s in segs}
    for t in scan.triggers:
        for seg in segs:
            if seg.station == t.station and seg.start <= t.on <= seg.end:
                a = max(0, int((t.on - PRE - 1 - seg.start) * seg.rate))
                b = min(len(seg.data), int((min(max(t.off, t.on + MIN_WINDOW), t.on + SNIPPET_AFTER) + PAD - seg.start)
                                            * seg.rate) + 1)
                scan.snippets.append(Segment(seg.seed_id, seg.start + a / seg.rate, RATE,
                                             resample(seg.data[a:b], seg.rate).astype(np.float32)))  # fmt: skip
    return scan


@dataclass
class Detection:
    events: list[Event]
    errors: list[tuple[str, str]]
    files: int
    stations: int


def detect_files(paths: list[Path], params: Params, forest: Forest | None, *, per_station: dict[str, Params] | None = None,
                 site_of: dict[str, str] | None = None, scheduler: str | None = None, workers: int = 2,
                 on_progress: Callable[[int, int], None] | None = None) -> Detection:  # fmt: skip
    """Network events across all files (labelled when ``forest`` is given), and the files that failed.

    Coincidence runs within each site (``site_of``: station → site key, from the registry); stations
    of no registered site form one group together."""
    import dask

    params.check()
    tasks = [dask.delayed(scan_file, pure=True)(str(p), params, per_station or {}) for p in paths]
    triggers: list[Trigger] = []
    snippets: list[Segment] = []
    stations: set[str] = set()
    errors = []
    for scan in run_tasks(tasks, scheduler, workers, on_progress, error=SeismicError):
        if scan.error:
            errors.append((scan.path, scan.error))
        triggers += scan.triggers
        snippets += scan.snippets
        stations |= scan.stations
    groups: dict[str, list[Trigger]] = {}
    for t in triggers:
        groups.setdefault((site_of or {}).get(t.station, ""), []).append(t)
    events = sorted((e for group in groups.values()
                     for e in coincide(group, params.min_stations, extension=params.extension)),
                    key=lambda e: (e.start, e.stations))  # fmt: skip
    if forest is not None:
        label_events(forest, snippets, events)
    return Detection(events, errors, len(paths), len(stations))


def classify_file(path: str, forest: Forest, params: Params) -> tuple[str, Verdict | str]:
    try:
        return path, classify(forest, segments(read_stream(Path(path)), source=path), params)
    except SeismicError as exc:
        return path, str(exc)


def classify_files(paths: list[Path], forest: Forest, params: Params, *, scheduler: str | None = None,
                   workers: int = 2, on_progress: Callable[[int, int], None] | None = None,
                   ) -> list[tuple[str, Verdict | str]]:  # fmt: skip
    """Each file's verdict (or its error), in the order given."""
    import dask

    tasks = [dask.delayed(classify_file, pure=True)(str(p), forest, params) for p in paths]
    found = dict(run_tasks(tasks, scheduler, workers, on_progress, error=SeismicError))
    return [(str(p), found[str(p)]) for p in paths]
