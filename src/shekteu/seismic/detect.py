"""Per-station triggers and network coincidence, carried across chunks so files and live streams
give the same events.

Each station runs a causal Butterworth band-pass (ObsPy's ``bandpass``: zero initial state,
second-order sections) and the recursive STA/LTA of ObsPy's C code, with the filter and averaging
states kept between chunks; a trigger switches on at ``on`` and off after the last sample at or above
``off`` — what ``trigger_onset`` gives on the whole trace. Triggers of the stations of one site then
meet in ObsPy's ``coincidence_trigger`` rule: overlapping triggers of distinct stations add their
weights, and an event needs ``min_stations`` worth of them. Every parameter can be set per sensor.
Defaults are for people and vehicles a few tens of metres away (8-45 Hz, 0.3 s / 15 s), not for
earthquakes; ``REFERENCE`` are ObsPy's tutorial values that reproduce its three BW.UH events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from shekteu.seismic import SeismicError
from shekteu.seismic.read import Segment


@dataclass(frozen=True)
class Params:
    freqmin: float = 8.0
    freqmax: float = 45.0
    corners: int = 4
    sta: float = 0.3  # seconds
    lta: float = 15.0
    on: float = 4.0
    off: float = 1.5
    weight: float = 1.0
    max_seconds: float = 120.0  # a trigger longer than this is closed and a new one may start
    min_stations: float = 2.0  # coincidence sum an event needs (network level)
    extension: float = 0.0  # seconds a trigger's off time is extended when gathering stations

    def check(self) -> Params:
        if not 0 < self.freqmin < self.freqmax:
            raise SeismicError(f"band-pass {self.freqmin:g}-{self.freqmax:g} Hz: need 0 < freqmin < freqmax")
        if not 0 < self.sta < self.lta:
            raise SeismicError(f"STA {self.sta:g} s / LTA {self.lta:g} s: need 0 < sta < lta")
        if not self.on > self.off > 0:
            raise SeismicError(f"trigger on {self.on:g} / off {self.off:g}: need on > off > 0")
        if self.min_stations <= 0 or self.weight <= 0:
            raise SeismicError("--min-stations and weights must be positive")
        return self

    def merged(self, overrides: dict[str, Any] | None) -> Params:
        """These settings with a sensor's or the command line's overrides (unknown keys ignored)."""
        try:
            known = {k: float(v) if k != "corners" else int(v) for k, v in (overrides or {}).items()
                     if k in asdict(self) and v is not None}  # fmt: skip
        except (TypeError, ValueError):
            raise SeismicError(f"detection settings must be numbers: {overrides!r}"[:300]) from None
        return replace(self, **known).check()


CLOCK_JUMP_SECONDS = 60.0  # data this far before what came already: the clock was set back, not a repeat
REFERENCE = Params(freqmin=10, freqmax=20, sta=0.5, lta=10, on=3.5, off=1, min_stations=3, max_seconds=1e6)


@dataclass
class Trigger:
    station: str
    on: float  # POSIX seconds
    off: float
    peak: float  # highest STA/LTA
    weight: float = 1.0


@dataclass
class Event:
    start: float
    end: float
    stations: list[str]
    coincidence: float
    peaks: dict[str, float] = field(default_factory=dict)
    onsets: dict[str, float] = field(default_factory=dict)  # each station's trigger-on time
    label: str | None = None
    score: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


class StationDetector:
    """One channel's band-pass and STA/LTA, fed chunk by chunk; returns the triggers closed so far."""

    def __init__(self, station: str, rate: float, params: Params) -> None:
        from scipy.signal import iirfilter

        self.station, self.rate, self.params = station, rate, params.check()
        nyquist = rate / 2
        high = params.freqmax / nyquist
        if params.freqmin / nyquist >= 1:
            raise SeismicError(f"{station}: band-pass starts above Nyquist ({nyquist:g} Hz)")
        if high < 1:  # ObsPy's bandpass: a top above Nyquist becomes a high-pass
            self.sos = iirfilter(params.corners, [params.freqmin / nyquist, high], btype="band",
                                 ftype="butter", output="sos")  # fmt: skip
        else:
            self.sos = iirfilter(params.corners, params.freqmin / nyquist, btype="highpass",
                                 ftype="butter", output="sos")  # fmt: skip
        self.nsta, self.nlta = int(params.sta * rate), int(params.lta * rate)
        self.csta, self.clta = 1.0 / self.nsta, 1.0 / self.nlta
        self.max_len = int(params.max_seconds * rate + 0.5)
        self.reset(None)

    def reset(self, start: float | None) -> None:
        """Forget all state (a gap or a clock jump): the LTA warms up again from here."""
        self.zi = np.zeros((self.sos.shape[0], 2))
        self.sta_state, self.lta_state = 0.0, 1e-99
        self.n = 0  # samples seen since the reset
        self.t0 = start  # time of sample n = 0
        self.on_index: int | None = None
        self.last_above = -1
        self.peak = 0.0

    @property
    def next_time(self) -> float | None:
        return None if self.t0 is None else self.t0 + self.n / self.rate

    def feed(self, start: float, data: np.ndarray) -> tuple[list[Trigger], np.ndarray]:
        """Triggers that closed within this chunk, and the chunk's STA/LTA (for plots and features)."""
        from scipy.signal import lfilter, sosfilt

        closed: list[Trigger] = []
        expected = self.next_time
        tolerance = 1.5 / self.rate
        if expected is None:
            self.reset(start)
        elif abs(start - expected) > tolerance:
            if start < expected - CLOCK_JUMP_SECONDS or start > expected:
                # a clock set back, a gap or a forward jump: close what was open and start over
                closed += self.finish()
                self.reset(start)
            elif start + len(data) / self.rate <= expected:
                return [], np.zeros(0)  # wholly old data (a repeated record): nothing new
            else:  # partial overlap: keep the new part
                skip = round((expected - start) * self.rate)
                data, start = data[skip:], expected
        if not len(data):
            return closed, np.zeros(0)
        filtered, self.zi = sosfilt(self.sos, np.asarray(data, dtype=np.float64), zi=self.zi)
        sq = filtered * filtered
        first = 0
        if self.n == 0:  # ObsPy's loop starts at sample 1 with sta = 0, lta = 1e-99
            first = 1
        cft = np.zeros(len(sq))
        if len(sq) > first:
            sta, _zs = lfilter([self.csta], [1, -(1 - self.csta)], sq[first:], zi=[(1 - self.csta) * self.sta_state])
            lta, _zl = lfilter([self.clta], [1, -(1 - self.clta)], sq[first:], zi=[(1 - self.clta) * self.lta_state])
            self.sta_state, self.lta_state = float(sta[-1]), float(lta[-1])
            cft[first:] = sta / lta
        index = self.n + np.arange(len(sq))
        cft[index < self.nlta] = 0.0  # the LTA has not filled yet
        closed += self._triggers(cft)
        self.n += len(sq)
        return closed, cft

    def _triggers(self, cft: np.ndarray) -> list[Trigger]:
        p, out = self.params, []
        above_on = cft >= p.on
        above_off = cft >= p.off
        i, n = 0, len(cft)
        while i < n:
            if self.on_index is None:
                hits = np.flatnonzero(above_on[i:])
                if not len(hits):
                    break
                i += int(hits[0])
                self.on_index, self.last_above, self.peak = self.n + i, self.n + i, 0.0
            below = np.flatnonzero(~above_off[i:])
            end = i + int(below[0]) if len(below) else n  # first sample under ``off`` (or none yet)
            if end > i:
                self.peak = max(self.peak, float(cft[i:end].max()))
                self.last_above = self.n + end - 1
            if self.last_above - self.on_index > self.max_len:  # too long: close at the limit
                self.last_above = self.on_index + self.max_len
                out.append(self._close())
                i = max(i, self.last_above - self.n + 1)  # a new trigger may start after it
                continue
            if not len(below):
                break
            out.append(self._close())
            i = end
        return out

    def _close(self) -> Trigger:
        assert self.on_index is not None and self.t0 is not None
        t = Trigger(self.station, self.t0 + self.on_index / self.rate, self.t0 + self.last_above / self.rate,
                    self.peak, self.params.weight)  # fmt: skip
        self.on_index = None
        return t

    def finish(self) -> list[Trigger]:
        """End of input: a trigger still on closes at the last sample at or above ``off``."""
        return [self._close()] if self.on_index is not None else []

    @property
    def triggered_since(self) -> float | None:
        """When the open trigger switched on (streaming: the moment a station votes), if one is open."""
        if self.on_index is None or self.t0 is None:
            return None
        return self.t0 + self.on_index / self.rate


