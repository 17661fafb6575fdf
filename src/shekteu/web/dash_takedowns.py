"""The takedown queue: proposals waiting for a second person's approval, export to recipients (which
marks them sent), outside facts (blocked, verified, reappeared) and the history of each request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.takedown import lifecycle
from shekteu.takedown.requests import export_requests
from shekteu.web.auth import Principal, Viewer, acting
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import api_change, back, form_values, perform, render
from shekteu.wording import Term, said, wording

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["takedowns"])
TakedownId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StateFilter = Annotated[str | None, Query(pattern="^(" + "|".join(lifecycle.STATES) + ")$")]
Target = Literal[
    "url", "domain", "telegram_channel", "telegram_bot", "telegram_account", "bank_card", "wallet"
]
Recipient = Literal["regulator", "telegram", "bank", "hosting"]
MARKABLE = ("sent", "blocked", "verified", "rejected", "reappeared")


class ProposeIn(BaseModel):
    target_type: Target
    target: str = Field(min_length=1, max_length=2000)
    reason: str = Field(min_length=1, max_length=2000)
    recipient: Recipient | None = None
    shop_id: int | None = Field(None, ge=1, le=2**31 - 1)


class DecisionIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class MarkIn(BaseModel):
    state: Literal["sent", "blocked", "verified", "rejected", "reappeared"]
    reason: str = Field(min_length=1, max_length=2000)


def _list(rt: Runtime, state: str | None, limit: int) -> dict[str, Any]:
    from sqlalchemy import select

    from shekteu.db.tables import Shop, TakedownEvent

    with rt.db.read() as s:
        rows = [lifecycle.takedown_json(t) for t in lifecycle.list_takedowns(s, state, limit=limit)]
        ids = [r["id"] for r in rows]
        shop_ids = {r["shop_id"] for r in rows if r["shop_id"]}
        names = dict(s.execute(select(Shop.id, Shop.name).where(Shop.id.in_(shop_ids))).all())
        evidence: dict[int, list[int]] = {}
        steps = select(TakedownEvent.takedown_id, TakedownEvent.capture_ids).where(TakedownEvent.takedown_id.in_(ids))
        for takedown_id, captures in s.execute(steps.order_by(TakedownEvent.id)):
            evidence.setdefault(takedown_id, []).extend(c for c in captures or [] if isinstance(c, int))
        for r in rows:
            r["shop_name"] = names.get(r["shop_id"])
            r["evidence"] = sorted(set(evidence.get(r["id"], [])))[-3:]  # the latest captures behind its steps
        return {"takedowns": rows, "stats": lifecycle.stats(s)}


def _history(rt: Runtime, takedown_id: int) -> dict[str, Any]:
    with rt.db.read() as s:
        try:
            return lifecycle.history_json(s, lifecycle.get(s, takedown_id))
        except lifecycle.TakedownError as exc:
            raise HTTPException(404, str(exc)) from None


def _step(takedown_id: int, step: str, reason: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            if step == "approve":
                t = lifecycle.approve(s, takedown_id, actor=user.name, reason=reason)
            elif step == "reject":
                t = lifecycle.reject(s, takedown_id, actor=user.name, reason=reason)
            else:
                t = lifecycle.mark(s, takedown_id, step, actor=user.name, reason=reason)
            return said(N_("takedown {id}: {state}"), id=t.takedown.id, state=Term(t.takedown.state))

    return change


def _propose(body: ProposeIn):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> int:
        with rt.db.write() as s:
            t = lifecycle.propose(s, body.target_type, body.target, actor=user.name, reason=body.reason,
                                  recipient=body.recipient, shop_id=body.shop_id, cards=rt.card_policy)  # fmt: skip
            return t.takedown.id

    return change


@api.get("/takedowns", summary="Takedown requests and their statistics")
async def takedowns_json(request: Request, user: Viewer, state: StateFilter = None,
                         limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict:  # fmt: skip
    return await run_in_threadpool(_list, runtime(request), state, limit)


@api.get("/takedowns/{takedown_id}", summary="One takedown with its history")
async def takedown_json(request: Request, user: Viewer, takedown_id: TakedownId) -> dict:
    return await run_in_threadpool(_history, runtime(request), takedown_id)


@api.post("/takedowns", summary="Propose a takedown (analyst, approver)", status_code=201)
async def propose_json(request: Request, body: ProposeIn) -> dict:
    new_id = await api_change(request, "takedown.propose", _propose(body))
    return await run_in_threadpool(_history, runtime(request), new_id)


@api.post("/takedowns/{takedown_id}/approve", summary="Approve a proposal (a second person, approver)")
async def approve_json(request: Request, takedown_id: TakedownId, body: DecisionIn) -> dict:
    await api_change(request, "takedown.approve", _step(takedown_id, "approve", body.reason))
    return await run_in_threadpool(_history, runtime(request), takedown_id)


@api.post("/takedowns/{takedown_id}/reject", summary="Reject a proposal (approver)")
async def reject_json(request: Request, takedown_id: TakedownId, body: DecisionIn) -> dict:
    await api_change(request, "takedown.approve", _step(takedown_id, "reject", body.reason))
    return await run_in_threadpool(_history, runtime(request), takedown_id)


@api.post("/takedowns/{takedown_id}/mark", summary="Record an outside fact: sent, blocked, verified, …")
async def mark_json(request: Request, takedown_id: TakedownId, body: MarkIn) -> dict:
    await api_change(request, "takedown.send", _step(takedown_id, body.state, body.reason))
    return await run_in_threadpool(_history, runtime(request), takedown_id)


@pages.get("/dash/takedowns", response_class=HTMLResponse)
async def takedowns_page(request: Request, user: Viewer, state: StateFilter = None) -> HTMLResponse:
    data = await run_in_threadpool(_list, runtime(request), state, 1000)
    return render(request, user, "dash/takedowns.html", section="takedowns", state=state, states=lifecycle.STATES,
                  recipients=lifecycle.RECIPIENTS, markable=MARKABLE, transitions=lifecycle.TRANSITIONS,
                  **data)  # fmt: skip


@pages.post("/dash/takedowns/{takedown_id}/{step}")
async def takedown_step_form(request: Request, takedown_id: TakedownId,
                             step: Literal["approve", "reject", "sent", "blocked", "verified", "rejected",
                                           "reappeared"]) -> Response:  # fmt: skip
    v = await form_values(request)
    action = "takedown.approve" if step in ("approve", "reject") else "takedown.send"
    return await perform(request, action, _step(takedown_id, step, v.get("reason", "")),
                         to=f"/dash/takedowns#td-{takedown_id}")  # fmt: skip


@pages.post("/dash/takedowns-export")
async def export_form(request: Request) -> Response:
    """The approved requests for one recipient as a file; exporting marks them sent."""
    user = await acting(request, "takedown.send")
    v = await form_values(request)
    recipient, fmt = v.get("recipient", ""), v.get("format", "csv")
    rt = runtime(request)

    def run() -> tuple[str, list[int]]:
        with rt.db.write() as s:
            return export_requests(s, recipient, fmt, actor=user.name)

    try:
        body, ids = await run_in_threadpool(run)
    except ValueError as exc:
        return back(request, "/dash/takedowns", wording(exc), "error", user=user)
    media = "text/csv" if fmt == "csv" else "application/json"
    return Response(body, media_type=f"{media}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="takedowns-{recipient}-{len(ids)}.{fmt}"'})  # fmt: skip
