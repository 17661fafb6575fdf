"""Capturing web pages as evidence: fetch → evidence store (blob + WARC) → text → database.

Fetching, extraction and WARC writing run in worker threads; database writes happen on the calling
thread, one transaction per capture (capture row, page item, audit entry together). Every URL ends as
a capture row — a refusal or a failure is stored with its reason — and capturing a URL again links
the new capture to the previous one and marks it changed or unchanged by body hash and status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from concurrent.futures import wait as first_done
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.capture.fetch import Fetcher, FetchResult
from shekteu.db.tables import Capture, utcnow
from shekteu.evidence import Exchange, WarcLocation, sha256_hex
from shekteu.items import WEB_PAGE, ItemData, add_item
from shekteu.queue import handoffs
from shekteu.queue.jobs import enqueue
from shekteu.runtime import Runtime
from shekteu.text.html import PageText, decode_body, extract
from shekteu.text.language import detect_language

DEFAULT_PORTS = {"http": 80, "https": 443}
# Below this many URLs, starting extraction processes costs more than it saves.
log = logging.getLogger(__name__)
PROCESS_POOL_MIN_URLS = 16
RECORD_BATCH = 32  # finished captures that need no further wait to share one transaction
GATHER_SECONDS = 0.05  # how long a finished fetch waits for others to share its transaction


def normalise_url(raw: str) -> str:
    """The form a URL is stored and compared in: scheme added, host lower-cased, fragment dropped."""
    url = raw.strip()
    if not url:
        raise ValueError("empty URL")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    if host:
        userinfo = netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""
        shown = f"[{host}]" if ":" in host else host
        netloc = userinfo + shown + (f":{port}" if port and port != DEFAULT_PORTS.get(scheme) else "")
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass
class Prepared:
    """What a worker thread produced for one URL, ready to be written to the database."""

    url: str
    result: FetchResult
    page: PageText = field(default_factory=PageText)
    lang: str | None = None
    sha256: str | None = None
    warc: WarcLocation | None = None
    requisites: int | None = None  # images and style sheets stored with the page (None: not looked for)


@dataclass
class CaptureOutcome:
    id: int
    url: str
    final_url: str | None
    status: int | None
    sha256: str | None
    warc: str | None
    warc_offset: int | None
    title: str | None
    lang: str | None
    text_chars: int
    error: str | None
    previous_id: int | None
    changed: bool | None
    truncated: bool
    content_type: str | None
    fetched_at: str
    refused: bool = False

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "refused"}


def extract_text(body: bytes, content_type: str | None, url: str) -> tuple[PageText, str | None]:
    """Title, text, links and language of a body (run in a worker process for large batches)."""
    page = extract(body, content_type, url)
    return page, detect_language(page.text or page.title)


def _requisites(fetcher: Fetcher, result: FetchResult, url: str) -> list[Exchange]:
    """The page's images and style sheets as exchanges to store with it (HTML pages only)."""
    from shekteu.capture.requisites import fetch_all
    from shekteu.capture.screenshot import REQUESTED_HEADER

    if result.status != 200 or "html" not in (result.content_type or "").lower():
        return []
    html = decode_body(result.body, result.content_type)
    out = []
    for req in fetch_all(fetcher, html, result.final_url or url):
        r = req.result
        if not r.has_response:
            continue
        out.append(Exchange(
            url=r.final_url or req.url, fetched_at=r.fetched_at, request_headers=r.request_headers,
            status_line=f"{r.status} {r.reason_phrase}".strip(), response_headers=r.response_headers
            + ([(REQUESTED_HEADER, req.url)] if (r.final_url or req.url) != req.url else []),
            body=r.body, ip=r.ip, truncated=r.truncated, metadata={}))  # fmt: skip
    return out


