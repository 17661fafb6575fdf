"""Public Telegram channels through their web preview (``t.me/s/<channel>``), page by page.

Each preview page is captured like any web page (WARC, hash) — the page is the evidence — and its
posts become items with the permalink ``https://t.me/<channel>/<id>``. Paging goes backwards with
``?before=<oldest id>``; a run stops at the first page that reaches posts already stored, so the
next run reads only what is new. The preview's base URL is a setting so tests can serve the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from shekteu import audit
from shekteu.capture.fetch import Fetcher
from shekteu.capture.web import CaptureOutcome, capture_url
from shekteu.items import TELEGRAM_POST, ItemData, add_item, latest_post_id
from shekteu.queue import handoffs
from shekteu.runtime import Runtime
from shekteu.text.html import decode_body
from shekteu.text.language import detect_language

PUBLIC_BASE = "https://t.me"
CHANNEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_BG_URL = re.compile(r"background-image\s*:\s*url\(['\"]?([^'\")]+)['\"]?\)")


class ChannelError(ValueError):
    """The channel name is not valid, or the channel has no public preview."""


@dataclass
class TelegramPost:
    channel: str
    post_id: int
    date: datetime | None
    text: str
    links: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    views: int | None = None

    @property
    def permalink(self) -> str:
        return permalink(self.channel, self.post_id)

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "post_id": self.post_id,
            "permalink": self.permalink,
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "links": self.links,
            "media": self.media,
            "views": self.views,
        }


def permalink(channel: str, post_id: int) -> str:
    return f"{PUBLIC_BASE}/{channel}/{post_id}"


def channel_name(raw: str) -> str:
    """`@name`, `name`, `t.me/name`, `https://t.me/s/name/123` → `name` (lower case)."""
    value = raw.strip()
    if "/" in value:
        path = urlsplit(value if "://" in value else "https://" + value).path
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "s":
            parts = parts[1:]
        value = parts[0] if parts else ""
    value = value.lstrip("@")
    if not CHANNEL_RE.match(value):
        raise ChannelError(f"not a public Telegram channel name: {raw!r}")
    return value.lower()


def parse_views(text: str) -> int | None:
    """'1.2K' → 1200, '3M' → 3000000, '845' → 845."""
    text = text.strip().upper().replace(",", ".")
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    try:
        return int(float(number) * scale)
    except ValueError:
        return None


def parse_subscribers(html: str) -> int | None:
    """The channel's subscriber count from the page header ('12.3K subscribers'), if shown."""
    for counter in LexborHTMLParser(html).css(".tgme_channel_info_counter"):
        kind, value = counter.css_first(".counter_type"), counter.css_first(".counter_value")
        if kind is not None and value is not None and kind.text().strip().lower().startswith("subscriber"):
            return parse_views(value.text())
    return None


def _message_text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    html = node.html or ""
    # <br> are the post's line breaks; selectolax text() would drop them.
    inner = LexborHTMLParser(re.sub(r"<br\s*/?>", "\n", html, flags=re.IGNORECASE))
    body = inner.body
    return (body.text(separator="") if body is not None else "").strip()


def parse_page(html: str, page_url: str) -> list[TelegramPost]:
    """Posts on one t.me/s page, oldest first, as Telegram lays them out."""
    tree = LexborHTMLParser(html)
    posts = []
    for node in tree.css("div.tgme_widget_message[data-post]"):
        ref = node.attributes.get("data-post") or ""
        name, _, number = ref.rpartition("/")
        if not number.isdigit() or not name:
            continue
        text_node = node.css_first(".tgme_widget_message_text")
        links: dict[str, None] = {}
        if text_node is not None:
            for a in text_node.css("a[href]"):
                href = (a.attributes.get("href") or "").strip()
                if href and not href.startswith("#"):
                    links[urljoin(page_url, href)] = None
        media: dict[str, None] = {}
        for m in node.css(
            ".tgme_widget_message_photo_wrap, .tgme_widget_message_video_thumb, i.link_preview_image"
        ):
            found = _BG_URL.search(m.attributes.get("style") or "")
            if found:
                media[found.group(1)] = None
        for v in node.css("video[src]"):
            media[v.attributes.get("src") or ""] = None
        time_node = node.css_first("time[datetime]")
        date = None
        if time_node is not None:
            try:
                date = datetime.fromisoformat(time_node.attributes.get("datetime") or "").astimezone(UTC)
            except ValueError:
                date = None
        views_node = node.css_first(".tgme_widget_message_views")
        posts.append(
            TelegramPost(
                channel=name.lower(),
                post_id=int(number),
                date=date,
                text=_message_text(text_node),
                links=list(links),
                media=[m for m in media if m],
                views=parse_views(views_node.text()) if views_node is not None else None,
            )
        )
    return posts


