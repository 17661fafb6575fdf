"""Where one pipeline stage hands work to the next: every enqueue of the pipeline, in one place.

A stage never calls or imports the next one; it calls one of these in the transaction that stores
its result, and a worker picks the job up (``stages.py`` says which function runs it). Reading this
file top to bottom is reading the pipeline: report → tip → capture and analysis → shops; graffiti
photo → spot; high score → staff chat; status change → notification; sent takedown → re-check; seismic alert → staff chat.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shekteu.queue.jobs import enqueue

ANALYSE_BATCH = 256


def tip_received(session: Session, tip_id: int, ticket: str) -> int | None:
    """A report was stored: capture what it points to, classify it, look for duplicates."""
    return enqueue(session, "tip", f"tip:{ticket}", {"tip": tip_id}, dedup=f"tip:{tip_id}")


def items_stored(session: Session, item_ids: list[int]) -> list[int]:
    """New or changed items: classify them, extract their indicators, join them into shops."""
    ids = sorted(set(item_ids))
    jobs = []
    for start in range(0, len(ids), ANALYSE_BATCH):
        chunk = ids[start : start + ANALYSE_BATCH]
        job = enqueue(session, "analyse", f"items:{chunk[0]}-{chunk[-1]}", {"items": chunk})
        if job is not None:
            jobs.append(job)
    return jobs


def urls_to_capture(session: Session, urls: list[str], *, screenshot: bool | None = None) -> int | None:
    """URLs to fetch as evidence (``shekteu capture --no-wait``)."""
    payload: dict[str, object] = {"urls": urls}
    if screenshot is not None:
        payload["screenshot"] = screenshot
    return enqueue(session, "capture", f"urls:{len(urls)}:{urls[0][:200]}" if urls else "urls:0", payload)


def graffiti_located(session: Session, tip_id: int, ticket: str) -> int | None:
    """A located graffiti tip: read its photos (QR, OCR) and record the sighting of a spot."""
    return enqueue(session, "spot", f"tip:{ticket}", {"tip": tip_id}, dedup=f"spot:{tip_id}")


def notification_queued(session: Session, channel: str) -> int | None:
    """A message owed to a reporter: one delivery run per channel covers every pending message."""
    return enqueue(session, "deliver", f"channel:{channel}", {"channel": channel}, dedup=f"deliver:{channel}")


def tip_scored_high(session: Session, tip_id: int, ticket: str) -> int | None:
    """A processed tip scored at or above SHEKTEU_TIP_ALERT_SCORE: tell the staff chat, once."""
    return enqueue(session, "tip_alert", f"tip:{ticket}", {"tip": tip_id}, dedup=f"tip_alert:{tip_id}")


def seismic_alert_raised(session: Session, alert_id: int) -> int | None:
    """Sensors at a site heard a walker or a vehicle, or one fell ill: tell the staff chat."""
    return enqueue(session, "alert", f"seismic_alert:{alert_id}", {"alert": alert_id}, dedup=f"alert:{alert_id}")
