"""The job table's operations: enqueue, claim, finish, fail, and the admin's retry and drop.

The pattern of Solid Queue, Oban and procrastinate on the project's own database. A job is enqueued
in the same transaction as the change that causes it, so the change and its follow-up work commit
together or not at all. Claiming is one short transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so any number of workers on any number of machines take different jobs; on SQLite the write lock
makes the claiming writer the only one. A job whose worker died goes back to the queue — at once when
the worker was on this machine (its process is gone), after ``job_lease_seconds`` otherwise.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, event, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db import Database
from shekteu.db.ops_tables import JOB_ACTIVE, Job
from shekteu.db.tables import utcnow
from shekteu.items import _insert_for
from shekteu.users import authorize
from shekteu.wording import N_, Refusal, Term

log = logging.getLogger(__name__)
DUE = ("pending", "failed")
ACTIVE = ("pending", "failed", "running")
STATES = ("pending", "running", "failed", "quarantined", "done", "dropped")
BACKOFF_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
HOST = socket.gethostname()

wakeup = threading.Event()  # set when this process commits new jobs, so idle local workers look at once


class JobError(Refusal):
    """An admin's request on a job that cannot be met (unknown id, wrong state, no reason)."""


@dataclass
class Claimed:
    id: int
    stage: str
    subject: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker: str
    retries: int = 0  # quick retries after a busy database so far (see fail)


def worker_name() -> str:
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}"


def enqueue(
    session: Session,
    stage: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    *,
    dedup: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Queue ``stage`` for ``subject`` in the caller's transaction; the job's id, or None when an
    active job with the same ``dedup`` key is already queued (it will do the work)."""
    from shekteu.queue.stages import STAGES

    now = utcnow()
    known = STAGES.get(stage)
    max_attempts = max_attempts or (known.max_attempts if known else 5)
    values = {"stage": stage, "subject": subject[:500], "payload": payload or {}, "state": "pending",
              "priority": known.priority if known else 5,
              "attempts": 0, "max_attempts": max_attempts, "run_after": run_after or now, "created_at": now,
              "dedup_key": dedup}  # fmt: skip
    job_id = session.connection().scalar(_enqueue_statement(session, dedup is not None), values)
    session.info["jobs_enqueued"] = True
    return job_id


@lru_cache(maxsize=8)
def _enqueue_for(dialect: str, dedup: bool) -> Any:
    # Built once: a statement built for every job cost a third of a millisecond of CPU, and a report's
    # job is queued holding the write lock. The values come as parameters.
    # On the table, run on the session's connection: through the ORM it took the bulk-insert path.
    stmt = _insert_for(dialect)(Job.__table__)
    if dedup:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"], index_where=text(JOB_ACTIVE))
    return stmt.returning(Job.__table__.c.id)


def _enqueue_statement(session: Session, dedup: bool) -> Any:
    return _enqueue_for(session.get_bind().dialect.name, dedup)


def active(session: Session, dedup: str) -> int | None:
    """The id of the active job holding ``dedup``, if any."""
    return session.scalar(select(Job.id).where(Job.dedup_key == dedup, Job.state.in_(ACTIVE)))


def claim(db: Database, worker: str, lease_seconds: int, *, only: list[int] | None = None,
          stages: list[str] | None = None) -> Claimed | None:  # fmt: skip
    """Take the next due job (of ``only`` these ids, of ``stages``) for ``worker``; None if none is due."""
    taken = claim_many(db, worker, lease_seconds, only=only, stages=stages, limit=1)
    return taken[0] if taken else None


def claim_many(db: Database, worker: str, lease_seconds: int, *, only: list[int] | None = None,
               stages: list[str] | None = None, limit: int = 1) -> list[Claimed]:  # fmt: skip
    """Take up to ``limit`` due jobs, oldest first, in one short transaction."""
    now = utcnow()
    with db.write() as session:
        due, take = _claim_statements(db.dialect, only is not None, bool(stages))
        conn = session.connection()
        params: dict[str, Any] = {"now": now, "limit": limit}
        if only is not None:
            params["only"] = only
        if stages:
            params["stages"] = stages
        ids = list(conn.scalars(due, params))
        if not ids:
            return []
        rows = conn.execute(take, {"ids": ids, "by": worker, "now": now,
                                   "lease": now + timedelta(seconds=lease_seconds)}).all()  # fmt: skip
        return [Claimed(j.id, j.stage, j.subject, dict(j.payload or {}), j.attempts, j.max_attempts, worker,
                        j.retries or 0) for j in sorted(rows, key=lambda r: r.id)]  # fmt: skip


@lru_cache(maxsize=16)
def _claim_statements(dialect: str, only: bool, stages: bool) -> tuple[Any, Any]:
    """The due-jobs query and the update that takes them, built once per shape: a worker claims a job
    for every one it runs, and built with the ORM each claim cost a millisecond of CPU holding the
    write lock."""
    t = Job.__table__
    due = (select(t.c.id).where(t.c.state.in_(DUE), t.c.run_after <= bindparam("now"))
           .order_by(t.c.priority, t.c.run_after, t.c.id).limit(bindparam("limit")))  # fmt: skip
    if only:
        due = due.where(t.c.id.in_(bindparam("only", expanding=True)))
    if stages:
        due = due.where(t.c.stage.in_(bindparam("stages", expanding=True)))
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    take = (update(t).where(t.c.id.in_(bindparam("ids", expanding=True)))
            .values(state="running", attempts=t.c.attempts + 1, worker=bindparam("by"),
                    started_at=bindparam("now"), lease_until=bindparam("lease"))
            .returning(t.c.id, t.c.stage, t.c.subject, t.c.payload, t.c.attempts, t.c.max_attempts, t.c.retries))  # fmt: skip
    return due, take


def complete(db: Database, job: Claimed, result: dict[str, Any] | None) -> bool:
    """Mark the job done; False when this worker no longer held it (its lease ran out and another took it)."""
    return complete_many(db, [job], result) == 1


def complete_many(db: Database, done: list[Claimed], result: dict[str, Any] | None) -> int:
    """Mark jobs this worker holds done, in one transaction; how many it still held."""
    if not done:
        return 0
    with db.write() as session:
        return int(session.connection().execute(_COMPLETE, {
            "ids": [j.id for j in done], "by": done[0].worker, "now": utcnow(), "outcome": result or {},
        }).rowcount or 0)  # fmt: skip


_COMPLETE = (
    update(Job.__table__)
    .where(Job.__table__.c.id.in_(bindparam("ids", expanding=True)), Job.__table__.c.state == "running",
           Job.__table__.c.worker == bindparam("by"))
    .values(state="done", finished_at=bindparam("now"), lease_until=None, last_error=None, result=bindparam("outcome"))
)  # fmt: skip


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 5 s, 10 s, 20 s … up to an hour, with ±20 % jitter."""
    return min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS) * random.uniform(0.8, 1.2)


