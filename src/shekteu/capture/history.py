"""Reading captures back: a URL's snapshots over time, as rows and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu.capture.web import normalise_url
from shekteu.db.tables import Capture


def list_captures(session: Session, url: str | None = None, limit: int = 50) -> list[Capture]:
    query = select(Capture).order_by(Capture.id.desc()).limit(limit)
    if url:
        query = query.where(Capture.url == normalise_url(url))
    return list(session.scalars(query))


def capture_json(c: Capture, data_dir: Path) -> dict[str, Any]:
    return {
        "id": c.id,
        "url": c.url,
        "final_url": c.final_url,
        "status": c.status,
        "fetched_at": c.fetched_at.isoformat(),
        "sha256": c.sha256,
        "warc": str(data_dir.resolve() / c.warc_file) if c.warc_file else None,
        "warc_offset": c.warc_offset,
        "title": c.title,
        "lang": c.lang,
        "text_chars": len(c.text or ""),
        "error": c.error,
        "previous_id": c.previous_id,
        "changed": c.changed,
        "truncated": c.truncated,
    }
