"""The real-time watch: SeedLink streams in, events and alerts out, until stopped.

Records arrive a few seconds at a time. Each station's detector keeps its filter and STA/LTA state
between records, so a live stream triggers exactly as the same data read from a file would. A site
**declares** activity the moment its open triggers reach the coincidence sum (that is the detection
latency the benchmark measures), and **finishes** the event once every station has gone quiet past
it; the finished event is classified from the stations' recent samples (kept for ``BUFFER_SECONDS``),
stored and, if it is a walker or a vehicle, raised as an alert. The connection is ObsPy's SeedLink
client; when the server goes away the watch reconnects with back-off (1 s doubling to a minute) and
resumes after the last sequence number it saw. Sensor health is checked as data flows (flat,
clipped, clock) and once a minute (silent sensors).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from shekteu.db.seismic_tables import Sensor
from shekteu.runtime import Runtime
from shekteu.seismic import SeismicError, alerts
from shekteu.seismic.classify import label_events, window_end
from shekteu.seismic.detect import CLOCK_JUMP_SECONDS, Event, Params, StationDetector, Trigger, coincide
from shekteu.seismic.features import resample
from shekteu.seismic.model import Forest
from shekteu.seismic.read import Segment
from shekteu.seismic.sensors import by_station

log = logging.getLogger(__name__)
BUFFER_SECONDS = 150.0
HEALTH_SECONDS = 60.0
CLOCK_AHEAD_SECONDS = 5.0  # a record stamped this far in the future: the sensor's clock is wrong


@dataclass
class SiteWatch:
    """Streaming coincidence for the stations of one site."""

    site_key: str
    site_id: int | None
    base: Params
    per_station: dict[str, Params]
    forest: Forest
    detectors: dict[str, StationDetector] = field(default_factory=dict)
    buffers: dict[str, deque[tuple[float, float, np.ndarray]]] = field(default_factory=dict)
    pending: list[Trigger] = field(default_factory=list)
    declared: list[tuple[float, float]] = field(default_factory=list)

    def feed(self, station: str, start: float, rate: float, data: np.ndarray) -> tuple[list[Event], list[Event]]:
        """(events declared now, events finished now) after one record of ``station``."""
        det = self.detectors.get(station)
        if det is None or det.rate != rate:
            det = self.detectors[station] = StationDetector(station, rate, self.per_station.get(station, self.base))
        closed, _ = det.feed(start, data)
        self.pending += closed
        buf = self.buffers.setdefault(station, deque())
        buf.append((start, rate, np.asarray(data, dtype=np.float64)))
        while buf and buf[0][0] < start - BUFFER_SECONDS:
            buf.popleft()
        return self._declare(), self._finish()

    def _open(self) -> list[Trigger]:
        out = []
        for st, det in self.detectors.items():
            since = det.triggered_since
            if since is not None and det.next_time is not None:
                out.append(Trigger(st, since, det.next_time, det.peak, det.params.weight))
        return out

    def _declare(self) -> list[Event]:
        new = []
        for e in coincide(self.pending + self._open(), self.base.min_stations, extension=self.base.extension):
            if not any(a <= e.end and e.start <= b for a, b in self.declared):
                self.declared.append((e.start, e.end))
                new.append(e)
            else:
                self.declared = [(a, max(b, e.end)) if a <= e.end and e.start <= b else (a, b) for a, b in self.declared]
        return new

    def _finish(self) -> list[Event]:
        times = [d.next_time for d in self.detectors.values() if d.next_time is not None]
        if not times or not self.pending:
            return []
        watermark = min(times)
        opened = self._open()
        done = []
        for e in coincide(self.pending, self.base.min_stations, extension=self.base.extension):
            if window_end(e) >= watermark or any(t.on <= e.end + self.base.extension for t in opened):
                continue  # more may join, or the window it is classified on has not arrived yet
            done.append(e)
        if done:
            last = max(e.end for e in done)
            self.pending = [t for t in self.pending if t.on > last]
            label_events(self.forest, self.segments(min(e.start for e in done) - 10, max(window_end(e) for e in done) + 1),
                         done)  # fmt: skip
        horizon = watermark - BUFFER_SECONDS
        self.pending = [t for t in self.pending if t.off >= horizon]
        self.declared = [(a, b) for a, b in self.declared if b >= horizon]
        return done

    def segments(self, a: float, b: float) -> list[Segment]:
        """Each station's buffered samples between ``a`` and ``b`` (POSIX s) as one segment."""
        out = []
        for st, buf in self.buffers.items():
            parts = [(s, r, d) for s, r, d in buf if s + len(d) / r >= a and s <= b]
            if parts:
                out.append(Segment(f"{st}..Z", parts[0][0], parts[0][1], np.concatenate([d for _, _, d in parts])))
        return out

    def waveform(self, e: Event) -> bytes:
        traces = {}
        for seg in self.segments(e.start - 2, min(e.end, e.start + 30) + 2):
            if seg.station in e.stations:
                a = max(0, int((e.start - 2 - seg.start) * seg.rate))
                b = int((min(e.end, e.start + 30) + 2 - seg.start) * seg.rate)
                traces[seg.station] = resample(seg.data[a:b], seg.rate)
        return alerts.pack_waveform(traces)


