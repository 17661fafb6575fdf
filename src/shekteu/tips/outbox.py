"""Sending the queued notifications through the channel each reporter used.

A notification carries its own sealed copy of the address; it is opened only to send, and erased
once sent. A failed send is retried on the next run, up to ``MAX_ATTEMPTS``; the error is kept
(without the address).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from shekteu.db.tables import Notification, utcnow
from shekteu.runtime import Runtime, contact_key
from shekteu.tips.privacy import SealError, unseal

MAX_ATTEMPTS = 5


class DeliveryError(RuntimeError):
    """The channel refused or failed to deliver; the message says why (never the address)."""


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0


def deliver(rt: Runtime, channel: str, send: Callable[[str, str], None], *, limit: int = 200) -> DeliveryRun:
    """Send up to ``limit`` pending notifications of ``channel`` with ``send(address, text)``."""
    run = DeliveryRun()
    key = contact_key(rt.settings)
    with rt.db.read() as session:
        pending = list(session.scalars(
            select(Notification).where(Notification.channel == channel, Notification.status == "pending")
            .order_by(Notification.id).limit(limit)
        ))  # fmt: skip
    blocked: set[int] = set()  # tips whose earlier message failed: later ones wait, to keep the order
    for note in pending:
        if note.tip_id in blocked:
            continue
        error = None
        try:
            send(unseal(key, note.contact_sealed or ""), note.text)
        except (DeliveryError, SealError) as exc:
            error = str(exc)
        with rt.db.write() as session:
            row = session.get(Notification, note.id)
            if row is None or row.status != "pending":
                continue
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.contact_sealed, row.error = "sent", utcnow(), None, None
                run.sent += 1
            else:
                row.error = error[:500]
                run.failed += 1
                blocked.add(note.tip_id)
                if row.attempts >= MAX_ATTEMPTS:
                    row.status, row.contact_sealed = "failed", None
    return run
