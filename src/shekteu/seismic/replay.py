"""A SeedLink server that replays recordings: for drills, demos, tests and the benchmark.

It speaks SeedLink 3 as ringserver and SeisComP's seedlink do, enough for ObsPy's client and any
other: ``HELLO`` (two lines: server id and organisation), ``STATION sta net``, ``SELECT pattern``,
``DATA [seq]``, ``END`` (then the data flows: ``SL`` + six hex digits of sequence number + one 512-byte
MiniSEED record), ``BYE``. Records are cut from the files with ObsPy (Steim-2, 512 bytes) and sent in
time order: at the pace they were recorded (``speed`` 1, or faster), as fast as the client reads
(``speed`` 0), or — for data stamped as if recorded now — each when the wall clock passes its last
sample (``wall_clock``), as a live station would send it. ``drop_after`` closes each connection after
that many records, to exercise reconnection.
"""

from __future__ import annotations

import io
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import numpy as np

from shekteu.seismic.read import read_stream


@dataclass(frozen=True)
class Record:
    net: str
    sta: str
    loc: str
    cha: str
    start: float
    end: float
    raw: bytes  # 512 bytes of MiniSEED


def records(paths: list[Path], *, start_at: float | None = None) -> list[Record]:
    """512-byte Steim-2 records of every trace in ``paths``, in time order (``start_at`` moves them
    so the first begins then: a replay of 2010 data looks live)."""
    from obspy import Stream, read

    stream = Stream()
    for p in paths:
        stream += read_stream(p)
    shift = 0.0 if start_at is None else start_at - min(float(t.stats.starttime.timestamp) for t in stream)
    out = []
    for tr in stream:
        tr = tr.copy()
        tr.stats.starttime += shift
        tr.data = np.round(tr.data).astype(np.int32)
        buf = io.BytesIO()
        tr.write(buf, format="MSEED", reclen=512, encoding="STEIM2")
        raw = buf.getvalue()
        for i in range(0, len(raw), 512):
            chunk = raw[i : i + 512]
            rec = read(io.BytesIO(chunk), format="MSEED")[0]
            s = rec.stats
            out.append(Record(s.network, s.station, s.location, s.channel, float(s.starttime.timestamp),
                              float(s.endtime.timestamp) + s.delta, chunk))  # fmt: skip
    out.sort(key=lambda r: (r.end, r.net, r.sta, r.cha))
    return out


class _Handler(socketserver.StreamRequestHandler):
    server: ReplayServer

    def handle(self) -> None:
        stations: list[tuple[str, str, list[str]]] = []
        after = -1
        while True:
            line = self._line()
            if line is None:
                return
            words = line.split()
            if not words:
                continue
            cmd = words[0].upper()
            if cmd == "HELLO":
                self.wfile.write(b"SeedLink v3.1 (shekteu replay) :: SLPROTO:3.1\r\nshekteu\r\n")
            elif cmd == "STATION" and len(words) >= 3:
                stations.append((words[2], words[1], []))
                self.wfile.write(b"OK\r\n")
            elif cmd == "SELECT" and stations:
                stations[-1][2].append(words[1] if len(words) > 1 else "*")
                self.wfile.write(b"OK\r\n")
            elif cmd in ("DATA", "FETCH"):
                if len(words) > 1:
                    try:
                        after = int(words[1], 16)
                    except ValueError:
                        after = -1
                self.wfile.write(b"OK\r\n")
            elif cmd == "END":
                self._stream(stations, after)
                return
            elif cmd == "BYE":
                return
            else:
                self.wfile.write(b"ERROR\r\n")

    def _line(self) -> str | None:
        """One command: clients end them with CR (ObsPy), LF or CR LF; at most 512 bytes."""
        buf = bytearray()
        while len(buf) < 512:
            c = self.rfile.read(1)
            if not c:
                return None
            if c in b"\r\n":
                if buf:
                    return buf.decode("ascii", "replace")
                continue
            buf += c
        return buf.decode("ascii", "replace")

    def _stream(self, stations: list[tuple[str, str, list[str]]], after: int) -> None:
        srv = self.server
        t0 = time.monotonic()
        first = srv.records[0].end if srv.records else 0.0
        sent = 0
        for seq, rec in enumerate(srv.records):
            if seq <= after or not _wanted(rec, stations):
                continue
            if srv.wall_clock:  # stamped as live: out when its last sample has been "recorded"
                wait = rec.end - time.time()
                if wait > 0 and srv.stopping.wait(wait):
                    return
            elif srv.speed:
                wait = (rec.end - first) / srv.speed - (time.monotonic() - t0)
                if wait > 0 and srv.stopping.wait(wait):
                    return
            if srv.stopping.is_set():
                return
            try:
                self.wfile.write(b"SL%06X" % (seq % 0x1000000) + rec.raw)
                self.wfile.flush()
            except OSError:
                return
            sent += 1
            srv.sent += 1
            if srv.drop_after and sent >= srv.drop_after:
                srv.drops += 1
                return
        srv.finished.set()
        srv.stopping.wait()  # the stream ended: keep the connection open, as a live server would


def _wanted(rec: Record, stations: list[tuple[str, str, list[str]]]) -> bool:
    for net, sta, selectors in stations:
        if rec.net == net and rec.sta == sta:
            return not selectors or any(fnmatch(f"{rec.loc}{rec.cha}", s.replace("?", "?")) or
                                        fnmatch(rec.cha, s) for s in selectors)  # fmt: skip
    return False


class ReplayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, recs: list[Record], *, host: str = "127.0.0.1", port: int = 0, speed: float = 0.0,
                 drop_after: int = 0, wall_clock: bool = False) -> None:  # fmt: skip
        super().__init__((host, port), _Handler)
        self.records, self.speed, self.drop_after, self.wall_clock = recs, speed, drop_after, wall_clock
        self.stopping, self.finished = threading.Event(), threading.Event()
        self.sent = self.drops = 0

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> ReplayServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="seedlink-replay").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def reachable(address: str, timeout: float = 2.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False
