"""Processing received tips: capture what they point to, classify, score, recognise duplicates.

Each tip is a ``tip`` job (queued when it is received, run by a worker). For each: the links and
Telegram names it gives are captured (WARC evidence, at most ``MAX_CAPTURES``); the tip's own item
and the captured pages are analysed (detector, indicators, shops); the tip's score is the highest
drug-sale or recruitment probability among them. A tip is a duplicate of the earliest earlier tip
that shares a strong identifier with it, or the same photo (perceptual hash), or — for graffiti — a
handle within ``GRAFFITI_RADIUS_M`` metres. The reporter of a duplicate is told it was already known
and still counts. A located graffiti tip hands its photos to a ``spot`` job: reading them (QR, two
Tesseract runs) takes seconds and holds no lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.ops_tables import Job
from shekteu.db.tables import Indicator, Item, ItemIndicator, SpotPhoto, Tip, Verdict, utcnow
from shekteu.geo.distance import metres
from shekteu.images import distance
from shekteu.indicators.extract import ADDRESS_TYPES, extract
from shekteu.queue import handoffs
from shekteu.runtime import Runtime, contact_key
from shekteu.shops.cluster import STRONG
from shekteu.shops.similar import similar_images
from shekteu.tips import messages, staff_alert
from shekteu.tips.privacy import exact_location
from shekteu.tips.status import notify

log = logging.getLogger(__name__)
MAX_CAPTURES = 5
MAX_ATTEMPTS = 3
GRAFFITI_RADIUS_M = 30.0
SAME_PHOTO_BITS = 3


@dataclass
class Processed:
    ticket: str
    score: float | None
    duplicate_of: str | None
    captured: int
    jobs: list[int] = field(default_factory=list)  # jobs it handed on (graffiti photos)


def capture_targets(links: list[str], telegram_base: str) -> list[str]:
    out = []
    for link in links:
        if link.startswith(("http://", "https://")):
            out.append(link)
        elif link.startswith("@"):
            name = link[1:]
            out.append(f"{telegram_base}/{name}" if name.endswith("bot") else f"{telegram_base}/s/{name}")
    return list(dict.fromkeys(out))[:MAX_CAPTURES]


def find_duplicate(session: Session, tip: Tip, key: bytes | None = None) -> Tip | None:
    """The earliest earlier tip this one repeats (see the module docstring), found by index lookups;
    ``key`` opens the exact locations (the plain ones are rounded to ~100 m)."""
    found = repeats(session, tip, key, earlier=True)
    return found[0] if found else None


def repeats(session: Session, tip: Tip, key: bytes | None, *, earlier: bool) -> list[Tip]:
    """Tips this one repeats (``earlier``), or later, already processed tips not yet known as
    repeats that repeat this one: a later tip whose job ran first (two workers, a retry) is found
    when the earlier one is processed."""

    def place(t: Tip) -> tuple[float, float] | None:
        return exact_location(key, t.location_sealed, t.lat, t.lon) if key else (
            (t.lat, t.lon) if t.lat is not None else None)  # fmt: skip

    side = [Tip.id < tip.id] if earlier else [Tip.id > tip.id, Tip.processed_at.is_not(None),
                                              Tip.duplicate_of.is_(None)]  # fmt: skip
    mine = set(session.scalars(
        select(ItemIndicator.indicator_id).join(Indicator, Indicator.id == ItemIndicator.indicator_id)
        .where(ItemIndicator.item_id == tip.item_id, Indicator.type.in_(STRONG), Indicator.valid.is_(True))
    )) if tip.item_id else set()  # fmt: skip
    sharing = set(session.scalars(
        select(Tip.id).join(ItemIndicator, ItemIndicator.item_id == Tip.item_id)
        .where(ItemIndicator.indicator_id.in_(mine), *side)
    )) if mine else set()  # fmt: skip
    hashes = [int(p["dhash"], 16) for p in tip.photos if p.get("dhash")]
    shas = {p["sha256"] for p in tip.photos}
    same_items = {i for i, sha, h in similar_images(session, hashes)
                  if sha in shas or any(distance(h, mine_h) <= SAME_PHOTO_BITS for mine_h in hashes)}  # fmt: skip
    same_photo = (
        set(session.scalars(select(Tip.id).where(Tip.item_id.in_(same_items), *side)))
        if same_items
        else set()
    )
    out = []
    for other in session.scalars(select(Tip).where(Tip.id.in_(sharing | same_photo)).order_by(Tip.id)):
        if tip.kind == "graffiti" and other.kind == "graffiti":
            here, there = place(tip), place(other)
            near = here is not None and there is not None and metres(here, there) <= GRAFFITI_RADIUS_M
            if other.id in same_photo or (other.id in sharing and near):
                out.append(other)
        elif other.id in same_photo or (other.id in sharing and (tip if earlier else other).kind != "graffiti"):
            out.append(other)  # a graffiti tip repeats another by the same handle only nearby (above)
    return out


def read_photos(rt: Runtime, tip: Tip) -> tuple[set[str], dict[str, Any] | None]:
    """The handles in a graffiti tip's text and photos (QR, OCR) and its first photo's entry: the
    slow part (seconds per photo), run outside any transaction."""
    from shekteu.street.photo import analyse_bytes

    handles = {i.normalized for i in extract(tip.text) if i.type in ADDRESS_TYPES and i.valid}
    first, key = None, contact_key(rt.settings)  # opens the sealed original photos and exact place
    for entry in tip.photos:
        try:
            result = analyse_bytes(entry["sha256"], rt.store.get_blob(entry["sha256"], key))
        except ModuleNotFoundError:  # without the street extra: the text's handles only
            first = first or {"sha256": entry["sha256"]}
            continue
        handles |= {i["normalized"] for i in result.indicators}
        first = first or {"sha256": entry["sha256"], "qr": result.qr}
    return handles, first


def spot_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``spot`` stage: a located graffiti tip becomes a sighting of a spot (once, whatever reruns)."""
    from shekteu.street.spots import add_report

    tip_id = int(payload["tip"])
    with rt.db.read() as session:
        tip = session.get(Tip, tip_id)
        if tip is None or tip.lat is None or tip.lon is None:
            return {"skipped": "no such located tip"}
    handles, first = read_photos(rt, tip)
    key = contact_key(rt.settings)
    lat, lon = exact_location(key, tip.location_sealed, tip.lat, tip.lon) or (tip.lat, tip.lon)
    with rt.db.write() as session:
        if session.scalar(select(SpotPhoto.id).where(SpotPhoto.tip_id == tip_id, SpotPhoto.role == "report")):
            return {"skipped": "already recorded"}
        result = add_report(session, lat=lat, lon=lon, indicators=sorted(handles), actor="system:tips",
                            tip_id=tip_id, photo=first)  # fmt: skip
        return {"spot": result.spot.id, "joined": result.joined}


