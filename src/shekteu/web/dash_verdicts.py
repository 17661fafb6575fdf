"""Verdicts in the dashboard: an item's page with its verdict and the analysts' word on it, the
disputed queue and the review queue (issue 21). Marking a verdict right or wrong is one form (or one
API call) that stores the correct label with who, when and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shekteu.db.ops_tables import VerdictCorrection
from shekteu.db.tables import Item, Verdict
from shekteu.detect import feedback
from shekteu.detect.model import LABELS
from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import api_change, form_values, perform, render
from shekteu.wording import Refusal, Term, said

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["verdicts"])
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
LABEL_PATTERN = "^(" + "|".join(LABELS) + ")$"


class CorrectionIn(BaseModel):
    label: str = Field(pattern=LABEL_PATTERN)
    reason: str | None = Field(None, max_length=2000)


def _item(rt: Runtime, item_id: int) -> dict[str, Any]:
    detector = rt.detector
    with rt.db.read() as s:
        item = s.get(Item, item_id)
        if item is None:
            raise HTTPException(404, f"no item {item_id}")
        verdicts = list(s.scalars(select(Verdict).where(Verdict.item_id == item.id).order_by(Verdict.id.desc())))
        words = list(s.scalars(select(VerdictCorrection).where(VerdictCorrection.item_id == item.id)
                               .order_by(VerdictCorrection.id.desc())))  # fmt: skip
        current = next((v for v in verdicts if v.text_sha256 == item.text_sha256 and v.model_version == detector.version),
                       next((v for v in verdicts if v.text_sha256 == item.text_sha256), None))  # fmt: skip
        return {
            "id": item.id, "kind": item.kind, "url": item.url, "channel": item.channel, "text": item.text,
            "published_at": item.published_at.isoformat() if item.published_at else None,
            "verdict": {"label": current.label, "score": current.score, "model": current.model_version,
                        "terms": current.terms} if current else None,
            "verdicts": [{"label": v.label, "score": v.score, "model": v.model_version,
                          "at": v.created_at.isoformat()} for v in verdicts],
            "corrections": [{"label": c.label, "predicted": c.predicted, "by": c.actor, "reason": c.reason,
                             "model": c.model_version, "at": c.created_at.isoformat(),
                             "current_text": c.text_sha256 == item.text_sha256} for c in words],
        }  # fmt: skip


def _queues(rt: Runtime, limit: int) -> dict[str, Any]:
    detector = rt.detector
    with rt.db.read() as s:
        return {"model": detector.version,
                "disputed": [j.as_json() for j in feedback.judged(s, detector.version, disputed=True)][:limit],
                "review": feedback.review_queue(s, detector, limit=limit), "counts": feedback.counts(s)}  # fmt: skip


def _correct(item_id: int, label: str, reason: str | None):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        version = rt.detector.version
        with rt.db.write() as s:
            row = feedback.correct(s, item_id, label, actor=user.name, reason=reason or None, version=version)
            return said(N_("item {id}: recorded as {label} (the model said {predicted})"), id=row.item_id,
                        label=Term(row.label), predicted=Term(row.predicted or "nothing"))

    return change


@api.get("/items/{item_id}", summary="One item with its verdicts and the analysts' corrections")
async def item_json(request: Request, user: Viewer, item_id: ItemId) -> dict:
    return await run_in_threadpool(_item, runtime(request), item_id)


@api.post("/items/{item_id}/verdict", summary="Mark an item's verdict right or wrong with the correct label (analyst)")
async def correct_json(request: Request, item_id: ItemId, body: CorrectionIn) -> dict:
    await api_change(request, "verdict.correct", _correct(item_id, body.label, body.reason))
    return await run_in_threadpool(_item, runtime(request), item_id)


@api.get("/verdicts", summary="The disputed queue and the review queue")
async def queues_json(request: Request, user: Viewer, limit: Limit = 50) -> dict:
    return await run_in_threadpool(_queues, runtime(request), limit)


@pages.get("/dash/items/{item_id}", response_class=HTMLResponse)
async def item_page(request: Request, user: Viewer, item_id: ItemId) -> HTMLResponse:
    item = await run_in_threadpool(_item, runtime(request), item_id)
    return render(request, user, "dash/item.html", section="verdicts", item=item, labels=LABELS)


@pages.post("/dash/items/{item_id}/verdict")
async def correct_form(request: Request, item_id: ItemId) -> Response:
    v = await form_values(request)
    to = v.get("next") if v.get("next") == "/dash/verdicts" else f"/dash/items/{item_id}"

    def change(rt: Runtime, user: Principal) -> str:
        if v.get("label") not in LABELS:
            raise Refusal(N_("choose a label: {labels}"), labels=", ".join(LABELS))
        return _correct(item_id, v["label"], v.get("reason"))(rt, user)

    return await perform(request, "verdict.correct", change, to=to)


@pages.get("/dash/verdicts", response_class=HTMLResponse)
async def queues_page(request: Request, user: Viewer, limit: Limit = 50) -> HTMLResponse:
    queues = await run_in_threadpool(_queues, runtime(request), limit)
    return render(request, user, "dash/verdicts.html", section="verdicts", labels=LABELS, **queues)
