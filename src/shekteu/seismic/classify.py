"""Events and windows to labels: cut each event from the raw traces, describe it, ask the forest.

Used by ``seismic detect`` (every network event gets a label and score), ``seismic classify`` (one
label per file: the most telling event, or the window as a whole when nothing triggers — a vehicle
audible for the whole of a short window never trips an STA/LTA) and the live watch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from shekteu.seismic.detect import Event, Params, detect
from shekteu.seismic.features import RATE, resample, window_features
from shekteu.seismic.model import Forest
from shekteu.seismic.read import Segment, one_channel_per_station

WATCHED = ("footstep", "vehicle")
PAD = 1.0  # seconds after an event that go into its window
PRE = 5.0  # seconds before it: the noise the event is measured against
MIN_WINDOW = 15.0  # seconds after the onset always looked at: a vehicle's swell and fade, a walker's steps
MAX_EVENT_SECONDS = 60.0
MAX_WINDOW_SECONDS = 120.0  # longer files are traces: only their events are classified


def _cut(seg: Segment, start: float, end: float) -> np.ndarray:
    a = max(0, int((start - seg.start) * seg.rate))
    b = min(len(seg.data), int((end - seg.start) * seg.rate) + 1)
    return seg.data[a:b] if b > a else np.zeros(0)


def window_end(event: Event) -> float:
    """Where an event's window ends: at least ``MIN_WINDOW`` after its onset, at most a minute."""
    return min(max(event.end, event.start + MIN_WINDOW), event.start + MAX_EVENT_SECONDS) + PAD


def event_features(segs: list[Segment], event: Event) -> np.ndarray:
    """The features of ``event`` from the raw traces of its stations (resampled to 100 Hz)."""
    end = window_end(event)
    onsets = event.onsets
    windows, times = [], []
    for seg in segs:
        if seg.station in event.stations and seg.start <= end and seg.end >= event.start - PRE:
            w = _cut(seg, event.start - PRE, end)
            if len(w) > seg.rate:
                windows.append(resample(w, seg.rate))
                if onsets and seg.station in onsets:
                    times.append(onsets[seg.station])
    return window_features(windows, times or None)


def label_events(forest: Forest, segs: list[Segment], events: list[Event]) -> list[Event]:
    """The events with ``label`` and ``score`` set."""
    if not events:
        return events
    x = np.vstack([event_features(segs, e) for e in events])
    for e, (label, score) in zip(events, forest.predict(x), strict=True):
        e.label, e.score = label if label != "none" else "other", round(score, 4)
    return events


def whole_window(segs: list[Segment]) -> np.ndarray | None:
    """Features of a short file taken as one window (None for a long trace)."""
    if not segs:
        return None
    start, end = min(s.start for s in segs), max(s.end for s in segs)
    if end - start > MAX_WINDOW_SECONDS:
        return None
    return window_features([resample(s.data, s.rate) for s in segs if len(s.data) > s.rate])


@dataclass
class Verdict:
    label: str  # footstep | vehicle | other | none
    score: float
    events: list[Event]

    def as_json(self, file: str) -> dict[str, Any]:
        return {"file": file, "label": self.label, "score": round(self.score, 4), "events": len(self.events)}


def adapted(params: Params, segs: list[Segment]) -> Params:
    """Parameters that a short window can carry: LTA at most a third of it, coincidence at most
    the number of stations present."""
    stations = len({s.station for s in segs})
    seconds = max(s.end for s in segs) - min(s.start for s in segs)
    lta = max(min(params.lta, seconds / 3), 2 * params.sta + 0.1)
    return replace(params, lta=lta, min_stations=min(params.min_stations, float(stations)))


def classify(forest: Forest, segs: list[Segment], params: Params) -> Verdict:
    """One label for a file: its most confident watched event, else the window as a whole, else other."""
    segs = one_channel_per_station(segs)
    if not segs:
        return Verdict("none", 1.0, [])
    events = label_events(forest, segs, detect(segs, adapted(params, segs)))
    watched = [e for e in events if e.label in WATCHED]
    if watched:
        best = max(watched, key=lambda e: e.score or 0)
        return Verdict(str(best.label), float(best.score or 0), events)
    x = whole_window(segs)
    if x is not None:
        (label, score), = forest.predict(x)
        if label in WATCHED or (label == "other" and events):
            return Verdict(label, score, events)
        if not events:
            return Verdict("none", score if label == "none" else 1 - score, events)
    if events:
        best = max(events, key=lambda e: e.score or 0)
        return Verdict("other", float(best.score or 0), events)
    return Verdict("none", 1.0, events)


def event_json(e: Event) -> dict[str, Any]:
    from datetime import UTC, datetime

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    return {"start": iso(e.start), "end": iso(e.end), "duration": round(e.duration, 3),
            "stations": e.stations, "label": e.label, "score": e.score}  # fmt: skip


__all__ = ["RATE", "Verdict", "classify", "event_json", "label_events"]
