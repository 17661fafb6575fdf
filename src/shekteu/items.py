"""Items: the units later stages classify (web pages, Telegram posts; later photos and tips).

An item is identified by (kind, key) — a page by its URL, a post by ``channel/post_id`` — and is
inserted with ON CONFLICT DO NOTHING, so importing or capturing the same thing twice, or from two
processes at once, never makes a second row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shekteu.db.tables import Item, utcnow
from shekteu.text.clean import clean_text

WEB_PAGE = "web_page"
TELEGRAM_POST = "telegram_post"


@dataclass
class ItemData:
    kind: str
    key: str
    url: str
    source: str
    text: str = ""
    title: str | None = None
    channel: str | None = None
    post_id: int | None = None
    published_at: datetime | None = None
    lang: str | None = None
    links: list[str] | None = None
    media: list[str] | None = None
    views: int | None = None
    capture_id: int | None = None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _insert(session: Session) -> Any:
    return _insert_for(session.get_bind().dialect.name)


def _insert_for(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert


@lru_cache(maxsize=4)
def _add_statement(dialect: str) -> Any:
    # Built once, the values passed as parameters: building it per item was most of add_item's CPU.
    table = Item.__table__
    return _insert_for(dialect)(table).on_conflict_do_nothing(index_elements=["kind", "key"]).returning(table.c.id)


def add_item(session: Session, data: ItemData, *, refresh: bool = False) -> tuple[int, bool]:
    """Insert the item unless (kind, key) exists; returns (id, created).

    With ``refresh``, an existing item takes the new content (a re-captured page); otherwise only
    its last-seen time and view count move (a post seen again).
    """
    now = utcnow()
    data.text, data.title = clean_text(data.text), clean_text(data.title) if data.title else data.title
    values = {
        "kind": data.kind,
        "key": data.key,
        "url": data.url,
        "source": data.source,
        "text": data.text,
        "title": data.title,
        "channel": data.channel,
        "post_id": data.post_id,
        "published_at": data.published_at,
        "lang": data.lang,
        "links": data.links or [],
        "media": data.media or [],
        "views": data.views,
        "capture_id": data.capture_id,
        "text_sha256": text_hash(data.text),
        "first_seen_at": now,
        "last_seen_at": now,
    }
    new_id = session.connection().scalar(_add_statement(session.get_bind().dialect.name), values)
    if new_id is not None:
        return new_id, True
    item = session.scalars(select(Item).where(Item.kind == data.kind, Item.key == data.key)).one()
    item.last_seen_at = now
    if data.views is not None:
        item.views = data.views
    if refresh:
        for name in ("url", "text", "title", "lang", "links", "media", "capture_id", "text_sha256"):
            setattr(item, name, values[name])
    return item.id, False


def latest_post_id(session: Session, channel: str) -> int | None:
    return session.scalar(
        select(func.max(Item.post_id)).where(Item.kind == TELEGRAM_POST, Item.channel == channel)
    )


def list_items(session: Session, limit: int = 50, kind: str | None = None) -> list[Item]:
    query = select(Item).order_by(Item.id.desc()).limit(limit)
    if kind:
        query = query.where(Item.kind == kind)
    return list(session.scalars(query))


def item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "url": item.url,
        "channel": item.channel,
        "post_id": item.post_id,
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "title": item.title,
        "text": item.text,
        "lang": item.lang,
        "links": item.links,
        "media": item.media,
        "views": item.views,
        "source": item.source,
        "capture_id": item.capture_id,
        "first_seen_at": item.first_seen_at.isoformat(),
    }
