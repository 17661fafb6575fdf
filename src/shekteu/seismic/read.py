"""Opening recordings as hostile input: any format ObsPy reads, within size, sample and rate limits.

A file may be corrupt, claim 10⁹ samples in a header, say it was sampled at 0 Hz, be a gzip bomb or
not be a recording at all. Each of those is a ``SeismicError`` naming the file, and a batch goes on
with the next one. Compressed files are inflated here under a byte cap before ObsPy sees them.
Gaps and overlaps (a logger that lost power, a clock that jumped) split a channel into continuous
segments; detection restarts its filters at each one rather than smearing across the hole.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.seismic import SeismicError, need_extra

MAX_FILE_BYTES = 1 << 30  # 1 GiB: a day of 3-component 500 Hz Steim-2 data is about 200 MB
MAX_SAMPLES = 200_000_000  # per file, after decoding: 1.6 GB of float64 at worst
MIN_RATE, MAX_RATE = 1.0, 20_000.0
SKIP_SUFFIXES = {".md", ".txt", ".csv", ".xml", ".json", ".cff", ".html", ".pdf", ".png", ".py"}
_INFLATERS = {".gz": gzip.GzipFile, ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}


@dataclass
class Segment:
    """A continuous stretch of one channel: samples, rate and the time of the first sample."""

    seed_id: str  # NET.STA.LOC.CHA
    start: float  # POSIX seconds, UTC
    rate: float
    data: np.ndarray

    @property
    def station(self) -> str:
        return ".".join(self.seed_id.split(".")[:2])

    @property
    def end(self) -> float:
        return self.start + (len(self.data) - 1) / self.rate


def expand(paths: list[str]) -> list[Path]:
    """Files named, and the files inside folders named (recursively, sorted; notes and metadata skipped)."""
    out: list[Path] = []
    for name in paths:
        p = Path(name)
        if p.is_dir():
            out.extend(f for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() not in SKIP_SUFFIXES
                       and not f.name.startswith("."))  # fmt: skip
        elif p.exists():
            out.append(p)
        else:
            raise SeismicError(f"{name}: no such file or folder")
    return out


def _payload(path: Path, max_bytes: int) -> Any:
    """The file ObsPy should read: the path itself, or its inflated bytes (capped) if compressed."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SeismicError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit")
    if size == 0:
        raise SeismicError(f"{path}: empty file")
    inflate = _INFLATERS.get(path.suffix.lower())
    if inflate is None:
        return str(path)
    try:
        with inflate(path) as f:
            raw = f.read(max_bytes + 1)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise SeismicError(f"{path}: damaged {path.suffix} file ({exc})") from None
    if len(raw) > max_bytes:
        raise SeismicError(f"{path}: inflates past the {max_bytes:,}-byte limit (a compression bomb?)")
    return io.BytesIO(raw)


def read_stream(path: Path, *, max_bytes: int = MAX_FILE_BYTES, max_samples: int = MAX_SAMPLES) -> Any:
    """An ObsPy Stream of the file, checked: rates in range, samples under the cap, no NaNs."""
    need_extra()
    from obspy import read

    payload = _payload(path, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = read(payload, headonly=True)
            _check_claims(path, head, max_samples)
            if isinstance(payload, io.BytesIO):
                payload.seek(0)
            stream = read(payload)
    except SeismicError:
        raise
    except TypeError as exc:
        if "format" in str(exc).lower():
            raise SeismicError(f"{path}: not a seismic recording in any format ObsPy reads") from None
        raise SeismicError(f"{path}: unreadable ({exc})") from None
    except MemoryError:
        raise SeismicError(f"{path}: too large to decode") from None
    except Exception as exc:  # libmseed, SAC and the text readers raise what they like on damaged input
        said = " ".join(str(exc).split())[:160]
        raise SeismicError(f"{path}: damaged recording ({type(exc).__name__}: {said})") from None
    _check_claims(path, stream, max_samples)
    if not len(stream):
        raise SeismicError(f"{path}: holds no traces")
    return stream


def _check_claims(path: Path, stream: Any, max_samples: int) -> None:
    total = 0
    for tr in stream:
        rate = float(tr.stats.sampling_rate)
        if not MIN_RATE <= rate <= MAX_RATE or not np.isfinite(rate):
            raise SeismicError(f"{path}: {tr.id} says it was sampled at {rate:g} Hz "
                               f"(accepted: {MIN_RATE:g}-{MAX_RATE:g} Hz)")  # fmt: skip
        total += int(tr.stats.npts)
        if total > max_samples:
            raise SeismicError(f"{path}: claims {total:,}+ samples, over the {max_samples:,} limit")


def segments(stream: Any, *, source: str = "") -> list[Segment]:
    """Continuous segments per channel: overlaps resolved (later data wins), gaps split, NaN-free."""
    stream = stream.copy()
    try:
        stream.merge(method=1)  # overlapping samples: the later record's values
    except Exception as exc:  # differing rates or types for one id
        raise SeismicError(f"{source or 'stream'}: channels cannot be merged ({exc})") from None
    out = []
    for tr in stream.split():  # masked gaps become separate traces
        data = np.asarray(tr.data, dtype=np.float64)
        if not np.isfinite(data).all():
            raise SeismicError(f"{source or tr.id}: {tr.id} holds NaN or infinite samples")
        if len(data) < 2:
            continue
        out.append(Segment(tr.id, float(tr.stats.starttime.timestamp), float(tr.stats.sampling_rate), data))
    out.sort(key=lambda s: (s.seed_id, s.start))
    return out


def one_channel_per_station(segs: list[Segment]) -> list[Segment]:
    """The vertical channel of each station (``..Z``), or its first channel if none is vertical.

    Network coincidence counts stations, not channels: a three-component station must not vote
    three times."""
    by_station: dict[str, set[str]] = {}
    for s in segs:
        by_station.setdefault(s.station, set()).add(s.seed_id)
    chosen = {min(ids, key=lambda i: (not i.endswith("Z"), i)) for ids in by_station.values()}
    return [s for s in segs if s.seed_id in chosen]


def read_segments(paths: list[Path]) -> Iterator[tuple[Path, list[Segment] | SeismicError]]:
    """Each file's segments, or the error that stopped it (the caller reports it and goes on)."""
    for path in paths:
        try:
            yield path, segments(read_stream(path), source=str(path))
        except SeismicError as exc:
            yield path, exc
