"""The queue's own upkeep, run as a periodic job: dead workers' jobs back in the queue, finished jobs
purged after a week, a delivery run for any channel whose messages wait (one whose last run
failed and backed off, or that was queued before this version), a staff alert for each high-score
tip of the last week that has none (processed before alerts were jobs: the bot's old pump would
have sent them), and a capture job for each watched page that is due (``capture/watch.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, delete, literal, select
from sqlalchemy.orm import Session

from shekteu.capture.watch import queue_due
from shekteu.db.ops_tables import Job
from shekteu.db.tables import Notification, Tip, utcnow
from shekteu.queue import handoffs
from shekteu.queue.jobs import recover
from shekteu.runtime import Runtime

KEEP_DONE = timedelta(days=7)


def maintain_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    recovered = recover(rt.db)
    with rt.db.write() as session:
        purged = session.execute(
            delete(Job).where(Job.state.in_(("done", "dropped")), Job.finished_at < utcnow() - KEEP_DONE)
        ).rowcount
        channels = list(session.scalars(
            select(Notification.channel).where(Notification.status == "pending").distinct()
        ))  # fmt: skip
        for channel in channels:
            handoffs.notification_queued(session, channel)
        alerts = _alerts_missing(rt, session)
        watches = queue_due(session)
    return {"recovered": recovered, "purged": int(purged or 0), "deliveries": channels, "alerts": alerts,
            "watches": watches}  # fmt: skip


def _alerts_missing(rt: Runtime, session: Session, limit: int = 500) -> int:
    """Queue the staff alert of processed high-score tips received in the last ``KEEP_DONE`` that never
    had an alert job (any state: a quarantined or dropped one is an answer, not a gap); older tips are
    news no longer, and their jobs may have been purged."""
    if rt.settings.telegram_staff_chat is None:
        return 0
    had_job = (select(Job.id).where(Job.stage == "tip_alert", Job.dedup_key == literal("tip_alert:") + cast(Tip.id, String))
               .exists())  # fmt: skip
    tips = session.execute(
        select(Tip.id, Tip.ticket)
        .where(Tip.created_at >= utcnow() - KEEP_DONE, Tip.processed_at.is_not(None), Tip.staff_alerted_at.is_(None),
               Tip.score >= rt.settings.tip_alert_score, ~had_job)
        .order_by(Tip.id).limit(limit)
    ).all()  # fmt: skip
    return sum(handoffs.tip_scored_high(session, tip_id, ticket) is not None for tip_id, ticket in tips)
