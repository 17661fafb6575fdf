"""The queue's own upkeep, run as a periodic job: dead workers' jobs back in the queue, finished jobs
purged after a week, a delivery run for any channel whose messages wait (one whose last run
failed and backed off, or that was queued before this version), and a capture job for each watched
page that is due (``capture/watch.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from shekteu.capture.watch import queue_due
from shekteu.db.ops_tables import Job
from shekteu.db.tables import Notification, utcnow
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
        watches = queue_due(session)
    return {"recovered": recovered, "purged": int(purged or 0), "deliveries": channels, "watches": watches}
