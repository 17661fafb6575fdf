"""Import of Telegram Desktop JSON exports (``result.json``) as items.

Analysts export channels and chats with Telegram Desktop ("Export chat history", JSON). Both a
single-chat export and a whole-account export (``chats.list``) are read. Message text comes either as
a string or as a list of plain strings and entity objects; it is flattened, and ``text_link`` targets
(the URL behind a word) are kept as links — shops hide their bot and site links exactly there.
Exports carry no channel username, so posts are keyed ``c/<chat id>`` (Telegram's private-link form)
unless the analyst names the channel, which lets them deduplicate against t.me/s captures.

The export file itself goes to the evidence store, and its hash into the audit log. Photos and files
the export carries are copied into the evidence store too (a path may not leave the export folder;
size-limited); each media entry records its path, SHA-256 and, for images, a perceptual hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shekteu import audit
from shekteu.capture.telegram_web import PUBLIC_BASE, channel_name
from shekteu.db.ops_tables import Job
from shekteu.items import TELEGRAM_POST, ItemData, add_item
from shekteu.queue import handoffs
from shekteu.runtime import Runtime
from shekteu.text.clean import clean_text, is_clean
from shekteu.text.language import detect_language

MAX_EXPORT_BYTES = 2_000_000_000
MAX_MEDIA_BYTES = 50_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
BATCH = 500
MAX_POST_ID = 2**63  # message ids are stored as 64-bit integers


class ExportError(ValueError):
    """The file is not a readable Telegram Desktop JSON export; the message says why."""


@dataclass
class ImportSummary:
    items: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    flagged: int = 0  # new items the detector labels sale or recruit
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "new": self.new, "duplicates": self.duplicates, "skipped": self.skipped,
                "flagged": self.flagged}  # fmt: skip


def flatten_text(value: Any) -> tuple[str, list[str]]:
    """Export `text` (string or list of strings/entities) → (plain text, links in order)."""
    if isinstance(value, str):
        return value, []
    if not isinstance(value, list):
        return "", []
    parts: list[str] = []
    links: dict[str, None] = {}
    for piece in value:
        if isinstance(piece, str):
            parts.append(piece)
        elif isinstance(piece, dict):
            text = piece.get("text")
            parts.append(text if isinstance(text, str) else "")
            kind = piece.get("type")
            if kind == "text_link" and isinstance(piece.get("href"), str):
                links[piece["href"]] = None
            elif kind == "link" and isinstance(text, str):
                links[text] = None
    return "".join(parts), list(links)


def _date(message: dict[str, Any]) -> datetime | None:
    unix = message.get("date_unixtime")
    if isinstance(unix, str | int) and not isinstance(unix, bool) and str(unix).isdigit() and len(str(unix)) <= 12:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (OverflowError, OSError, ValueError):
            return None  # a date past what a datetime holds: no date rather than a crash
    raw = message.get("date")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return None
        # Older exports give local time without a zone; we cannot know it, so read it as UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _chats(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        yield data
        return
    if isinstance(data, dict):
        found = False
        for section in ("chats", "left_chats"):
            listing = data.get(section)
            if isinstance(listing, dict) and isinstance(listing.get("list"), list):
                for chat in listing["list"]:
                    if isinstance(chat, dict) and isinstance(chat.get("messages"), list):
                        found = True
                        yield chat
        if found:
            return
    raise ExportError("not a Telegram Desktop export: no 'messages' list and no 'chats.list'")


def _chat_key(chat: dict[str, Any], channel: str | None) -> tuple[str, str]:
    """(channel key used in item keys, permalink base)."""
    if channel:
        name = channel_name(channel)
        return name, f"{PUBLIC_BASE}/{name}"
    chat_id = chat.get("id")
    if not isinstance(chat_id, int):
        raise ExportError("chat has no numeric 'id'; pass --channel NAME")
    bare = str(chat_id).removeprefix("-100").lstrip("-")
    return f"c/{bare}", f"{PUBLIC_BASE}/c/{bare}"


def read_posts(data: Any, channel: str | None, summary: ImportSummary) -> Iterator[ItemData]:
    for chat in _chats(data):
        key, base = _chat_key(chat, channel)
        for message in chat["messages"]:
            if not isinstance(message, dict) or message.get("type", "message") != "message":
                continue
            post_id = message.get("id")
            if not isinstance(post_id, int) or isinstance(post_id, bool) or not 0 < post_id < MAX_POST_ID:
                summary.skipped += 1
                summary.problems.append(f"message without a valid id: {str(message)[:80]}")
                continue
            text, links = flatten_text(message.get("text"))
            text, links = clean_text(text), [clean_text(link) for link in links]
            media = [
                message[name] for name in ("photo", "file", "thumbnail") if isinstance(message.get(name), str)
            ]
            yield ItemData(
                kind=TELEGRAM_POST,
                key=f"{key}/{post_id}",
                url=f"{base}/{post_id}",
                source="telegram_export",
                text=text,
                channel=key,
                post_id=post_id,
                published_at=_date(message),
                lang=detect_language(text),
                links=links,
                media=media,
            )


def store_media(rt: Runtime, root: Path, rel: str, seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Copy one referenced file into the evidence store; the entry says what happened."""
    if rel in seen:
        return seen[rel]
    entry: dict[str, Any] = {"path": clean_text(rel), "sha256": None}
    if not is_clean(rel):
        entry["error"] = "the path has control characters or broken Unicode"
        seen[rel] = entry
        return entry
    target = (root / rel).resolve()
    if rel.startswith("(") or not rel.strip():
        entry["error"] = (
            "not included in the export"  # "(File not included. Change data exporting settings…)"
        )
    elif not target.is_relative_to(root.resolve()):
        entry["error"] = "path leaves the export folder"
    elif not target.is_file():
        entry["error"] = "file missing from the export"
    elif target.stat().st_size > MAX_MEDIA_BYTES:
        entry["error"] = f"larger than {MAX_MEDIA_BYTES} bytes"
    else:
        data = target.read_bytes()[: MAX_MEDIA_BYTES + 1]
        entry.update(sha256=rt.store.put_blob(data), bytes=len(data))
        if target.suffix.lower() in IMAGE_SUFFIXES:
            from shekteu.images import ImageError, dhash

            try:
                entry["dhash"] = f"{dhash(data):016x}"
            except ImageError as exc:
                entry["error"] = str(exc)
    seen[rel] = entry
    return entry


