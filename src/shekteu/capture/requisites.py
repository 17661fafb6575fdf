"""A page's requisites — the images and style sheets that make it look as it did — found in its HTML
and fetched through the same SSRF-guarded fetcher as the page, within count and size limits.

They are stored as WARC records right after the page's own (``evidence/store.py``), so the page can
be replayed and its screenshot rendered from the capture alone. Scripts are not fetched: the
screenshot renders with JavaScript off, and a shop's script is the last thing evidence needs to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from shekteu.capture.fetch import Fetcher, FetchResult

MAX_REQUISITES = 40
MAX_REQUISITE_BYTES = 3_000_000  # one image or sheet
MAX_TOTAL_BYTES = 15_000_000  # all of one page's
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class Requisite:
    url: str
    result: FetchResult


def _usable(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def find(html: str, base_url: str, limit: int = MAX_REQUISITES) -> list[str]:
    """Absolute URLs of the images, icons and style sheets a page shows, in page order, once each."""
    tree = LexborHTMLParser(html)
    base = tree.css_first("base[href]")
    if base is not None and base.attributes.get("href"):
        base_url = urljoin(base_url, base.attributes["href"] or "")
    found: list[str] = []
    for node in tree.css("link[href], img, source[srcset], input[type=image][src], video[poster]"):
        attrs = node.attributes
        if node.tag == "link":
            rel = (attrs.get("rel") or "").lower()
            if not any(r in rel.split() for r in ("stylesheet", "icon", "shortcut")):
                continue
            candidates = [attrs.get("href")]
        elif node.tag == "video":
            candidates = [attrs.get("poster")]
        else:
            first = [p.strip().split(" ")[0] for p in (attrs.get("srcset") or "").split(",") if p.strip()][:1]
            candidates = [attrs.get("src"), *first]
        for raw in candidates:
            if raw and not raw.startswith("data:"):
                found.append(urljoin(base_url, raw.strip()))
    for style in tree.css("style"):
        found += [urljoin(base_url, u) for u in _CSS_URL.findall(style.text() or "") if not u.startswith("data:")]
    out: list[str] = []
    for url in found:
        url = url.split("#", 1)[0]
        if _usable(url) and url not in out:
            out.append(url)
        if len(out) >= limit:
            break
    return out


def urls_in_css(css: str, base_url: str) -> list[str]:
    """Images and imports a style sheet refers to (one level: fonts and backgrounds)."""
    raw = _CSS_IMPORT.findall(css) + _CSS_URL.findall(css)
    return [u for u in (urljoin(base_url, r) for r in raw if not r.startswith("data:")) if _usable(u)]


def fetch_all(fetcher: Fetcher, html: str, page_url: str) -> list[Requisite]:
    """Fetch the page's requisites (and what its style sheets refer to), within the limits; refused or
    failed ones are kept too (the screenshot then shows them missing, as the reviewer should see)."""
    queue, seen, got, total = find(html, page_url), {page_url}, [], 0
    while queue and len(got) < MAX_REQUISITES and total < MAX_TOTAL_BYTES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        result = fetcher.fetch(url, max_bytes=min(MAX_REQUISITE_BYTES, MAX_TOTAL_BYTES - total))
        got.append(Requisite(url, result))
        total += len(result.body)
        kind = (result.content_type or "").split(";")[0].strip().lower()
        if result.status == 200 and kind == "text/css" and result.body:
            css = result.body.decode("utf-8", errors="replace")
            queue += [u for u in urls_in_css(css, result.final_url or url) if u not in seen]
    return got
