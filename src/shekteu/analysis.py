"""Classify stored items and record their indicators, once per item text and model version.

Capture and import queue an ``analyse`` job in the transaction that stores the items (issue 20),
and a worker runs it (``analyse_job``); ``shekteu items analyse`` finds whatever is still pending.
The classifier and the indicator extraction run before any transaction opens; only their results
are written, in one short transaction per batch. A verdict is keyed by item, model version
and text hash, an indicator by type and key, a mention by item, indicator and position — all
inserted with ON CONFLICT DO NOTHING, so re-running changes nothing. The same transaction joins the
items into shops (``shops/cluster.py``), so shops never lag behind the items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, exists, select, tuple_
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import (
    AnalysisFailure,
    Capture,
    Indicator,
    Item,
    ItemIndicator,
    ShopItem,
    Verdict,
    utcnow,
)
from shekteu.detect.language import quick_language
from shekteu.detect.model import Detector, ModelError
from shekteu.indicators.extract import CardPolicy, own_address
from shekteu.indicators.extract import Indicator as Found
from shekteu.indicators.extract import extract as extract_indicators
from shekteu.items import _insert
from shekteu.runtime import Runtime
from shekteu.shops.cluster import Incoming, link_items, minhash_of
from shekteu.shops.cluster import refresh as refresh_shops
from shekteu.shops.warninglist import Warninglist

log = logging.getLogger(__name__)
BATCH = 256
POSITIVE = ("sale", "recruit")
# Characters in a batch above which its CPU work is shared among worker processes (processes.py):
# a capture's pages or a large import, not a tip or a handful of posts.
SPREAD_CHARS = 150_000
MAX_TEXT = 200_000  # characters of one item that are analysed (long pages: the start decides)


@dataclass
class AnalysisSummary:
    items: int = 0
    positive: int = 0
    indicators: int = 0
    shops_created: int = 0
    merges: int = 0

    def as_json(self) -> dict[str, int]:
        return {"items": self.items, "positive": self.positive, "indicators": self.indicators,
                "shops_created": self.shops_created, "merges": self.merges}  # fmt: skip

    def add(self, other: AnalysisSummary) -> None:
        for name in ("items", "positive", "indicators", "shops_created", "merges"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def indicator_key(found: Found) -> str:
    return str(found.detail.get("hash", found.normalized)) if found.type == "bank_card" else found.normalized


class Pending(NamedTuple):
    id: int
    text: str
    text_sha256: str
    lang: str | None
    url: str
    channel: str | None
    final_url: str | None  # where a captured page's redirects ended: a mirror redirecting to its shop
    media: list[Any] | None


def _pending(session: Session, version: str, after: int, limit: int,
             only: list[int] | None = None) -> list[Pending]:  # fmt: skip
    done = exists().where(
        Verdict.item_id == Item.id, Verdict.model_version == version, Verdict.text_sha256 == Item.text_sha256
    )
    failed = exists().where(
        AnalysisFailure.item_id == Item.id,
        AnalysisFailure.model_version == version,
        AnalysisFailure.text_sha256 == Item.text_sha256,
    )
    rows = session.execute(
        select(
            Item.id,
            Item.text,
            Item.text_sha256,
            Item.lang,
            Item.url,
            Item.channel,
            Capture.final_url,
            Item.media,
        )
        .outerjoin(Capture, Capture.id == Item.capture_id)
        .where(Item.id > after, ~done, ~failed, *([Item.id.in_(only)] if only is not None else []))
        .order_by(Item.id)
        .limit(limit)
    )
    return [Pending(*r) for r in rows]


def image_hashes(media: list[Any] | None) -> list[tuple[str, int]]:
    """(sha256, perceptual hash) of the stored images among an item's media entries."""
    return [(m["sha256"], int(m["dhash"], 16)) for m in media or []
            if isinstance(m, dict) and isinstance(m.get("sha256"), str) and isinstance(m.get("dhash"), str)]  # fmt: skip


def _store_indicators(session: Session, found: list[tuple[int, list[Found]]]) -> int:
    """Indicators (once per type and key) and their mentions for a batch of items, in three bulk
    statements. Inserted in sorted order, so two batches sharing new indicators never wait in a cycle."""
    insert = _insert(session)
    now = utcnow()
    new: dict[tuple[str, str], dict[str, Any]] = {}
    for _item_id, inds in found:
        for ind in inds:
            new.setdefault((ind.type, indicator_key(ind)), {
                "type": ind.type, "key": indicator_key(ind), "normalized": ind.normalized, "valid": ind.valid,
                "detail": dict(ind.detail), "first_seen_at": now})  # fmt: skip
    if not new:
        return 0
    keys = sorted(new)
    session.execute(insert(Indicator.__table__).on_conflict_do_nothing(index_elements=["type", "key"]),
                    [new[k] for k in keys])  # fmt: skip
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        ids.update({(t, k): i for i, t, k in session.execute(
            select(Indicator.id, Indicator.type, Indicator.key).where(tuple_(Indicator.type, Indicator.key).in_(chunk))
        )})  # fmt: skip
    mentions = [{"item_id": item_id, "indicator_id": ids[(ind.type, indicator_key(ind))], "value": ind.value,
                 "start": ind.start, "end": ind.end} for item_id, inds in found for ind in inds]  # fmt: skip
    session.execute(
        insert(ItemIndicator.__table__).on_conflict_do_nothing(index_elements=["item_id", "indicator_id", "start"]),
        mentions,
    )
    return len(mentions)


