"""Workers: threads that claim jobs, run their stage and record the outcome.

``shekteu worker`` runs one in the foreground; ``serve`` and ``bot`` embed one (``start``/``stop``)
so a one-machine install stays one command. A stop request (SIGTERM, Ctrl-C) lets each thread
finish its current job. A job's failure is recorded on the job (back-off, then quarantine) and
never stops the worker; ``drain`` runs everything due and returns, and ``run_jobs`` runs given jobs
(and the jobs they hand on) so a CLI command can print results that are already current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from shekteu.db.ops_tables import Job
from shekteu.db.tables import utcnow
from shekteu.queue import jobs
from shekteu.queue.stages import BATCH, PERIODIC, STAGES, handler
from shekteu.runtime import Runtime

log = logging.getLogger(__name__)
WAIT_BATCH = 128  # jobs of a batching stage that run_jobs runs as one call
TICK_SECONDS = 10.0  # how often periodic work is looked at and running jobs' leases renewed


@dataclass
class WorkerRun:
    done: int = 0
    failed: int = 0
    quarantined: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "quarantined": self.quarantined,
                "by_stage": dict(sorted(self.by_stage.items()))}  # fmt: skip


def execute_together(rt: Runtime, batch: list[jobs.Claimed], run: WorkerRun) -> None:
    """Run jobs of one batching stage as one call on their joined payload; if that fails, each alone,
    so one bad job is recorded against itself only."""
    if len(batch) == 1:
        execute(rt, batch[0], run)
        return
    key = STAGES[batch[0].stage].batch or ""
    joined = sorted({v for job in batch for v in job.payload.get(key, [])})
    try:
        result = handler(batch[0].stage)(rt, {key: joined}) or {}
    except Exception:  # find the bad one
        log.warning("a batch of %d %s jobs failed; running them one by one", len(batch), batch[0].stage)
        for job in batch:
            execute(rt, job, run)
        return
    jobs.complete_many(rt.db, batch, {**result, "batch": len(batch)})
    run.done += len(batch)
    run.by_stage[batch[0].stage] = run.by_stage.get(batch[0].stage, 0) + len(batch)


def execute(rt: Runtime, job: jobs.Claimed, run: WorkerRun) -> dict[str, Any] | None:
    """Run one claimed job and record how it went; the result, or None when it failed."""
    try:
        result = handler(job.stage)(rt, job.payload) or {}
    except Exception as exc:  # the job failed, not the worker: record it on the job and go on
        state = jobs.fail(rt.db, job, exc)
        run.quarantined += state == "quarantined"
        run.failed += state == "failed"
        return None
    if not jobs.complete(rt.db, job, result):
        log.warning("job %d finished after its lease had passed to another worker", job.id)
    run.done += 1
    run.by_stage[job.stage] = run.by_stage.get(job.stage, 0) + 1
    return result


class Worker:
    def __init__(self, rt: Runtime, *, concurrency: int | None = None, stages: list[str] | None = None,
                 on_job: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.rt = rt
        self.concurrency = concurrency or rt.settings.worker_concurrency
        self.stages = stages
        self.on_job = on_job
        self.stopping = threading.Event()
        self.run_summary = WorkerRun()
        self._lock = threading.Lock()
        self._busy = 0
        self._heavy = 0  # threads on a heavy stage's job
        self._running: dict[int, str] = {}  # job id -> worker name, for lease renewal
        self._threads: list[threading.Thread] = []

    # -- foreground ---------------------------------------------------------------------------------
    def run(self, *, drain: bool = False) -> WorkerRun:
        """Run until stopped (or, with ``drain``, until nothing is due and nothing is running)."""
        jobs.recover(self.rt.db)
        threads = [threading.Thread(target=self._loop, args=(drain,), name=f"shekteu-worker-{i}", daemon=True)
                   for i in range(self.concurrency)]  # fmt: skip
        for thread in threads:
            thread.start()
        next_tick = 0.0
        while any(t.is_alive() for t in threads):
            if not drain and time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + TICK_SECONDS
            for thread in threads:
                thread.join(timeout=0.2)
        return self.run_summary

    # -- embedded -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run in background threads of this process (``serve``, ``bot``)."""
        self._threads = [threading.Thread(target=self.run, name="shekteu-worker", daemon=True)]
        self._threads[0].start()

    def stop(self, timeout: float = 60.0) -> None:
        """Ask every thread to stop after its current job, and wait for them."""
        self.stopping.set()
        jobs.wakeup.set()
        for thread in self._threads:
            thread.join(timeout)

    # -- inside ---------------------------------------------------------------------------------
    def _loop(self, drain: bool) -> None:
        name = jobs.worker_name()
        while not self.stopping.is_set():
            try:
                with self._lock:
                    job = jobs.claim(self.rt.db, name, self.rt.settings.job_lease_seconds, stages=self._claimable())
                    batch = [job] if job is not None else []
                    if job is not None and STAGES[job.stage].batch:
                        batch += jobs.claim_many(self.rt.db, name, self.rt.settings.job_lease_seconds,
                                                 stages=[job.stage], limit=BATCH - 1)  # fmt: skip
                    if job is not None:
                        self._busy += 1
                        self._heavy += STAGES[job.stage].heavy
                        self._running.update({j.id: name for j in batch})
            except Exception:  # the database is away: wait and try again
                log.exception("claiming a job failed")
                self.stopping.wait(self.rt.settings.worker_poll_seconds)
                continue
            if job is None:
                if drain and self._busy == 0:
                    jobs.wakeup.set()  # let sibling threads see it too
                    return
                jobs.wakeup.wait(self.rt.settings.worker_poll_seconds if not drain else 0.05)
                jobs.wakeup.clear()
                continue
            try:
                execute_together(self.rt, batch, self.run_summary)
                if self.on_job:
                    self.on_job(job.stage)
            except Exception:  # recording the outcome failed (the database went away): its lease runs out
                log.exception("job %d: its outcome could not be recorded", job.id)
                self.stopping.wait(self.rt.settings.worker_poll_seconds)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._heavy -= STAGES[job.stage].heavy
                    for j in batch:
                        self._running.pop(j.id, None)

    def _claimable(self) -> list[str] | None:
        """The stages a free thread may take: not a heavy one when all other threads would then be on
        heavy jobs (a burst of photos must not hold up the reports behind them)."""
        if self.concurrency > 1 and self._heavy >= self.concurrency - 1:
            return [s for s in (self.stages or STAGES) if not STAGES[s].heavy]
        return self.stages or list(STAGES)  # never a stage this version does not know (a newer worker's)

    def _tick(self) -> None:
        try:
            schedule(self.rt)
            self._renew()
        except Exception:
            log.exception("periodic scheduling failed")

    def _renew(self) -> None:
        with self._lock:
            running = dict(self._running)
        if not running:
            return
        until = utcnow() + timedelta(seconds=self.rt.settings.job_lease_seconds)
        with self.rt.db.write() as session:
            for job_id, name in running.items():
                session.execute(update(Job).where(Job.id == job_id, Job.worker == name, Job.state == "running")
                                .values(lease_until=until))  # fmt: skip