def prepare(rt: Runtime, fetcher: Fetcher, url: str, extractors: Executor | None = None,
            requisites: bool = False) -> Prepared:  # fmt: skip
    """Fetch, store the evidence and extract text — everything but the database. Never raises.
    With ``requisites`` the page's images and style sheets are fetched and stored with it."""
    try:
        result = fetcher.fetch(url)
    except Exception as exc:  # a bug or an OS error must not sink the batch
        result = FetchResult(url=url, fetched_at=utcnow(), error=f"fetch failed: {exc!r}")
    prepared = Prepared(url=url, result=result)
    if not result.has_response:
        return prepared
    extras: list[Exchange] = []
    if requisites:
        try:
            extras = _requisites(fetcher, result, url)
        except Exception as exc:  # hostile HTML or a bug: the page itself is still captured
            log.warning("requisites of %s failed: %s", url, type(exc).__name__)
        prepared.requisites = len(extras)
    try:
        body = result.body
        prepared.sha256 = rt.store.put_blob(body) if body else sha256_hex(body)
        prepared.warc = rt.store.append_exchange(
            Exchange(
                url=result.final_url or url,
                fetched_at=result.fetched_at,
                request_headers=result.request_headers,
                status_line=f"{result.status} {result.reason_phrase}".strip(),
                response_headers=result.response_headers,
                body=body,
                ip=result.ip,
                truncated=result.truncated,
                metadata={
                    "requested_url": url,
                    "redirects": result.redirects,
                    "truncated": result.truncated,
                    "body_sha256": prepared.sha256,
                    "elapsed_seconds": round(result.elapsed, 3),
                    "requisites": prepared.requisites,
                },
            ),
            extras,
            [Exchange(url=h.url, fetched_at=h.fetched_at, request_headers=h.request_headers, status_line=h.status_line,
                      response_headers=h.response_headers, body=b"", ip=h.ip, truncated=False, metadata={})
             for h in result.hops],
        )  # fmt: skip
    except OSError as exc:
        result.error = f"evidence store failed: {exc}"
        return prepared
    args = (body, result.content_type, result.final_url or url)
    try:
        if extractors is None:
            prepared.page, prepared.lang = extract_text(*args)
        else:
            prepared.page, prepared.lang = extractors.submit(extract_text, *args).result()
    except Exception as exc:  # hostile HTML can break a parser; the evidence is already safe
        result.error = result.error or f"text extraction failed: {exc!r}"
    return prepared


def record(rt: Runtime, prepared: Prepared, *, make_item: bool = True) -> CaptureOutcome:
    """Write one prepared capture (row, item, audit entry) in one transaction."""
    return record_many(rt, [prepared], make_item=make_item)[0]


def record_many(rt: Runtime, batch: list[Prepared], *, make_item: bool = True,
                jobs: list[int] | None = None) -> list[CaptureOutcome]:  # fmt: skip
    """Write prepared captures in one transaction: all of them land, or none. The pages' items are
    queued for analysis in the same transaction (their job ids are added to ``jobs``)."""
    with rt.db.write() as session:
        recorded = [_record_in(session, rt, prepared, make_item) for prepared in batch]
        queued = handoffs.items_stored(session, [i for _, i in recorded if i is not None])
        shots = [o.id for (o, _), p in zip(recorded, batch, strict=True) if p.requisites is not None and p.warc]
        if shots:
            queued += [j for j in [enqueue(session, "screenshot", f"captures:{shots[0]}-{shots[-1]}",
                                           {"captures": shots})] if j is not None]  # fmt: skip
    if jobs is not None:
        jobs.extend(queued)
    return [outcome for outcome, _ in recorded]


_C = Capture.__table__.c
_PREVIOUS = select(_C.id, _C.sha256, _C.status).where(_C.url == bindparam("url")).order_by(_C.id.desc()).limit(1)
_INSERT_CAPTURE = insert(Capture.__table__).returning(_C.id)


def _record_in(session: Session, rt: Runtime, prepared: Prepared,
               make_item: bool) -> tuple[CaptureOutcome, int | None]:  # fmt: skip
    r = prepared.result
    db = session.connection()  # prebuilt statements straight on it: this runs for every page, holding the write lock
    previous = db.execute(_PREVIOUS, {"url": prepared.url}).first()
    changed = None
    if previous is not None:
        changed = (previous.sha256, previous.status) != (prepared.sha256, r.status)
    values = dict(
        url=prepared.url,
        final_url=r.final_url,
        status=r.status,
        fetched_at=r.fetched_at,
        content_type=r.content_type,
        sha256=prepared.sha256,
        body_size=len(r.body) if r.has_response else None,
        truncated=r.truncated,
        warc_file=prepared.warc.file if prepared.warc else None,
        warc_offset=prepared.warc.offset if prepared.warc else None,
        ip=r.ip,
        redirects=r.redirects,
        title=prepared.page.title,
        text=prepared.page.text if r.has_response else None,
        lang=prepared.lang,
        error=r.error,
        previous_id=previous.id if previous else None,
        changed=changed,
        requisites=prepared.requisites,
    )
    capture_id = db.scalar(_INSERT_CAPTURE, values)
    item_id = None
    if make_item and r.has_response and r.status is not None and r.status < 400:
        item_id, _ = add_item(
            session,
            ItemData(
                kind=WEB_PAGE,
                key=prepared.url,
                url=r.final_url or prepared.url,
                source="capture",
                text=prepared.page.text,
                title=prepared.page.title,
                lang=prepared.lang,
                links=prepared.page.links,
                capture_id=capture_id,
            ),
            refresh=True,
        )
    audit.record(
        session,
        "capture.create",
        f"capture:{capture_id}",
        detail={"url": prepared.url, "sha256": prepared.sha256, "error": r.error},
    )
    warc = str(rt.settings.data_dir.resolve() / prepared.warc.file) if prepared.warc else None
    return CaptureOutcome(
        id=capture_id,
        url=prepared.url,
        final_url=r.final_url,
        status=r.status,
        sha256=prepared.sha256,
        warc=warc,
        warc_offset=values["warc_offset"],
        title=prepared.page.title,
        lang=prepared.lang,
        text_chars=len(prepared.page.text),
        error=r.error,
        previous_id=values["previous_id"],
        changed=changed,
        truncated=r.truncated,
        content_type=r.content_type,
        fetched_at=r.fetched_at.isoformat(),
        refused=r.refused,
    ), item_id