@dataclass
class ChannelRun:
    channel: str
    pages: int = 0
    new_posts: list[TelegramPost] = field(default_factory=list)
    seen: int = 0
    captures: list[CaptureOutcome] = field(default_factory=list)
    error: str | None = None
    subscribers: int | None = None


def _store_posts(rt: Runtime, posts: list[TelegramPost], capture_id: int, jobs: list[int]) -> list[TelegramPost]:
    """Insert the posts in one transaction, queueing their analysis; returns those that were new."""
    new, ids = [], []
    with rt.db.write() as session:
        for post in posts:
            item_id, created = add_item(
                session,
                ItemData(
                    kind=TELEGRAM_POST,
                    key=f"{post.channel}/{post.post_id}",
                    url=post.permalink,
                    source="telegram_web",
                    text=post.text,
                    channel=post.channel,
                    post_id=post.post_id,
                    published_at=post.date,
                    lang=detect_language(post.text),
                    links=post.links,
                    media=post.media,
                    views=post.views,
                    capture_id=capture_id,
                ),
            )
            ids.append(item_id)
            if created:
                new.append(post)
        jobs.extend(handoffs.items_stored(session, ids))
    return new


def capture_channel(
    rt: Runtime,
    raw_channel: str,
    *,
    pages: int | None = None,
    on_page: Callable[[ChannelRun], None] | None = None,
    wait: bool = True,
) -> ChannelRun:
    """Read up to `pages` preview pages, newest first, stopping at posts already stored; with ``wait``
    the posts' analysis jobs are run (or waited for) before returning."""
    channel = channel_name(raw_channel)
    jobs: list[int] = []
    run = ChannelRun(channel=channel)
    max_pages = pages or rt.settings.telegram_pages
    with rt.db.read() as session:
        known = latest_post_id(session, channel)
    url = f"{rt.settings.telegram_web_base}/s/{channel}"
    with Fetcher(rt.settings) as fetcher:
        while run.pages < max_pages:
            outcome, prepared = capture_url(rt, fetcher, url, make_item=False)
            run.captures.append(outcome)
            run.pages += 1
            if outcome.error:
                run.error = f"{url}: {outcome.error}"
                break
            result = prepared.result
            html = decode_body(result.body, result.content_type)
            if run.pages == 1:
                run.subscribers = parse_subscribers(html)
            posts = [p for p in parse_page(html, result.final_url or url) if p.channel == channel]
            if not posts:
                if run.pages == 1:
                    run.error = f"no public posts at {url} (channel missing, private or not a channel)"
                break
            run.seen += len(posts)
            run.new_posts.extend(_store_posts(rt, sorted(posts, key=lambda p: p.post_id), outcome.id, jobs))
            if on_page:
                on_page(run)
            oldest = min(p.post_id for p in posts)
            if (known is not None and oldest <= known) or oldest <= 1:
                break
            url = f"{rt.settings.telegram_web_base}/s/{channel}?before={oldest}"
    with rt.db.write() as session:
        audit.record(
            session,
            "telegram.capture_channel",
            f"telegram_channel:{channel}",
            detail={"pages": run.pages, "new": len(run.new_posts), "seen": run.seen, "error": run.error},
        )
    run.new_posts.sort(key=lambda p: p.post_id)
    if wait and jobs:
        from shekteu.queue.worker import run_jobs

        run_jobs(rt, jobs)
    if run.subscribers is not None:
        from shekteu.shops.cluster import record_audience

        with rt.db.write() as session:
            record_audience(session, "@" + channel, run.subscribers)
    return run