def schedule(rt: Runtime) -> list[int]:
    """Queue the periodic jobs that are due (at most one of each is ever active)."""
    made = []
    now = utcnow()
    with rt.db.write() as session:
        for task in PERIODIC:
            every = task.every_seconds(rt)
            if every <= 0:
                continue
            recent = session.scalar(
                select(Job.id).where(Job.stage == task.stage, Job.created_at > now - timedelta(seconds=every))
                .limit(1)
            )  # fmt: skip
            if recent is None and (job := jobs.enqueue(session, task.stage, "periodic", {},
                                                       dedup=f"periodic:{task.stage}")):  # fmt: skip
                made.append(job)
    return made


def drain(rt: Runtime, *, concurrency: int | None = None) -> WorkerRun:
    return Worker(rt, concurrency=concurrency).run(drain=True)


def run_jobs(rt: Runtime, ids: list[int], *, timeout: float = 3600.0,
             on_job: Callable[[int, int], None] | None = None) -> WorkerRun:  # fmt: skip
    """Run the given jobs here (and the jobs their results hand on), or wait for the workers that
    took them; returns when none is due or running any more. ``on_job(done, known)`` is told after
    each job run here (for progress bars)."""
    run, wanted = WorkerRun(), set(ids)
    name = jobs.worker_name()
    deadline = time.monotonic() + timeout
    while wanted and time.monotonic() < deadline:
        job = jobs.claim(rt.db, name, rt.settings.job_lease_seconds, only=sorted(wanted))
        if job is not None and STAGES[job.stage].batch:
            # The caller waits for all of them anyway: take every due job of this stage at once
            # (a capture of 500 pages queues hundreds of small analysis jobs; one call does them).
            more = jobs.claim_many(rt.db, name, rt.settings.job_lease_seconds, only=sorted(wanted - {job.id}),
                                   stages=[job.stage], limit=WAIT_BATCH - 1)  # fmt: skip
            execute_together(rt, [job, *more], run)
            continue
        if job is not None:
            result = execute(rt, job, run) or {}
            wanted |= {int(j) for j in result.get("jobs", [])}
            if on_job:
                on_job(run.done + run.failed + run.quarantined, len(wanted))
            continue
        with rt.db.read() as session:
            now = utcnow()
            rows = session.execute(select(Job.id, Job.state, Job.run_after, Job.result)
                                   .where(Job.id.in_(sorted(wanted)))).all()  # fmt: skip
            # Due now, or retried within moments after a busy database (jobs.fail; bounded there by
            # FREE_RETRIES): the caller wants them done, not left for a later worker.
            soon = now + timedelta(seconds=jobs.TRANSIENT_RETRY_SECONDS)
            waiting = {i for i, state, after, _ in rows
                       if state == "running" or (state in jobs.DUE and after <= soon)}  # fmt: skip
            # A job another worker finished may have handed work on (a tip's photo): wait for that too.
            handed = {int(j) for _, state, _, result in rows if state == "done" and isinstance(result, dict)
                      for j in result.get("jobs", [])} - wanted  # fmt: skip
        if handed:
            wanted |= handed
            continue
        if not waiting:
            return run
        time.sleep(0.1)  # another worker runs them: wait for it
    return run