def _forget_old_text(session: Session, rows: list[Pending]) -> None:
    """Items whose text changed since they were last analysed (a page edited between captures) lose
    the mentions found in the old text, whose spans no longer point into anything, and their automatic
    shop placement, so the new text alone decides both. Analysts' own placements stay."""
    # Changed: analysed before, but never with the text it has now (a new model alone changes nothing).
    current = select(Verdict.id).where(Verdict.item_id == Item.id, Verdict.text_sha256 == Item.text_sha256)
    changed = list(session.scalars(
        select(Item.id).where(Item.id.in_([r.id for r in rows]), exists().where(Verdict.item_id == Item.id),
                              ~current.exists()).order_by(Item.id)
    ))  # fmt: skip
    if not changed:
        return
    session.execute(delete(ItemIndicator).where(ItemIndicator.item_id.in_(changed)))
    placed = ShopItem.item_id.in_(changed) & (ShopItem.how == "auto")
    shops = set(session.scalars(select(ShopItem.shop_id).where(placed)))
    session.execute(delete(ShopItem).where(placed))
    refresh_shops(session, shops)
    audit.record(session, "detect.relink", f"items:{changed[0]}-{changed[-1]}", actor="system:analyse",
                 reason="the text changed: mentions and shop placement come from the new text",
                 detail={"items": changed})  # fmt: skip


@dataclass
class Prepared:
    """An item's verdict and indicators, worked out before any transaction opens (CPU only)."""

    row: Pending
    text: str
    verdict: Any
    found: list[Found]
    signature: Any = None  # MinHash of a positive item's text (shops/cluster.minhash_of)


def prepare(detector: Detector, policy: CardPolicy, rows: list[Pending]) -> list[Prepared]:
    texts = [row.text[:MAX_TEXT] for row in rows]
    verdicts = detector.classify(texts)
    out = []
    for row, text, verdict in zip(rows, texts, verdicts, strict=True):
        own = [own_address(row.url, row.channel),
               own_address(row.final_url, None) if row.final_url and row.final_url != row.url else None]  # fmt: skip
        signature = minhash_of(text) if verdict.label in POSITIVE else None
        out.append(Prepared(row, text, verdict, [o for o in own if o] + extract_indicators(text, policy), signature))
    return out


def _prepare_loaded(file: tuple[str | None], version: str, policy: CardPolicy, rows: list[Pending]) -> list[Prepared]:
    """``prepare`` in a worker process, with the model the parent uses (loaded once per process)."""
    from shekteu.detect.model import loaded_as

    return prepare(loaded_as(file, version), policy, rows)


def prepare_spread(rt: Runtime, detector: Detector, policy: CardPolicy, rows: list[Pending]) -> list[Prepared]:
    """``prepare``, shared out among the runtime's worker processes when the batch is worth it (a
    capture's pages, a large import): one contiguous share of the rows per process, balanced by
    characters. An item's own error comes back as it would here; a pool that broke (a worker
    killed) leaves the batch to this process."""
    chars = sum(min(len(r.text), MAX_TEXT) for r in rows)
    pool = rt.processes.get() if chars >= SPREAD_CHARS and detector.file is not None and len(rows) > 1 else None
    if pool is None:
        return prepare(detector, policy, rows)
    shares: list[list[Pending]] = [[]]
    share, done = chars / rt.processes.size, 0
    for row in rows:
        if done >= share * len(shares):
            shares.append([])
        shares[-1].append(row)
        done += min(len(row.text), MAX_TEXT)
    futures = [pool.submit(_prepare_loaded, detector.file, detector.version, policy, part) for part in shares]
    try:
        return [p for future in futures for p in future.result()]
    except BrokenProcessPool:
        log.warning("analysis worker process died; analysing %d items here", len(rows))
    except ModelError as exc:  # the file changed since this process loaded it; ours is the model in use
        log.warning("analysis worker processes have another model (%s); analysing %d items here", exc, len(rows))
    return prepare(detector, policy, rows)


