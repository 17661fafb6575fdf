"""The audit log: every state change with who, when, why — hash-chained so edits show.

Each entry's hash covers its content and the previous entry's hash; `verify_chain` recomputes
the chain. Callers record inside the same transaction as the change they describe, so a change and
its audit entry land together or not at all.

A chain alone shows an edit in the middle, not a rewrite: whoever can write the table can cut its
tail, re-hash everything after an edit, or append an entry of their own. So each entry is also
sealed (HMAC-SHA256 under the audit key, which lives outside the database), and after every commit
the newest entry's id and hash are written to a witness file outside the database; RFC 3161 tokens
over the chain head (``evidence/timestamps.py``) anchor it with a third party. ``audit_check.py``
checks all of it.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from shekteu.db.tables import AuditEntry, utcnow
from shekteu.text.clean import clean_json, clean_text

GENESIS = "0" * 64
PENDING = "shekteu.audit.pending"
KEY = "shekteu.audit.key"  # session.info: the sealing key (bytes) or None
WITNESS = "shekteu.audit.witness"  # session.info: the witness file's path or None
_HEAD = "shekteu.audit.head"  # session.info: (id, hash) of the newest entry this transaction wrote
_BROKEN = "shekteu.audit.broken"  # session.info: the witness's entry, found missing when chaining on
MAX_BROKEN = 10


def current_actor() -> str:
    """The local account running a CLI command; web and bot adapters pass their own user."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


def _digest(prev: str, entry: AuditEntry) -> str:
    return digest_of(prev, entry.at.isoformat(), entry.actor, entry.action, entry.target, entry.reason, entry.detail)


def digest_of(prev: str, at: str, actor: str, action: str, target: str, reason: str | None, detail: Any) -> str:
    """An entry's chain hash from its exported fields (what a dossier's custody.jsonl holds)."""
    body = json.dumps([prev, at, actor, action, target, reason, detail], ensure_ascii=False, sort_keys=True,
                      default=str)  # fmt: skip
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


# The newest hash and the witness's entry in one round trip: each round trip inside the chaining turn
# is a wait for the interpreter lock on the way back, with every other writer waiting behind it (0.5 s
# write transactions under 200 concurrent reports, bench/intake.py). On PostgreSQL the read must come
# after the lock is granted, yet a statement reads from the snapshot taken as it starts, so one that
# waited for the lock would not see the entry its predecessor just committed: the lock and the read are
# two queries of one VOLATILE function (migration 0019), which takes a fresh snapshot for each.
_TURN = text("SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS head, "
             "(SELECT hash FROM audit_log WHERE id = :seen) AS seen")  # fmt: skip
_PG_TURN = text("SELECT head, seen_hash AS seen FROM shekteu_audit_turn(:seen)")


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    entries = session.info.pop(PENDING, None)
    if not entries:
        return
    witness = _witness_to_check(session)  # read before the turn: a file read is no reason to hold it
    seen = {"seen": witness["id"] if witness else -1}
    # On PostgreSQL the lock and the read after it are one call of a function (migration 0019): see _TURN.
    pg = session.get_bind().dialect.name == "postgresql"
    row = session.execute(_PG_TURN if pg else _TURN, seen).one()
    prev = row.head or GENESIS
    key = session.info.get(KEY)
    if witness and row.seen != witness.get("hash"):
        session.info[_BROKEN] = {"id": witness["id"], "hash": witness.get("hash"), "noticed": utcnow().isoformat()}
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = prev = _digest(prev, entry)
        entry.seal = seal_of(key, entry.hash) if key else None
        entry.id = session.connection().scalar(_INSERT, {c: getattr(entry, c) for c in _COLUMNS})
    session.info[_HEAD] = (entries[-1].id, entries[-1].hash)


# Written with one prebuilt statement rather than through the ORM's flush: this runs inside the
# chaining turn, where every other auditing writer waits.
_COLUMNS = ("at", "actor", "action", "target", "reason", "detail", "prev_hash", "hash", "seal")
_INSERT = insert(AuditEntry.__table__).returning(AuditEntry.__table__.c.id)