def load_export(path: Path) -> tuple[Any, bytes]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        path = path / "result.json"
        return load_export(path)
    if size > MAX_EXPORT_BYTES:
        raise ExportError(f"{path} is {size} bytes, more than the {MAX_EXPORT_BYTES}-byte limit")
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig")), raw
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ExportError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ExportError(f"{path} is nested too deeply to be a Telegram export") from None


def import_export(rt: Runtime, path: Path, *, channel: str | None = None, wait: bool = True) -> ImportSummary:
    """Import every message; a rerun (or an interrupted run resumed) adds only what is missing. Each
    batch's analysis is queued with it; with ``wait`` those jobs are run (or waited for) here."""
    data, raw = load_export(path)
    summary = ImportSummary()
    posts = read_posts(data, channel, summary)
    digest = rt.store.put_blob(raw)
    root = path if path.is_dir() else path.parent
    seen: dict[str, dict[str, Any]] = {}
    jobs: list[int] = []
    while True:
        batch = [p for _, p in zip(range(BATCH), posts, strict=False)]
        if not batch:
            break
        for post in batch:
            post.media = [store_media(rt, root, m, seen) for m in post.media or []]
        with rt.db.write() as session:
            ids, new = [], 0
            for post in batch:
                item_id, created = add_item(session, post)
                ids.append(item_id)
                new += created
            summary.items += len(batch)
            summary.new += new
            summary.duplicates += len(batch) - new
            jobs.extend(handoffs.items_stored(session, ids))
            # Each batch says what it added, with it: an import killed halfway leaves its record.
            audit.record(session, "telegram.import_batch", f"file:{path.name}", reason="export imported",
                         detail={"sha256": digest, "items": len(batch), "new": new,
                                 "item_ids": [min(ids), max(ids)]})  # fmt: skip
    with rt.db.write() as session:
        audit.record(
            session,
            "telegram.import_export",
            f"file:{path.name}",
            detail={"sha256": digest, **summary.as_json()},
        )
    if wait and jobs:
        from shekteu.queue.worker import run_jobs

        run_jobs(rt, jobs)
        summary.flagged = flagged(rt, jobs)
    return summary


def flagged(rt: Runtime, jobs: list[int]) -> int:
    """Items the analysis jobs found drug-positive."""
    with rt.db.read() as session:
        results = session.scalars(select(Job.result).where(Job.id.in_(jobs), Job.state == "done")).all()
    return sum(int((r or {}).get("positive", 0)) for r in results)
