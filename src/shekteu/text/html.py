"""From an HTTP body to readable text: charset decoding, title, main text and links.

Pages come with wrong or missing charsets (cp1251 labelled UTF-8, koi8-r without a label, invalid
UTF-8). We try the declared charsets strictly, then UTF-8, then a detector, and only then decode with
replacement characters, so Russian text is not turned into mojibake. Main text comes from
trafilatura (boilerplate removed); when it finds none — tiny shop pages often have no "article" — the
visible body text is used instead. Links come from selectolax (fast, tolerant of broken HTML). A page
nested deeper than ``MAX_DEPTH`` is read as flat text instead, since tree parsers are quadratic in
depth.
"""

from __future__ import annotations

import codecs
import html as html_module
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

MAX_LINKS = 5000
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = (*HTML_TYPES, "text/plain")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
LINK_SCHEMES = ("http", "https", "tg")
# Tree parsers slow down with the square of nesting depth (200,000 nested <div>s: minutes); real
# pages stay far below this, so a deeper page is read as flat text.
MAX_DEPTH = 1000
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                  "source", "track", "wbr", "keygen", "command"})  # fmt: skip
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_TAGS = re.compile(r"<[^>]*>")
_SCRIPTS = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


@dataclass
class PageText:
    title: str | None = None
    text: str = ""
    links: list[str] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_text(content_type: str | None, body: bytes) -> bool:
    kind = media_type(content_type)
    if kind:
        return kind in TEXT_TYPES
    # No Content-Type: sniff the start like a browser would.
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_body(body: bytes, content_type: str | None) -> str:
    """Decode bytes to text, preferring a charset that decodes without errors."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace")
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(body[:4096])
    candidates = [
        _codec(header.group(1) if header else None),
        _codec(meta.group(1) if meta else None),
        "utf-8",
    ]
    for name in dict.fromkeys(c for c in candidates if c):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000], cp_isolation=["cp1251", "koi8_r", "utf_8", "cp866", "latin_1"]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, "replace")
    return body.decode("utf-8", "replace")


def extract_links(tree: LexborHTMLParser, base_url: str) -> list[str]:
    base = base_url
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base = urljoin(base_url, (base_tag.attributes.get("href") or "").strip())
    links: dict[str, None] = {}
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        head = href[:8].lower()
        if head.startswith(("http://", "https://", "tg:")):
            absolute = href  # most links are absolute; urljoin is the slow part of this loop
        elif ":" in href.split("/", 1)[0]:
            continue  # mailto:, javascript:, data: …
        else:
            try:
                absolute = urljoin(base, href)
            except ValueError:
                continue
            if urlsplit(absolute).scheme.lower() not in LINK_SCHEMES:
                continue
        links[absolute.split("#", 1)[0]] = None
        if len(links) >= MAX_LINKS:
            break
    return list(links)


def _visible_text(tree: LexborHTMLParser) -> str:
    body = tree.body
    if body is None:
        return ""
    for node in body.css("script, style, noscript, template"):
        node.decompose()
    text = body.text(separator="\n")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def nesting_depth(html: str) -> int:
    """The deepest element nesting of a page, counted from its tags (void elements do not nest)."""
    import numpy as np

    tags = _TAG.findall(html)
    if not tags:
        return 0
    steps = np.fromiter((0 if name.lower() in VOID else -1 if close else 1 for close, name in tags),
                        dtype=np.int64, count=len(tags))  # fmt: skip
    return int(np.cumsum(steps).max())


def _flat_page(html: str, url: str) -> PageText:
    """A page too deeply nested to parse as a tree: tags stripped, title and links found by pattern."""
    title = _TITLE.search(html)
    links = []
    for href in dict.fromkeys(m.strip() for m in _HREF.findall(html)):
        try:
            absolute = urljoin(url, href)
        except ValueError:
            continue
        if urlsplit(absolute).scheme.lower() in LINK_SCHEMES:
            links.append(absolute.split("#", 1)[0])
        if len(links) >= MAX_LINKS:
            break
    text = html_module.unescape(_TAGS.sub(" ", _SCRIPTS.sub(" ", html)))
    text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    return PageText(title=html_module.unescape(title.group(1)).strip() or None if title else None, text=text,
                    links=links)  # fmt: skip


def extract_html(html: str, url: str) -> PageText:
    import trafilatura

    if nesting_depth(html) > MAX_DEPTH:
        return _flat_page(html, url)
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else None
    if not title:
        og = tree.css_first('meta[property="og:title"]')
        title = (og.attributes.get("content") or "").strip() if og is not None else None
    links = extract_links(tree, url)
    main = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=True, fast=True, with_metadata=False
    )
    text = (main or "").strip() or _visible_text(tree)
    return PageText(title=title or None, text=text, links=links)


def extract(body: bytes, content_type: str | None, url: str) -> PageText:
    """Title, main text and links of a body; empty for non-text content (PDF, images…)."""
    if not body or not is_text(content_type, body):
        return PageText()
    decoded = decode_body(body, content_type)
    if media_type(content_type) == "text/plain":
        return PageText(text=decoded.strip())
    return extract_html(decoded, url)
