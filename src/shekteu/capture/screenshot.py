"""What a captured page looked like: a PNG rendered by headless Chromium from the capture's own records.

The browser never reaches the network. Every request it makes is answered from the page's WARC
records (the page, then its requisites) or refused; a dead proxy behind the interception catches
anything that slips past it, DNS prefetching and background services are off, and JavaScript is
off (a shop's page is hostile, and evidence should show what the server sent, not what a script
made of it). The PNG is stored as a ``resource`` record (``urn:screenshot:<url>``, referring to the
page's response) and as a blob; the capture row points at both. Rendering is a queued ``screenshot``
job: seconds of CPU that must never hold a write transaction.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from shekteu import audit
from shekteu.db.tables import Capture, utcnow
from shekteu.evidence.store import HOP_HEADER, REQUISITE_HEADER
from shekteu.runtime import Runtime

log = logging.getLogger(__name__)
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
VIEWPORT = {"width": 1280, "height": 1600}
RENDER_TIMEOUT_MS = 20_000
REQUESTED_HEADER = "Shekteu-Requested-URI"  # a requisite fetched through redirects: the URL the page named
_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--dns-prefetch-disable", "--disable-features=NetworkPrediction",
          "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    status: int
    content_type: str
    body: bytes


def chromium(wanted: Path | str | None = None) -> str | None:
    """The Chromium to render with (``wanted``: SHEKTEU_CHROMIUM_PATH; else the usual places), if
    Playwright is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    for path in ([str(wanted)] if wanted else []) + list(CANDIDATES) + [shutil.which("chromium") or ""]:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def records_of(path: Path, offset: int) -> tuple[str, str, dict[str, Recorded]]:
    """(page URL, page record id, every response by URL) of the capture whose records start at ``offset``."""
    from shekteu.dossier.warc_copy import capture_records

    page_url, page_id, found = "", "", {}
    for record in ArchiveIterator(io.BytesIO(capture_records(path, offset))):
        if record.rec_type != "response":
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        status = int(record.http_headers.get_statuscode() or 0)
        kind = record.http_headers.get_header("Content-Type") or "application/octet-stream"
        entry = Recorded(status, kind, record.content_stream().read())
        if record.rec_headers.get_header(HOP_HEADER) is not None:
            continue  # a redirect on the way: the browser is handed the page itself
        if not page_id and record.rec_headers.get_header(REQUISITE_HEADER) is None:
            page_url, page_id = url, record.rec_headers.get_header("WARC-Record-ID")
        found.setdefault(url, entry)
        requested = record.rec_headers.get_header(REQUESTED_HEADER)
        if requested:
            found.setdefault(requested, entry)
    return page_url, page_id, found


@contextmanager
def browser(executable: str) -> Iterator[Any]:
    """One headless Chromium for a batch of pages (each page gets a fresh context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium_browser = pw.chromium.launch(executable_path=executable, headless=True, args=_FLAGS)
        try:
            yield chromium_browser
        finally:
            chromium_browser.close()


def render(page_url: str, responses: dict[str, Recorded], chromium_browser: Any) -> tuple[bytes, list[str]]:
    """The PNG of the page as the recorded responses draw it, and the URLs the browser asked for that
    the capture does not hold (refused, never fetched)."""
    refused: list[str] = []

    def answer(route: Any) -> None:
        url = route.request.url.split("#", 1)[0]
        hit = responses.get(url) if url == page_url or not route.request.is_navigation_request() else None
        if hit is None:
            refused.append(url)
            if route.request.is_navigation_request():
                route.fulfill(status=204, body=b"")  # a refresh or frame leading away: the page stays as drawn
            else:
                route.abort("blockedbyclient")
            return
        route.fulfill(status=hit.status or 200, body=hit.body, headers={"Content-Type": hit.content_type})

    context = chromium_browser.new_context(viewport=VIEWPORT, java_script_enabled=False, service_workers="block",
                                           accept_downloads=False)  # fmt: skip
    try:
        context.route("**/*", answer)
        page = context.new_page()
        try:
            page.goto(page_url, wait_until="load", timeout=RENDER_TIMEOUT_MS)
        except Exception as exc:  # a page that never finishes loading is still drawn as far as it got
            log.info("page %s did not finish loading: %s", page_url, type(exc).__name__)
        png = page.screenshot(type="png", timeout=RENDER_TIMEOUT_MS)
    finally:
        context.close()
    return png, refused


def screenshot_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``screenshot`` stage: render each capture that has none yet, then store it in one short
    transaction per capture (a rerun finds the screenshot there and does nothing)."""
    executable = chromium(rt.settings.chromium_path)
    if executable is None:
        return {"skipped": "no Chromium (apt-get install chromium) or Playwright (pip install playwright)"}
    wanted = sorted({int(c) for c in payload.get("captures", [])})
    with rt.db.read() as s:
        todo = list(s.scalars(select(Capture.id).where(Capture.id.in_(wanted), Capture.screenshot_sha256.is_(None),
                                                       Capture.warc_file.is_not(None))))  # fmt: skip
    if not todo:
        return {"screenshots": []}
    # Playwright's sync API refuses a thread with a running event loop (the bot's, a test runner's):
    # the browser gets a thread of its own.
    done: list[int] = []
    failure: list[BaseException] = []

    def draw() -> None:
        try:
            with browser(executable) as chromium_browser:
                done.extend(cid for cid in todo if _one(rt, cid, chromium_browser))
        except BaseException as exc:  # handed back to the job, which records it
            failure.append(exc)

    thread = threading.Thread(target=draw, name="shekteu-screenshot", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return {"screenshots": done}


def _one(rt: Runtime, cid: int, chromium_browser: Any) -> bool:
    """Render and store one capture's screenshot; False when there was nothing to do."""
    with rt.db.read() as s:
        c = s.get(Capture, cid)
        if c is None or c.screenshot_sha256 or not c.warc_file or c.warc_offset is None:
            return False
        warc, offset, fetched_at = rt.settings.data_dir / c.warc_file, int(c.warc_offset), c.fetched_at
    page_url, page_id, responses = records_of(warc, offset)
    png, refused = render(page_url, responses, chromium_browser)
    digest = rt.store.put_blob(png)
    where = rt.store.append_resource(f"urn:screenshot:{page_url}", fetched_at, "image/png", png, refers_to=page_id)
    with rt.db.write() as s:
        c = s.scalars(select(Capture).where(Capture.id == cid).with_for_update()).one()
        if c.screenshot_sha256:
            return False  # another worker got there first; its record stays, ours is an orphan copy
        c.screenshot_sha256, c.screenshot_warc_file, c.screenshot_warc_offset = digest, where.file, where.offset
        audit.record(s, "capture.screenshot", f"capture:{cid}", actor="system:screenshot",
                     reason="what the page looked like, drawn from its captured records only",
                     detail={"sha256": digest, "bytes": len(png), "refused": refused[:20],
                             "refused_count": len(refused), "at": utcnow().isoformat()})  # fmt: skip
    return True
