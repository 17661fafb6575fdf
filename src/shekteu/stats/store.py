"""The statistics store: documents and their figures, written once, every addition audited.

A release is keyed by the SHA-256 of its text, an imported table by that of its bytes, the platform's
own count by that of the figures it computed; a figure by its document, measure, value, unit,
substance, region, period and span. So adding the same releases, table or count again adds nothing,
and a crash mid-way leaves nothing half-written (one transaction per call).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.stats_tables import StatFigure, StatSource
from shekteu.stats import StatsError
from shekteu.stats.extract import extract, measures

UNITS = ("count", "t", "kg", "g", "l", "ha", "KZT", "USD", "pct", "ratio", "doses")
BASE = {"t": 1000.0, "kg": 1.0, "g": 0.001}


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def period_bounds(period: str | None) -> tuple[str | None, str | None]:
    """("2025-06-01", "2025-10-31") for an ISO interval, the whole year for "2025", else (None, None)."""
    if not period:
        return None, None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})", period.strip())
    if m:
        return m.group(1), m.group(2)
    m = re.fullmatch(r"(\d{4})", period.strip())
    if m:
        return f"{m.group(1)}-01-01", f"{m.group(1)}-12-31"
    m = re.fullmatch(r"(\d{4})-(\d{2})", period.strip())
    if m:
        return f"{m.group(1)}-{m.group(2)}-01", f"{m.group(1)}-{m.group(2)}-28"
    return None, None


def _source(session: Session, *, kind: str, digest: str, actor: str, **fields: Any) -> tuple[StatSource, bool]:
    known = session.scalar(select(StatSource).where(StatSource.sha256 == digest))
    if known is not None:
        return known, False
    row = StatSource(sha256=digest, kind=kind, created_by=actor, **fields)
    try:
        with session.begin_nested():  # two people adding one release at once: the second finds the first's
            session.add(row)
            session.flush()
    except IntegrityError:
        return session.scalars(select(StatSource).where(StatSource.sha256 == digest)).one(), False
    return row, True


def check_figure(f: dict[str, Any], where: str) -> dict[str, Any]:
    """A figure with a known measure and unit and a number for its value; StatsError naming ``where``."""
    measure = str(f.get("measure") or "").strip()
    if measure not in measures():
        raise StatsError(f"{where}: unknown measure {measure!r} (add it to stats/data/measures.tsv or map it)")
    unit = str(f.get("unit") or "count").strip()
    if unit not in UNITS:
        raise StatsError(f"{where}: unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    try:
        value = float(str(f.get("value")).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except ValueError:
        raise StatsError(f"{where}: value {f.get('value')!r} is not a number") from None
    if value != value or value < 0 or value > 1e15:
        raise StatsError(f"{where}: value {value} is out of range")
    return {**f, "measure": measure, "unit": unit, "value": value}


def add_figures(session: Session, source: StatSource, figures: list[dict[str, Any]]) -> int:
    added = 0
    for f in figures:
        key = sha256(json.dumps([source.id, f["measure"], f["value"], f["unit"], f.get("substance"), f.get("region"),
                                 f.get("period"), f.get("start")], ensure_ascii=False))  # fmt: skip
        if session.scalar(select(StatFigure.id).where(StatFigure.key == key)) is not None:
            continue
        start, end = period_bounds(f.get("period"))
        session.add(StatFigure(source_id=source.id, key=key, measure=f["measure"], value=f["value"], unit=f["unit"],
                               base=f["value"] * BASE.get(f["unit"], 1.0), period=f.get("period"), period_start=start,
                               period_end=end, region=f.get("region") or "KZ", substance=f.get("substance"),
                               qualifier=f.get("qualifier"), scope=f.get("scope"), span_start=f.get("start"),
                               span_end=f.get("end")))  # fmt: skip
        added += 1
    session.flush()
    return added


def add_release(session: Session, record: dict[str, Any], *, actor: str) -> tuple[StatSource, int]:
    """Store one release ({"id","text"} and optional date, source/url, outlet, lang, release_group) with
    the figures extracted from it; (its source row, figures added)."""
    text = record["text"]
    src, new = _source(session, kind="release", digest=sha256(text), actor=actor, name=str(record.get("id") or text[:80]),
                       text=text, url=record.get("source") or record.get("url"), outlet=record.get("outlet"),
                       lang=record.get("lang"), released_on=(str(record["date"])[:10] if record.get("date") else None),
                       release_group=record.get("release_group"))  # fmt: skip
    if not new:
        return src, 0
    added = add_figures(session, src, [f.as_json() for f in extract(text, record.get("date"))])
    audit.record(session, "stats.add", f"stat_source:{src.id}", actor=actor, reason="release added",
                 detail={"name": src.name, "figures": added})  # fmt: skip
    return src, added


def figures_of(session: Session, *, measure: str | None = None, region: str | None = None,
               start: str | None = None, end: str | None = None) -> list[tuple[StatFigure, StatSource]]:  # fmt: skip
    """Stored figures with their sources; a period filter keeps figures whose period overlaps it."""
    q = select(StatFigure, StatSource).join(StatSource, StatSource.id == StatFigure.source_id)
    if measure:
        q = q.where(StatFigure.measure == measure)
    if region:
        q = q.where(StatFigure.region == region)
    if start:
        q = q.where((StatFigure.period_end.is_(None)) | (StatFigure.period_end >= start))
    if end:
        q = q.where((StatFigure.period_start.is_(None)) | (StatFigure.period_start <= end))
    return [(f, s) for f, s in session.execute(q.order_by(StatFigure.period_start, StatFigure.id))]


def figure_json(f: StatFigure, s: StatSource) -> dict[str, Any]:
    return {"id": f.id, "measure": f.measure, "value": f.value, "unit": f.unit, "base": f.base, "period": f.period,
            "region": f.region, "substance": f.substance, "qualifier": f.qualifier, "scope": f.scope,
            "source": {"id": s.id, "kind": s.kind, "name": s.name, "url": s.url, "outlet": s.outlet,
                       "date": s.released_on, "sha256": s.sha256},
            "span": [f.span_start, f.span_end] if s.kind == "release" and f.span_start is not None else None,
            "headline_end": s.text.find("\n") if s.text and "\n" in s.text.strip() else 0,
            "as_written": s.text[f.span_start : f.span_end] if s.text and f.span_start is not None else None}  # fmt: skip
