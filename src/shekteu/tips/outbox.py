"""Sending the queued notifications through the channel each reporter used.

A notification carries its own sealed copy of the address; it is opened only to send, and erased
once sent. A failed send is retried on the next run, up to ``MAX_ATTEMPTS``; the error is kept
(without the address). Delivery is a ``deliver`` job per channel, queued with the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from shekteu.db.tables import Notification, utcnow
from shekteu.queue.jobs import worker_name
from shekteu.runtime import Runtime, contact_key
from shekteu.tips.privacy import SealError, unseal

MAX_ATTEMPTS = 5
CLAIM_SECONDS = 300  # a send that has not finished by then died with its sender


class DeliveryError(RuntimeError):
    """The channel refused or failed to deliver; the message says why (never the address)."""


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0


def deliver(rt: Runtime, channel: str, send: Callable[[str, str], None], *, limit: int = 200) -> DeliveryRun:
    """Send up to ``limit`` pending notifications of ``channel`` with ``send(address, text)``.

    Each one is claimed in its own short transaction before it is sent, so two delivery runs at
    once (two webhook deliveries, a bot and a worker) never send one message twice; a claim older
    than ``CLAIM_SECONDS`` (its sender died mid-send) may be taken again."""
    run = DeliveryRun()
    key = contact_key(rt.settings)
    me = worker_name()
    with rt.db.read() as session:
        pending = list(session.scalars(
            select(Notification).where(Notification.channel == channel, Notification.status == "pending")
            .order_by(Notification.id).limit(limit)
        ))  # fmt: skip
    blocked: set[int] = set()  # tips whose earlier message failed or is being sent: later ones wait
    for note in pending:
        if note.tip_id in blocked:
            continue
        if not _claim(rt, note.id, me):
            blocked.add(note.tip_id)
            continue
        error = None
        try:
            send(unseal(key, note.contact_sealed or ""), note.text)
        except (DeliveryError, SealError) as exc:
            error = str(exc)
        with rt.db.write() as session:
            row = session.get(Notification, note.id)
            if row is None or row.status != "pending" or row.claimed_by != me:
                continue
            row.attempts += 1
            row.claimed_at = row.claimed_by = None
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


def _claim(rt: Runtime, note_id: int, me: str) -> bool:
    now = utcnow()
    free = Notification.claimed_at.is_(None) | (Notification.claimed_at < now - timedelta(seconds=CLAIM_SECONDS))
    with rt.db.write() as session:
        return bool(session.execute(
            update(Notification).where(Notification.id == note_id, Notification.status == "pending", free)
            .values(claimed_at=now, claimed_by=me)
        ).rowcount)  # fmt: skip


# Each messenger's sender, in its integration folder (imported when a delivery of that channel runs).
SENDERS = {"telegram": "shekteu.integrations.telegram.outbound:sender",
           "whatsapp": "shekteu.integrations.whatsapp.outbound:sender"}  # fmt: skip


def _sender(channel: str, rt: Runtime) -> Callable[[str, str], None]:
    from importlib import import_module

    module, name = SENDERS[channel].split(":")
    return getattr(import_module(module), name)(rt)


def deliver_job(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``deliver`` stage: send a channel's pending messages. A channel that is not configured on
    this machine is left to a worker that has it (the periodic sweep queues it again)."""
    channel = str(payload.get("channel", ""))
    if channel not in SENDERS:
        return {"skipped": f"unknown channel {channel!r}"}
    try:
        send = _sender(channel, rt)
    except (DeliveryError, ModuleNotFoundError) as exc:
        return {"skipped": str(exc)}
    run = deliver(rt, channel, send)
    return {"sent": run.sent, "failed": run.failed}  # failed ones: the periodic sweep tries again
