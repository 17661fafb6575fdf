"""The job queue's commands of the `shekteu` CLI: ``worker``, ``queue``, ``queue retry``, ``queue drop``
(issue 20). The work is in ``queue/``."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, out, safe

queue_app = typer.Typer(invoke_without_command=True, help="The job queue: what waits, runs, failed.")
app.add_typer(queue_app, name="queue")
AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (default: the local account).")]


@app.command("worker")
def worker(
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, max=64,
                                                    help="Jobs run at once (default SHEKTEU_WORKER_CONCURRENCY).")] = None,
    drain: Annotated[bool, typer.Option("--drain", help="Run everything due, then exit.")] = False,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Only these stages (repeatable).")] = None,
    json_out: JsonOpt = False,
) -> None:  # fmt: skip
    """Run queued jobs (capture, analysis, tips, photos, notifications, re-checks) until stopped.

    SIGTERM or Ctrl-C lets each running job finish, then exits. Several workers, on one machine or
    many, may run against one PostgreSQL database."""
    from shekteu.queue.stages import STAGES
    from shekteu.queue.worker import Worker

    unknown = sorted(set(stage or []) - set(STAGES))
    if unknown:
        raise UserError(f"unknown stage {unknown[0]!r}; use one of {', '.join(sorted(STAGES))}")
    rt = open_runtime()
    w = Worker(rt, concurrency=concurrency, stages=stage or None)

    def stop(signum: int, _frame: object) -> None:
        out.print(f"stopping after the running jobs ({signal.Signals(signum).name})")
        w.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not json_out and not drain:
        out.print(f"worker running {w.concurrency} at a time; SIGTERM or Ctrl-C stops it")
    run = w.run(drain=drain)
    if json_out:
        emit_json(run.as_json())
    else:
        stages = ", ".join(f"{k} {v}" for k, v in sorted(run.by_stage.items())) or "nothing"
        out.print(f"{run.done} jobs done ({stages}), {run.failed} failed and queued again, "
                  f"{run.quarantined} quarantined")  # fmt: skip


@queue_app.callback()
def queue_status(
    ctx: typer.Context,
    json_out: JsonOpt = False,
    state: Annotated[str | None, typer.Option("--state", help="List the jobs in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """How many jobs are pending, running, failed (waiting to retry) and quarantined, per stage."""
    if ctx.invoked_subcommand is not None:
        return
    from shekteu.queue import jobs

    rt = open_runtime()
    try:
        with rt.db.read() as s:
            summary = jobs.counts(s)
            rows = [jobs.job_json(j) for j in jobs.listing(s, state, limit)] if state else []
    except jobs.JobError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        if state:
            for row in rows:
                emit_json(row)
        else:
            emit_json(summary)
        return
    out.print(f"pending {summary['pending']}, running {summary['running']}, failed {summary['failed']}, "
              f"quarantined {summary['quarantined']}")  # fmt: skip
    for stage, n in sorted(summary["by_stage"].items()):
        out.print(f"  {stage:<10}" + ", ".join(f"{k} {v}" for k, v in n.items() if v))
    for row in rows:
        out.print(f"  {row['id']:>7}  {row['stage']:<9}{row['state']:<12}{row['attempts']}/{row['max_attempts']}  "
                  f"{safe(row['subject'], 30):<31}{safe(row['last_error'] or '', 60)}")  # fmt: skip


def _admin(do) -> None:  # type: ignore[no-untyped-def]
    from shekteu.queue.jobs import JobError
    from shekteu.users import UserError as AccountError

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            job = do(s)
            message = f"job {job.id} ({job.stage} {safe(job.subject, 60)}) is {job.state}"
    except (JobError, AccountError) as exc:
        raise UserError(str(exc)) from None
    out.print(message)


@queue_app.command("retry")
def queue_retry(
    job_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The job's id (shekteu queue --state quarantined).")],
    actor: AsOpt = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")] = None,
) -> None:
    """Queue a quarantined, failed or dropped job again, due now (admin; audited)."""
    from shekteu import audit
    from shekteu.queue.jobs import retry

    _admin(lambda s: retry(s, job_id, actor=actor or audit.current_actor(), reason=reason))


@queue_app.command("drop")
def queue_drop(
    job_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The job's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is given up (kept in the audit log).")],
    actor: AsOpt = None,
) -> None:
    """Give up on a job that is not running (admin; audited with the reason)."""
    from shekteu import audit
    from shekteu.queue.jobs import drop

    _admin(lambda s: drop(s, job_id, actor=actor or audit.current_actor(), reason=reason))