def _witness_to_check(session: Session) -> dict[str, Any] | None:
    """The witness whose entry must still be there before chaining on: a tail cut (or a rewrite)
    followed by honest new entries would otherwise leave a consistent chain and a witness that moves
    on. What is missing is written into the witness for good (``broken``), so `audit verify` says so.
    (Read just before the chaining turn, it may be a commit behind: that entry must be there too.)"""
    path = session.info.get(WITNESS)
    witness = read_witness(Path(path)) if path else None
    if not witness or not isinstance(witness.get("id"), int) or witness.get("error"):
        return None
    return witness


@event.listens_for(Session, "after_commit")
def _witness_head(session: Session) -> None:
    head, path = session.info.pop(_HEAD, None), session.info.get(WITNESS)
    broken = session.info.pop(_BROKEN, None)
    if head and path:
        advance_witness(Path(path), head[0], head[1], session.info.get(KEY), broken=broken)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(_HEAD, None)
    session.info.pop(_BROKEN, None)


def seal_of(key: bytes, entry_hash: str) -> str:
    return hmac.new(key, b"shekteu-audit-seal\0" + entry_hash.encode(), hashlib.sha256).hexdigest()


def _witness_mac(key: bytes, entry_id: int, entry_hash: str, broken: list[Any] | None = None) -> str:
    body = f"shekteu-audit-witness\0{entry_id}\0{entry_hash}"
    if broken:
        body += "\0" + json.dumps(broken, sort_keys=True)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


WITNESS_SIZE = 4096  # the record is rewritten in place, padded to this size, in one write


def advance_witness(path: Path, entry_id: int, entry_hash: str, key: bytes | None, *,
                    broken: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Remember (id, hash) of a committed entry unless the file already names a newer one.

    Writers take turns on the file's lock and rewrite it in place with one small write (no temporary
    file: this runs after every commit that audits). A crash between a commit and this write leaves
    the witness a step behind, which verification accepts: the log may be ahead of its witness,
    never behind it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        current = _parse_witness(os.pread(fd, WITNESS_SIZE, 0))
        kept = list(current.get("broken") or []) if current and isinstance(current.get("broken"), list) else []
        if broken:
            kept = [*kept, broken][-MAX_BROKEN:]
        if current and isinstance(current.get("id"), int) and current["id"] >= entry_id and not broken:
            return
        if current and isinstance(current.get("id"), int) and current["id"] > entry_id:
            entry_id, entry_hash = current["id"], str(current.get("hash"))  # keep the newer head
        body: dict[str, Any] = {"id": entry_id, "hash": entry_hash, "at": utcnow().isoformat()}
        if kept:
            body["broken"] = kept
        if key:
            body["mac"] = _witness_mac(key, entry_id, entry_hash, kept)
        os.pwrite(fd, json.dumps(body).encode().ljust(WITNESS_SIZE), 0)
    finally:
        os.close(fd)  # closing releases the lock


def _parse_witness(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return {"id": None, "error": "not a readable witness file"}
    return data if isinstance(data, dict) else {"id": None, "error": "not a witness file"}


def read_witness(path: Path) -> dict[str, Any] | None:
    """The witness file's content; None when there is none (a fresh install)."""
    try:
        found = _parse_witness(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError:
        return {"id": None, "error": f"{path} is not a readable witness file"}
    if found and found.get("error"):
        found["error"] = f"{path} is {found['error']}"
    return found


def witness_genuine(witness: dict[str, Any], key: bytes | None) -> bool:
    if not key or "mac" not in witness:
        return not key  # no key: nothing to check it with; key but no mac: not ours
    expected = _witness_mac(key, int(witness["id"]), str(witness["hash"]), witness.get("broken") or None)
    return hmac.compare_digest(expected, str(witness["mac"]))


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
