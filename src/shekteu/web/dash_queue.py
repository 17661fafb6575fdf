"""The job queue for admins (issue 20): what waits, runs, failed and is quarantined, with retry and drop.

The same counts as ``shekteu queue --json``; retry and drop are the library's (``queue/jobs.py``),
audited with the admin's name and reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu.queue import jobs
from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import form_values, perform, render
from shekteu.wording import Term, said

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["job queue"])
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SHOWN = ("quarantined", "failed", "running")


def _admin(user: Principal) -> None:
    if not user.may("queue.manage"):
        raise HTTPException(403, "the job queue is for admins")


def _queue(rt: Runtime, state: str | None, limit: int) -> dict[str, Any]:
    with rt.db.read() as s:
        counts = jobs.counts(s)
        states = [state] if state else list(SHOWN)
        listed = {st: [jobs.job_json(j) for j in jobs.listing(s, st, limit)] for st in states}
    return {"counts": counts, "jobs": listed}


@api.get("/queue", summary="Jobs pending, running, failed (waiting to retry) and quarantined, per stage")
async def queue_json(request: Request, user: Viewer) -> dict:
    _admin(user)
    return (await run_in_threadpool(_queue, runtime(request), "pending", 1))["counts"]


@api.get("/queue/jobs", summary="The newest jobs in one state")
async def jobs_json(request: Request, user: Viewer,
                    state: Annotated[str, Query(pattern="^(pending|running|failed|quarantined|done|dropped)$")],
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:  # fmt: skip
    _admin(user)
    return (await run_in_threadpool(_queue, runtime(request), state, limit))["jobs"][state]


@pages.get("/dash/queue", response_class=HTMLResponse)
async def queue_page(request: Request, user: Viewer) -> HTMLResponse:
    _admin(user)
    data = await run_in_threadpool(_queue, runtime(request), None, 100)
    return render(request, user, "dash/queue.html", section="queue", **data)


def _change(job_id: int, do: str, reason: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            if do == "retry":
                job = jobs.retry(s, job_id, actor=user.name, reason=reason or None)
            else:
                job = jobs.drop(s, job_id, actor=user.name, reason=reason)
            return said(N_("job {id} ({stage}) is {state}"), id=job.id, stage=job.stage, state=Term(job.state))

    return change


@pages.post("/dash/queue/{job_id}/retry")
async def retry_form(request: Request, job_id: JobId) -> Response:
    v = await form_values(request)
    return await perform(request, "queue.manage", _change(job_id, "retry", v.get("reason", "")), to="/dash/queue")


@pages.post("/dash/queue/{job_id}/drop")
async def drop_form(request: Request, job_id: JobId) -> Response:
    v = await form_values(request)
    return await perform(request, "queue.manage", _change(job_id, "drop", v.get("reason", "")), to="/dash/queue")