def coincide(triggers: Iterable[Trigger], min_sum: float, *, extension: float = 0.0) -> list[Event]:
    """ObsPy's ``coincidence_trigger`` rule over station triggers (each station counted once)."""
    pending = sorted(triggers, key=lambda t: (t.on, t.off, t.station))
    events: list[Event] = []
    last_off = 0.0
    while pending:
        first = pending.pop(0)
        off, total = first.off, first.weight
        stations, peaks, onsets = [first.station], {first.station: first.peak}, {first.station: first.on}
        for t in pending:
            if t.station in stations:
                continue
            if t.on > off + extension:
                break
            stations.append(t.station)
            peaks[t.station], onsets[t.station] = t.peak, t.on
            total += t.weight
            off = max(off, t.off)
        if total < min_sum or off <= last_off:
            continue
        events.append(Event(first.on, off, stations, total, peaks, onsets))
        last_off = off
    return events


def station_triggers(segs: list[Segment], params: dict[str, Params] | Params) -> list[Trigger]:
    """Triggers of each segment (one channel per station), each station with its own parameters."""
    out: list[Trigger] = []
    detectors: dict[str, StationDetector] = {}
    for seg in segs:
        p = params if isinstance(params, Params) else params.get(seg.station, params.get("*", Params()))
        det = detectors.get(seg.seed_id)
        if det is None or det.rate != seg.rate:
            if det is not None:
                out += det.finish()
            det = detectors[seg.seed_id] = StationDetector(seg.station, seg.rate, p)
        found, _ = det.feed(seg.start, seg.data)
        out += found
    for det in detectors.values():
        out += det.finish()
    return out


def detect(segs: list[Segment], params: Params, per_station: dict[str, Params] | None = None) -> list[Event]:
    """Network events in a set of segments (one channel per station), ObsPy's rules."""
    table: dict[str, Params] = {"*": params, **(per_station or {})}
    return coincide(station_triggers(segs, table), params.min_stations, extension=params.extension)