def store_batch(session: Session, version: str, batch: list[Prepared]) -> AnalysisSummary:
    """Write prepared verdicts and indicators and link the items into shops, in the caller's
    (short) transaction."""
    summary = AnalysisSummary()
    insert = _insert(session)
    rows = [p.row for p in batch]
    _forget_old_text(session, rows)
    incoming, verdicts, now = [], [], utcnow()
    for p in batch:
        verdict = p.verdict
        verdicts.append({"item_id": p.row.id, "model_version": version, "text_sha256": p.row.text_sha256,
                         "label": verdict.label, "score": verdict.score, "probabilities": verdict.probabilities,
                         "terms": [t.as_json() for t in verdict.terms], "lang": p.row.lang or quick_language(p.text),
                         "created_at": now})  # fmt: skip
        summary.items += 1
        positive = verdict.label in POSITIVE
        summary.positive += positive
        incoming.append(Incoming(p.row.id, positive, p.text, image_hashes(p.row.media), p.signature))
    if verdicts:  # one statement for the batch
        session.execute(insert(Verdict.__table__).on_conflict_do_nothing(
            index_elements=["item_id", "model_version", "text_sha256"]), verdicts)  # fmt: skip
    summary.indicators += _store_indicators(session, [(p.row.id, p.found) for p in batch])
    linked = link_items(session, incoming, Warninglist.load(session))
    summary.shops_created += linked.shops_created
    summary.merges += linked.merges
    if rows:
        audit.record(
            session, "detect.analyse", f"items:{rows[0].id}-{rows[-1].id}", actor="system:analyse",
            reason="items came in or the model changed",
            detail={"model_version": version, **summary.as_json()},
        )  # fmt: skip
    return summary


def analyse_pending(rt: Runtime, *, on_batch: Callable[[int], None] | None = None,
                    detector: Detector | None = None) -> AnalysisSummary:  # fmt: skip
    """Analyse every item without a verdict by the current model (or ``detector``) for its current text."""
    total = AnalysisSummary()
    detector, policy = detector or rt.detector, rt.card_policy
    after = 0
    while True:
        with rt.db.read() as session:
            rows = _pending(session, detector.version, after, BATCH)
        if not rows:
            return total
        total.add(_analyse_or_isolate(rt, detector, policy, rows))
        after = rows[-1][0]
        if on_batch:
            on_batch(len(rows))


def analyse_items(rt: Runtime, item_ids: list[int], *, detector: Detector | None = None) -> AnalysisSummary:
    """Analyse those of ``item_ids`` that the current model has not seen with their current text."""
    total = AnalysisSummary()
    detector, policy = detector or rt.detector, rt.card_policy
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), BATCH):
        with rt.db.read() as session:
            rows = _pending(session, detector.version, 0, BATCH, only=ids[start : start + BATCH])
        if rows:
            total.add(_analyse_or_isolate(rt, detector, policy, rows))
    return total


def analyse_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``analyse`` stage: classify, extract and link the job's items."""
    return analyse_items(rt, [int(i) for i in payload.get("items", [])]).as_json()


def _analyse_or_isolate(rt: Runtime, detector: Detector, policy: CardPolicy, rows: list[Pending]) -> AnalysisSummary:
    """Analyse a batch: the CPU work first, then one short transaction; if it fails, each item alone,
    recording the ones that fail.

    Rows analysed by a concurrent run in the meantime are skipped by the unique keys.
    """
    try:
        batch = prepare_spread(rt, detector, policy, rows)
        with rt.db.write() as session:
            return store_batch(session, detector.version, batch)
    except OperationalError:
        raise  # the database is busy, locked or gone: nothing is wrong with the items; a later run retries
    except Exception as exc:  # one bad item must not stop the others: find it
        if len(rows) == 1:
            _record_failure(rt, detector.version, rows[0], exc)
            return AnalysisSummary()
        log.warning("analysis of items %d-%d failed (%s); analysing them one by one",
                    rows[0].id, rows[-1].id, type(exc).__name__)  # fmt: skip
    total = AnalysisSummary()
    for row in rows:
        total.add(_analyse_or_isolate(rt, detector, policy, [row]))
    return total


def _record_failure(rt: Runtime, version: str, row: Pending, exc: Exception) -> None:
    # The error's type and message, never the item's text: logs and this table carry no content.
    error = f"{type(exc).__name__}: {str(exc)[:300]}" if not isinstance(exc, DBAPIError) else type(exc).__name__
    log.warning("item %d could not be analysed: %s", row.id, type(exc).__name__)
    with rt.db.write() as session:
        session.execute(
            _insert(session)(AnalysisFailure)
            .values(item_id=row.id, model_version=version, text_sha256=row.text_sha256, error=error,
                    failed_at=utcnow())
            .on_conflict_do_nothing(index_elements=["item_id", "model_version", "text_sha256"])
        )  # fmt: skip
        audit.record(session, "detect.fail", f"item:{row.id}", actor="system:analyse",
                     reason="the item could not be analysed; the others went on", detail={"error": error})  # fmt: skip


def latest_verdicts(session: Session, item_ids: list[int]) -> dict[int, dict[str, object]]:
    """The newest verdict of each item (any model version), for listings."""
    rows = session.scalars(select(Verdict).where(Verdict.item_id.in_(item_ids)).order_by(Verdict.id))
    return {v.item_id: {"label": v.label, "score": v.score, "model": v.model_version} for v in rows}