def capture_urls(
    rt: Runtime,
    urls: Iterable[str],
    *,
    on_done: Callable[[CaptureOutcome], None] | None = None,
    fetcher: Fetcher | None = None,
    wait: bool = True,
    screenshot: bool | None = False,
) -> list[CaptureOutcome]:
    """Capture every URL (in parallel fetches); outcomes come back in input order. With ``wait`` the
    pages' analysis (and screenshot) jobs are run (or waited for) before returning, so shops are
    current. ``screenshot`` also stores each HTML page's images and style sheets and queues its
    screenshot (None: as SHEKTEU_SCREENSHOTS says, by default where Chromium is installed, as
    ``shekteu capture`` does)."""
    if screenshot is None:
        screenshot = rt.settings.screenshots
    if screenshot is None:
        from shekteu.capture.screenshot import chromium

        screenshot = chromium(rt.settings.chromium_path) is not None
    normalised: list[str] = []
    for raw in urls:
        try:
            normalised.append(normalise_url(raw))
        except ValueError:
            normalised.append(raw.strip() or "(empty)")
    own = fetcher is None
    fetcher = fetcher or Fetcher(rt.settings)
    outcomes: list[CaptureOutcome | None] = [None] * len(normalised)
    jobs: list[int] = []
    extractors = _extraction_pool(rt, len(normalised))
    try:
        with ThreadPoolExecutor(max_workers=rt.settings.capture_workers) as pool:
            futures: dict[Future[Prepared], int] = {
                pool.submit(prepare, rt, fetcher, url, extractors, screenshot): i for i, url in enumerate(normalised)
            }
            pending = set(futures)
            while pending:
                # Whatever has finished is written in one transaction: fewer commits, same safety.
                # A moment's wait gathers the fetches finishing right after the first.
                done, pending = first_done(pending, return_when=FIRST_COMPLETED)
                if pending and len(done) < RECORD_BATCH:
                    more, pending = first_done(pending, timeout=GATHER_SECONDS, return_when=ALL_COMPLETED)
                    done |= more
                ordered = sorted(done, key=futures.__getitem__)
                for future, outcome in zip(
                    ordered, record_many(rt, [f.result() for f in ordered], jobs=jobs), strict=True
                ):
                    outcomes[futures[future]] = outcome
                    if on_done:
                        on_done(outcome)
    finally:
        if own:
            fetcher.close()
    if wait and jobs:
        from shekteu.queue.worker import run_jobs

        run_jobs(rt, jobs)
    return [o for o in outcomes if o is not None]


def capture_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``capture`` stage (``shekteu capture --no-wait``): fetch and record; analysis is queued."""
    shot = payload.get("screenshot")
    outcomes = capture_urls(rt, [str(u) for u in payload.get("urls", [])], wait=False,
                            screenshot=bool(shot) if shot is not None else None)  # fmt: skip
    return {"captures": [o.id for o in outcomes], "errors": sum(1 for o in outcomes if o.error)}


def _extraction_pool(rt: Runtime, n_urls: int) -> ProcessPoolExecutor | None:
    """The runtime's worker processes for text extraction (``processes.py``): the GIL keeps threads
    to one core, and a parser that crashes on hostile HTML takes down a worker, not the capture run."""
    return rt.processes.get() if n_urls >= PROCESS_POOL_MIN_URLS else None


def capture_url(
    rt: Runtime, fetcher: Fetcher, url: str, *, make_item: bool = True
) -> tuple[CaptureOutcome, Prepared]:
    """One URL, synchronously; also returns the prepared fetch (for callers that parse the body)."""
    prepared = prepare(rt, fetcher, normalise_url(url))
    return record_many(rt, [prepared], make_item=make_item)[0], prepared