def describe(exc: BaseException) -> str:
    """An error for the job table and logs: its type and message, never bound statement values."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {str(exc.orig).splitlines()[0][:300] if exc.orig else ''}"
    return f"{type(exc).__name__}: {str(exc)[:500]}"


TRANSIENT_RETRY_SECONDS = 2.0  # a job failed on a lock or deadlock is tried again within this
FREE_RETRIES = 10  # quick retries after a busy database that do not count as attempts


def fail(db: Database, job: Claimed, exc: BaseException) -> str:
    """Record a failure: back to the queue after a back-off, or quarantined after the last attempt.

    A busy or lost database (deadlock, lock timeout, dropped connection) is no fault of the job's: it
    is tried again within a second or two and does not count as an attempt — the first
    ``FREE_RETRIES`` times of its life. Past that the trouble is not passing (a read-only database, a
    missing table) and each failure counts, with the usual back-off, so the job ends quarantined
    instead of spinning. Returns the state the job is now in."""
    error = describe(exc)
    transient = isinstance(exc, OperationalError) and job.retries < FREE_RETRIES
    attempts = job.attempts - 1 if transient else job.attempts
    state = "quarantined" if attempts >= job.max_attempts else "failed"
    delay = backoff(max(attempts, 1)) if not transient else random.uniform(0.05, TRANSIENT_RETRY_SECONDS - 1.0)
    retries = job.retries + 1 if transient else job.retries
    with db.write() as session:
        moved = session.execute(
            update(Job).where(Job.id == job.id, Job.state == "running", Job.worker == job.worker)
            .values(state=state, attempts=attempts, retries=retries, last_error=error, lease_until=None,
                    finished_at=utcnow() if state == "quarantined" else None,
                    run_after=utcnow() + timedelta(seconds=delay))
        ).rowcount  # fmt: skip
        if moved and state == "quarantined":
            audit.record(session, "job.quarantine", f"job:{job.id}", actor="system:worker",
                         reason=f"failed {attempts} times; the other jobs go on",
                         detail={"stage": job.stage, "subject": job.subject, "error": error})  # fmt: skip
    log.warning("job %d (%s %s) failed, now %s: %s", job.id, job.stage, job.subject, state, error)
    return state


def recover(db: Database) -> int:
    """Return the jobs of dead workers to the queue: on this machine, those whose process is gone;
    anywhere, those whose lease ran out. Returns how many."""
    now = utcnow()
    with db.write() as session:
        mine = session.execute(
            select(Job.id, Job.worker).where(Job.state == "running", Job.worker.startswith(HOST + ":"))
        ).all()
        dead = [job_id for job_id, worker in mine if not _alive(worker)]
        stale = (Job.state == "running") & (Job.lease_until < now)
        if dead:
            stale = stale | Job.id.in_(dead)
        moved = session.execute(
            update(Job).where(stale)
            .values(state="failed", lease_until=None, run_after=now,
                    last_error="the worker stopped before finishing (crash, kill or lost lease)")
        ).rowcount  # fmt: skip
    return int(moved or 0)


def _alive(worker: str | None) -> bool:
    try:
        pid = int((worker or "").split(":")[1])
    except (IndexError, ValueError):
        return True
    if pid == os.getpid():
        return True  # this process: its threads hold their jobs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def counts(session: Session) -> dict[str, Any]:
    """The queue at a glance: ``{"pending","running","failed","quarantined","by_stage":{…}}``."""
    out: dict[str, Any] = {"pending": 0, "running": 0, "failed": 0, "quarantined": 0, "by_stage": {}}
    rows = session.execute(
        select(Job.stage, Job.state, func.count()).where(Job.state.in_(("pending", "running", "failed",
                                                                         "quarantined")))
        .group_by(Job.stage, Job.state)
    )  # fmt: skip
    for stage, state, n in rows:
        out[state] += n
        out["by_stage"].setdefault(stage, {"pending": 0, "running": 0, "failed": 0, "quarantined": 0})[state] = n
    return out


def listing(session: Session, state: str | None = None, limit: int = 100) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(max(1, min(limit, 1000)))
    if state:
        if state not in STATES:
            raise JobError(N_("unknown job state {state!r}; use one of {known}"), state=state[:80], known=", ".join(STATES))
        query = query.where(Job.state == state)
    return list(session.scalars(query))


def job_json(job: Job) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": job.id, "stage": job.stage, "subject": job.subject, "state": job.state,
            "attempts": job.attempts, "max_attempts": job.max_attempts, "run_after": iso(job.run_after),
            "created_at": iso(job.created_at), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at), "worker": job.worker, "last_error": job.last_error,
            "result": job.result}  # fmt: skip


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise JobError(N_("no job with id {id}"), id=job_id)
    return job


def retry(session: Session, job_id: int, *, actor: str, reason: str | None = None) -> Job:
    """Put a quarantined, failed or dropped job back in the queue, due now, with its attempts reset."""
    actor = authorize(session, actor, "queue.manage")
    job = _get(session, job_id)
    if job.state not in ("quarantined", "failed", "dropped"):
        raise JobError(N_("job {id} is {state}: only a quarantined, failed or dropped job can be retried"), id=job_id,
                       state=Term(job.state))  # fmt: skip
    if job.dedup_key and (other := active(session, job.dedup_key)) and other != job.id:
        raise JobError(N_("job {other} already does this work ({key}); retry that one instead"), other=other,
                       key=job.dedup_key)  # fmt: skip
    before = job.state
    job.state, job.attempts, job.retries, job.run_after, job.finished_at = "pending", 0, 0, utcnow(), None
    audit.record(session, "job.retry", f"job:{job.id}", actor=actor, reason=reason or "retried by an admin",
                 detail={"from": before, "stage": job.stage, "subject": job.subject, "error": job.last_error})  # fmt: skip
    session.info["jobs_enqueued"] = True
    return job


def drop(session: Session, job_id: int, *, actor: str, reason: str) -> Job:
    """Give up on a job that is not running (audited with the reason)."""
    actor = authorize(session, actor, "queue.manage")
    if not reason or not reason.strip():
        raise JobError(N_("dropping a job needs a reason (--reason)"))
    job = _get(session, job_id)
    if job.state in ("running", "done", "dropped"):
        raise JobError(N_("job {id} is {state}: only a pending, failed or quarantined job can be dropped"), id=job_id,
                       state=Term(job.state))  # fmt: skip
    before = job.state
    job.state, job.finished_at = "dropped", utcnow()
    audit.record(session, "job.drop", f"job:{job.id}", actor=actor, reason=reason.strip(),
                 detail={"from": before, "stage": job.stage, "subject": job.subject, "error": job.last_error})  # fmt: skip
    return job


def states(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(select(Job.id, Job.state).where(Job.id.in_(ids))).all()) if ids else {}


@event.listens_for(Session, "after_commit")
def _wake_local_workers(session: Session) -> None:
    if session.info.pop("jobs_enqueued", False):
        wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("jobs_enqueued", None)