@dataclass
class WatchStats:
    records: int = 0
    declared: int = 0
    events: int = 0
    alerts: int = 0
    reconnects: int = 0
    latencies: list[float] = field(default_factory=list)  # wall-clock seconds from onset to declaration


class Watch:
    """The watch over a SeedLink server; ``run`` blocks until ``stop`` is called."""

    def __init__(self, rt: Runtime, address: str, forest: Forest, *, streams: list[str] | None = None,
                 base: Params | None = None,
                 on_declare: Callable[[Event], None] | None = None) -> None:  # fmt: skip
        self.rt, self.address, self.forest = rt, address, forest
        self.base = (base or Params()).check()
        self.on_declare = on_declare
        self.stopping = threading.Event()
        self.stats = WatchStats()
        self.conn = None
        self.last_seq: dict[str, int] = {}
        with rt.db.read() as session:
            self.sensors = by_station(session)
            for s in self.sensors.values():
                session.expunge(s)
        wanted = [s.upper() for s in streams] if streams else [s.seed_id for s in self.sensors.values()]
        if not wanted:
            raise SeismicError("nothing to watch: add sensors (`shekteu sensors add`) or name --streams")
        self.streams = [_split(s) for s in wanted]
        self.sites: dict[str, SiteWatch] = {}
        self.station_site: dict[str, SiteWatch] = {}
        for net, sta, _loc, _cha in self.streams:
            station = f"{net}.{sta}"
            sensor = self.sensors.get(station)
            key = sensor.site_key if sensor else f"place:{address}"
            site = self.sites.get(key)
            if site is None:
                site = self.sites[key] = SiteWatch(key, sensor.site_id if sensor else None, self.base, {}, forest)
            if sensor:
                site.per_station[station] = self.base.merged(sensor.params)
            self.station_site[station] = site
        self.last_seen: dict[str, float] = {}
        self.last_end: dict[str, float] = {}  # per station, the end of the newest data
        self.channel_of: dict[str, str] = {}  # per station, the channel its detector reads
        self.last_health = time.monotonic()

    def stop(self) -> None:
        """Stop soon: the collect loop sees the flag, and a read blocked on a silent server is cut."""
        import socket

        self.stopping.set()
        if self.conn is not None:
            self.conn.terminate()
            sock = getattr(self.conn, "socket", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run(self) -> WatchStats:
        from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection
        from obspy.clients.seedlink.slpacket import SLPacket

        backoff = 1.0
        while not self.stopping.is_set():
            # A collect() that sees no packet for the stream timeout returns (a server that died, or a
            # half-open TCP connection): this loop reconnects, with back-off, resuming at last_seq.
            quiet = self.rt.settings.seismic_stream_timeout
            conn = self.conn = SeedLinkConnection(timeout=quiet)
            conn.set_sl_address(self.address)
            conn.netto, conn.netdly = quiet + 5, 1  # netto is also the socket timeout (0 would not block)
            for net, sta, loc, cha in self.streams:
                conn.add_stream(net, sta, f"{loc}{cha}" if cha else None, self.last_seq.get(f"{net}.{sta}", -1), None)
            got = False
            try:
                while not self.stopping.is_set():
                    packet = conn.collect()
                    if packet == SLPacket.SLTERMINATE or packet is None:
                        break
                    if packet == SLPacket.SLERROR:
                        continue
                    if packet.get_type() in (SLPacket.TYPE_SLINF, SLPacket.TYPE_SLINFT):
                        continue
                    got, backoff = True, 1.0
                    trace = packet.get_trace()
                    self.last_seq[f"{trace.stats.network}.{trace.stats.station}"] = packet.get_sequence_number()
                    self.handle(trace)
            except Exception as exc:  # a server that vanished or spoke nonsense: reconnect, never die
                log.warning("SeedLink %s: %s: %s", self.address, type(exc).__name__, exc)
            finally:
                try:
                    conn.disconnect()
                except Exception:  # noqa: S110  (already gone)
                    pass
            if self.stopping.is_set():
                break
            self.stats.reconnects += 1
            self.stopping.wait(1.0 if got else backoff)
            backoff = min(60.0, backoff * 2)
        self.flush_health(force=True)
        return self.stats

    def handle(self, trace: object) -> None:
        s = trace.stats  # type: ignore[attr-defined]
        station = f"{s.network}.{s.station}"
        site = self.station_site.get(station)
        if site is None:
            return
        chosen = self.channel_of.get(station)  # one channel per station votes: the vertical if it comes
        if chosen is None or (not chosen.endswith("Z") and str(s.channel).endswith("Z")):
            if chosen is not None:  # the vertical arrived after all: start its station afresh on it
                site.detectors.pop(station, None)
                site.buffers.pop(station, None)
            self.channel_of[station] = chosen = str(s.channel)
        if s.channel != chosen:
            return
        self.stats.records += 1
        start, rate = float(s.starttime.timestamp), float(s.sampling_rate)
        data = np.asarray(trace.data, dtype=np.float64)  # type: ignore[attr-defined]
        now = time.time()
        self.last_seen[station] = now
        if start > now + CLOCK_AHEAD_SECONDS:
            self._health(station, "clock", {"ahead_seconds": round(start - now, 1)})
        before = self.last_end.get(station)
        if before is not None and start < before - CLOCK_JUMP_SECONDS:  # the detector restarts there too
            self._health(station, "clock", {"jumped_back_seconds": round(before - start, 1)})
        self.last_end[station] = max(before or start, start + len(data) / rate)
        declared, finished = site.feed(station, start, rate, data)
        for e in declared:
            self.stats.declared += 1
            self.stats.latencies.append(now - e.start)
            if self.on_declare:
                self.on_declare(e)
        for e in finished:
            self._store(site, e)
        self.flush_health()

    def _store(self, site: SiteWatch, e: Event) -> None:
        sensors = [self.sensors[st] for st in e.stations if st in self.sensors]
        waveform = site.waveform(e)
        with self.rt.db.write() as session:
            live = [session.merge(s, load=True) for s in sensors]
            row = alerts.record_event(session, e, site_key=site.site_key, site_id=site.site_id, sensors=live,
                                      waveform=waveform, min_score=self.rt.settings.seismic_alert_score)  # fmt: skip
            if row is not None:
                self.stats.events += 1
                self.stats.alerts += int(row.alert_id is not None)

    def _health(self, station: str, problem: str, detail: dict[str, object]) -> None:
        sensor = self.sensors.get(station)
        if sensor is None:
            return
        with self.rt.db.write() as session:
            alerts.health_problem(session, session.merge(sensor, load=True), problem, datetime.now(UTC), detail)

    def flush_health(self, force: bool = False) -> None:
        """Once a minute: note when each sensor last sent data, check flat/clipped traces, raise silent."""
        every = min(HEALTH_SECONDS, self.rt.settings.seismic_silent_minutes * 30)
        if not force and time.monotonic() - self.last_health < every:
            return
        self.last_health = time.monotonic()
        now = datetime.now(UTC)
        with self.rt.db.write() as session:
            for station, seen in self.last_seen.items():
                sensor = self.sensors.get(station)
                if sensor is None:
                    continue
                row = session.get(Sensor, sensor.id)
                if row is None:
                    continue
                row.last_data_at = datetime.fromtimestamp(seen, UTC)
                if time.time() - seen > self.rt.settings.seismic_silent_minutes * 60:
                    continue  # silent now: check_silent below raises it
                site = self.station_site[station]
                recent = [(r, d) for _, r, d in site.buffers.get(station, ())]
                problems = alerts.trace_problems(np.concatenate([d for _, d in recent]), recent[0][0]) if recent else []
                for p in problems:
                    alerts.health_problem(session, row, p, now, {})
                alerts.health_ok(session, row, tuple(p for p in ("silent", "flat", "clipped") if p not in problems))
            alerts.check_silent(session, now, self.rt.settings.seismic_silent_minutes)
            alerts.close_idle(session, now)


def _split(seed_id: str) -> tuple[str, str, str, str]:
    parts = seed_id.split(".")
    if len(parts) == 2:
        return parts[0], parts[1], "", ""
    if len(parts) != 4:
        raise SeismicError(f"stream {seed_id!r}: write NET.STA or NET.STA.LOC.CHA")
    return parts[0], parts[1], parts[2], parts[3]
