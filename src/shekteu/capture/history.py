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


MAX_DIFF_LINES = 200


def _host(url: str | None) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url or "").hostname or "").removeprefix("www.")


def _up(c: Capture) -> bool:
    return c.error is None and c.status is not None and c.status < 400


def timeline(session: Session, url: str, limit: int = 200) -> list[dict[str, Any]]:
    """A URL's snapshots oldest first, each with what happened since the one before: ``first``,
    ``changed`` / ``same``, ``down`` (an error or HTTP ≥ 400 after a good one), ``back``, ``moved``
    (its redirects now end on another host: a mirror or a new domain) — and the text diff."""
    import difflib

    rows = list(reversed(list_captures(session, url, limit)))
    out, before = [], None
    for c in rows:
        events: list[str] = []
        diff: list[str] = []
        if before is None:
            events.append("first")
        else:
            if _up(before) and not _up(c):
                events.append("down")
            elif not _up(before) and _up(c):
                events.append("back")
            if _up(c) and _host(c.final_url or c.url) != _host(before.final_url or before.url):
                events.append("moved")
            if _up(c) and _up(before):
                events.append("changed" if (c.sha256, c.status) != (before.sha256, before.status) else "same")
                if (c.text or "") != (before.text or ""):
                    diff = list(difflib.unified_diff((before.text or "").splitlines(), (c.text or "").splitlines(),
                                                     f"capture {before.id}", f"capture {c.id}", lineterm="", n=1))  # fmt: skip
        out.append({"id": c.id, "fetched_at": c.fetched_at.isoformat(), "status": c.status, "error": c.error,
                    "final_url": c.final_url, "sha256": c.sha256, "events": events,
                    "diff": diff[:MAX_DIFF_LINES], "diff_truncated": len(diff) > MAX_DIFF_LINES})  # fmt: skip
        before = c
    return out
