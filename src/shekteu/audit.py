"""The audit log: every state change with who, when, why — hash-chained so edits show.

Each entry's hash covers its content and the previous entry's hash; `verify_chain` recomputes
the chain. Callers record inside the same transaction as the change they describe, so a change and
its audit entry land together or not at all.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from shekteu.db.tables import AuditEntry, utcnow
from shekteu.text.clean import clean_json, clean_text

GENESIS = "0" * 64
PENDING = "shekteu.audit.pending"


def current_actor() -> str:
    """The local account running a CLI command; web and bot adapters pass their own user."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


def _digest(prev: str, entry: AuditEntry) -> str:
    body = json.dumps(
        [prev, entry.at.isoformat(), entry.actor, entry.action, entry.target, entry.reason, entry.detail],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    action: str,
    target: str,
    *,
    actor: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction; it is chained and written as the transaction commits.

    Chaining needs the newest entry's hash, so chaining writers take turns (an advisory lock on
    PostgreSQL, the write lock on SQLite). Taking that turn at commit, after every row lock the
    transaction holds, keeps it short and means it can never wait in a cycle with a row lock: the
    deadlocks of issue 20 came from taking it mid-transaction."""
    # Cleaned before hashing: the stored values are cleaned (``db/tables.py``), and the hash must
    # be of what is stored.
    entry = AuditEntry(
        at=utcnow(),
        actor=clean_text(actor or current_actor()),
        action=action,
        target=clean_text(target),
        reason=clean_text(reason) if reason else reason,
        detail=clean_json(detail or {}),
    )
    session.info.setdefault(PENDING, []).append(entry)
    return entry


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    entries = session.info.pop(PENDING, None)
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7242001)"))
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = prev = _digest(prev, entry)
        session.add(entry)
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


def verify_chain(session: Session) -> list[int]:
    """Ids of entries whose hash or link does not match; empty when the log is intact."""
    bad, prev = [], GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev or entry.hash != _digest(prev, entry):
            bad.append(entry.id)
        prev = entry.hash
    return bad


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "target": entry.target, "reason": entry.reason, "detail": entry.detail}  # fmt: skip


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries newest first. ``action`` ending in '.' matches a family (``takedown.``); ``target`` is a
    prefix (``shop:12``)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True) if action.endswith(".")
                            else AuditEntry.action == action)  # fmt: skip
    if target:
        query = query.where(AuditEntry.target.startswith(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
