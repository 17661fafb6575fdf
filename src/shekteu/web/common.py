"""What the web routes share: the runtime, templates, upload limits, form decoding."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import Request, UploadFile

from shekteu.runtime import Runtime, hash_key
from shekteu.tips.intake import TipError
from shekteu.tips.privacy import pseudonym
from shekteu.wording import N_


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@lru_cache(maxsize=1)
def templates() -> Any:
    from fastapi.templating import Jinja2Templates

    t = Jinja2Templates(directory=str(resources.files("shekteu.web").joinpath("templates")))
    t.env.filters["readable"] = readable
    t.env.filters["localtime"] = localtime
    return t


LOCAL_OFFSET_HOURS = 5  # Kazakhstan keeps one time zone, UTC+5, since March 2024


def localtime(iso: str | None) -> str:
    """An ISO UTC time as Kazakhstan's local time, to the minute (``2026-12-02 06:12``)."""
    from datetime import datetime, timedelta

    if not iso:
        return "–"
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)[:16]
    utc = moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))  # naive times are UTC already
    return (utc + timedelta(hours=LOCAL_OFFSET_HOURS)).strftime("%Y-%m-%d %H:%M")


def readable(detail: Any) -> list[tuple[str, str]]:
    """An audit entry's detail as (key, value) text in the letters it was written in (no \\u escapes);
    the template escapes both."""
    import json

    if not isinstance(detail, dict):
        return [("", json.dumps(detail, ensure_ascii=False, default=str))] if detail not in (None, "", {}) else []
    return [(str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
            for k, v in detail.items()]  # fmt: skip


def client_id(request: Request) -> str:
    """A stable id for an anonymous web reporter (their address, hashed at once; used for rate limits)."""
    host = request.client.host if request.client else "unknown"
    return "ip:" + pseudonym(hash_key(runtime(request).settings), "web-client", host)


async def read_upload(upload: UploadFile | None, limit: int) -> bytes | None:
    """The uploaded file, read no further than ``limit`` bytes (an empty field is None)."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TipError(N_("the photo is larger than {limit} bytes"), limit=limit)
    return data or None


def form_text(value: str, content_type: str | None) -> str:
    """A urlencoded field as the client meant it. Some clients send raw UTF-8 (or the charset they
    declare) instead of percent-escapes, and the form parser reads such bytes as Latin-1
    ("Ð¼Ð°Ð³…" for "маг…"): when the value is all Latin-1 and its bytes decode in the declared
    charset (UTF-8 when none), that decoding is what was sent."""
    if not value or max(value) < "\x80" or max(value) > "\xff":
        return value
    found = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    try:
        return value.encode("latin-1").decode(found.group(1) if found else "utf-8")
    except (UnicodeDecodeError, LookupError):
        return value