def tip_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``tip`` stage: capture what the tip points to, classify, score, look for a duplicate.

    A failure is recorded on the tip (its page shows it) and the queue retries it with back-off."""
    tip_id = int(payload["tip"])
    try:
        done = process_tip(rt, tip_id, capture=bool(payload.get("capture", True)))
    except OperationalError:
        raise  # the database is busy or gone: no fault of the tip's, and it is not counted against it
    except Exception as exc:
        _failed(rt, tip_id, exc)
        raise
    if done is None:
        return {"skipped": "already processed"}
    return {"ticket": done.ticket, "score": done.score, "duplicate_of": done.duplicate_of,
            "captured": done.captured, "jobs": done.jobs}  # fmt: skip


def process_tip(rt: Runtime, tip_id: int, *, capture: bool = True) -> Processed | None:
    from shekteu.analysis import analyse_items
    from shekteu.capture.web import capture_urls

    with rt.db.read() as session:
        tip = session.get(Tip, tip_id)
        if tip is None or tip.processed_at is not None:
            return None
    display_copies(rt, tip_id, tip.photos)
    targets = capture_targets(tip.links, rt.settings.telegram_web_base) if capture else []
    # The pages' analysis jobs are run here (or waited for), so the score below counts them.
    captures = [o.id for o in capture_urls(rt, targets)] if targets else []
    if tip.item_id:
        analyse_items(rt, [tip.item_id])
    return _finish(rt, tip_id, captures)


def display_copies(rt: Runtime, tip_id: int, photos: list[dict[str, Any]]) -> None:
    """The copy of each photo people look at — upright, at most 2048 pixels, no metadata — made here
    rather than while the reporter waits (intake.py), outside any transaction; stored in one short one.
    A photo whose whole picture will not decode keeps its reason instead (its hash was read at intake)."""
    from shekteu.images import ImageError, display_copy, open_image

    key, made = contact_key(rt.settings), {}
    for n, entry in enumerate(photos):
        if entry.get("display_sha256") or entry.get("display_error"):
            continue
        try:
            made[n] = {"display_sha256": rt.store.put_blob(display_copy(open_image(rt.store.get_blob(entry["sha256"], key))))}
        except (ImageError, OSError) as exc:  # the tip is processed all the same: its hash came at intake
            made[n] = {"display_error": str(exc)[:300]}
    if not made:
        return
    with rt.db.write() as session:
        row = session.get(Tip, tip_id, with_for_update=True)
        if row is not None:  # what another run of this job stored first stays
            row.photos = [{**made.get(n, {}), **entry} for n, entry in enumerate(row.photos)]


def process_pending(rt: Runtime, *, capture: bool = True, limit: int = 100,
                    on_job: Callable[[int, int], None] | None = None) -> list[Processed]:  # fmt: skip
    """Process unprocessed tips now, here (``shekteu tips process``): each one's queued job is run
    (or waited for, when a worker has it), and so are the jobs it hands on (graffiti photos). A job
    waiting out a back-off after a failure is tried now; after ``MAX_ATTEMPTS`` failures in all it
    is quarantined."""
    from shekteu.queue.jobs import DUE, active
    from shekteu.queue.worker import run_jobs

    job_ids = []
    with rt.db.write() as session:
        tips = session.execute(
            select(Tip.id, Tip.ticket).where(Tip.processed_at.is_(None), Tip.process_attempts < MAX_ATTEMPTS)
            .order_by(Tip.id).limit(limit)
        ).all()  # fmt: skip
        for tip_id, ticket in tips:
            job = handoffs.tip_received(session, tip_id, ticket) or active(session, f"tip:{tip_id}")
            if job is not None:
                job_ids.append(job)
        for job in session.scalars(select(Job).where(Job.id.in_(job_ids), Job.state.in_(DUE))):
            job.run_after = utcnow()  # asked for now: no back-off
            if not capture:
                job.payload = {**job.payload, "capture": False}
    run_jobs(rt, job_ids, on_job=on_job)
    with rt.db.read() as session:
        results = session.scalars(select(Job.result).where(Job.id.in_(job_ids), Job.state == "done")
                                  .order_by(Job.id)).all()  # fmt: skip
    return [Processed(r["ticket"], r["score"], r["duplicate_of"], r["captured"], r.get("jobs", []))
            for r in results if r and "ticket" in r]  # fmt: skip


def _failed(rt: Runtime, tip_id: int, exc: Exception) -> None:
    # The error's type and message only: never the reporter's text (logs carry no content).
    error = type(exc).__name__ if isinstance(exc, DBAPIError) else f"{type(exc).__name__}: {str(exc)[:300]}"
    log.warning("tip %d could not be processed: %s", tip_id, type(exc).__name__)
    with rt.db.write() as session:
        row = session.get(Tip, tip_id)
        if row is None:
            return
        row.process_attempts += 1
        row.process_error = error
        audit.record(session, "tip.fail", f"tip:{row.ticket}", actor="system:tips",
                     reason="processing failed; the other tips went on",
                     detail={"error": error, "attempt": row.process_attempts})  # fmt: skip


def _finish(rt: Runtime, tip_id: int, captures: list[int]) -> Processed | None:
    with rt.db.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Finishing tips take turns, so of two repeats processed at once the second sees the first.
            session.execute(text("SELECT pg_advisory_xact_lock(7242004)"))
        row = session.get(Tip, tip_id, with_for_update=True)  # a location arriving now waits (intake.py)
        if row is None or row.processed_at is not None:
            return None
        item_ids = [row.item_id] if row.item_id else []
        if captures:
            item_ids += list(session.scalars(select(Item.id).where(Item.capture_id.in_(captures))))
        scores = [
            float(p.get("sale", 0.0)) + float(p.get("recruit", 0.0))
            for p in session.scalars(select(Verdict.probabilities).where(Verdict.item_id.in_(item_ids)))
        ]
        row.score = round(max(scores), 4) if scores else None
        key = contact_key(rt.settings)
        duplicate = find_duplicate(session, row, key)
        if duplicate is not None:
            row.duplicate_of = duplicate.id
            notify(session, row, messages.text("duplicate", row.lang, ticket=duplicate.ticket))
        else:
            for later in repeats(session, row, key, earlier=False):  # processed before this one
                later.duplicate_of, later.updated_at = row.id, utcnow()
                notify(session, later, messages.text("duplicate", later.lang, ticket=row.ticket))
                audit.record(session, "tip.duplicate", f"tip:{later.ticket}", actor="system:tips",
                             reason="an earlier tip of the same shop was processed after it",
                             detail={"duplicate_of": row.ticket})  # fmt: skip
        jobs = []
        if staff_alert.wanted(rt.settings, row.score) and row.staff_alerted_at is None:
            handoffs.tip_scored_high(session, row.id, row.ticket)
        if row.kind == "graffiti" and row.lat is not None and row.lon is not None:
            jobs.append(handoffs.graffiti_located(session, row.id, row.ticket))
        row.processed_at = row.updated_at = utcnow()
        row.process_error = None
        audit.record(session, "tip.process", f"tip:{row.ticket}", actor="system:tips",
                     reason="captured, classified, checked for duplicates",
                     detail={"score": row.score, "duplicate_of": duplicate.ticket if duplicate else None,
                             "captures": captures})  # fmt: skip
        return Processed(row.ticket, row.score, duplicate.ticket if duplicate else None, len(captures),
                         [j for j in jobs if j is not None])
