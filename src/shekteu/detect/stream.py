"""JSON Lines in, JSON Lines out, for ``shekteu classify`` and ``shekteu indicators``.

Input comes from files or pipes of any size and any quality: each line is read with a length
limit (a 1 GB line costs no more memory than a 1 MB one), checked (empty, too long, binary,
invalid UTF-8, JSON without a string ``text``), and a bad line produces its own output line with
an ``error`` field while the run goes on. Good lines are processed in batches, which the
classifier's vectorised fast path needs, and results come out in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from shekteu.detect.language import quick_language
from shekteu.detect.model import Detector
from shekteu.indicators.extract import CardPolicy
from shekteu.indicators.extract import extract as extract_indicators

MAX_LINE = 1_000_000  # bytes; longer lines are reported, not read into memory
BATCH = 512
_CHUNK = 1 << 16


@dataclass
class Record:
    line: int
    id: Any = None
    text: str | None = None
    error: str | None = None


def _read_line(stream: IO[bytes]) -> tuple[bytes, bool] | None:
    """The next line without its newline and whether it was cut at MAX_LINE (the rest is skipped)."""
    data = stream.readline(MAX_LINE + 1)
    if not data:
        return None
    if len(data) > MAX_LINE and not data.endswith(b"\n"):
        while True:  # skip the rest of the line in bounded chunks
            rest = stream.readline(_CHUNK)
            if not rest or rest.endswith(b"\n"):
                break
        return data, True
    return data.rstrip(b"\r\n"), False


def _binary(text: str) -> bool:
    return "\x00" in text or sum(1 for ch in text[:4096] if ch < " " and ch not in "\t\n\r\f\v") > 8


def records(stream: IO[bytes]) -> Iterator[Record]:
    number = 0
    while (read := _read_line(stream)) is not None:
        number += 1
        data, cut = read
        if cut:
            yield Record(number, error=f"line longer than {MAX_LINE} bytes")
            continue
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(number, error=f"invalid UTF-8 at byte {exc.start}")
            continue
        if not raw.strip():
            yield Record(number, error="empty line")
            continue
        record = _parse(number, raw)
        if record.error is None and record.text is not None and _binary(record.text):
            record.error, record.text = "binary data, not text", None
        yield record


def _parse(number: int, raw: str) -> Record:
    stripped = raw.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return Record(number, text=raw)  # not JSON after all: raw text that starts with a brace
        if not isinstance(obj, dict):
            return Record(number, text=raw)
        text = obj.get("text")
        ident = obj.get("id")
        if ident is not None and not isinstance(ident, str | int | float):
            ident = json.dumps(ident, ensure_ascii=False)
        if not isinstance(text, str):
            return Record(number, ident, error="JSON line without a string 'text' field")
        if not text.strip():
            return Record(number, ident, error="empty text")
        return Record(number, ident, text=text)
    return Record(number, text=raw)


def _batches(items: Iterable[Record]) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in items:
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _error(record: Record) -> dict[str, Any]:
    return {"id": record.id, "line": record.line, "error": record.error}


def classify_lines(stream: IO[bytes], detector: Detector, policy: CardPolicy) -> Iterator[dict[str, Any]]:
    for batch in _batches(records(stream)):
        good = [r for r in batch if r.error is None]
        verdicts = iter(detector.classify([r.text or "" for r in good]))
        for record in batch:
            if record.error is not None:
                yield _error(record)
                continue
            text = record.text or ""
            verdict = next(verdicts)
            yield {
                "id": record.id, "line": record.line, "label": verdict.label, "score": verdict.score,
                "lang": quick_language(text), "terms": [t.as_json() for t in verdict.terms],
                "indicators": [i.as_json(spans=False) for i in extract_indicators(text, policy)],
                "model": detector.version,
            }  # fmt: skip


def indicator_lines(stream: IO[bytes], policy: CardPolicy) -> Iterator[dict[str, Any]]:
    for record in records(stream):
        if record.error is not None:
            yield _error(record)
            continue
        found = extract_indicators(record.text or "", policy)
        yield {"id": record.id, "line": record.line, "indicators": [i.as_json() for i in found]}
