"""The tips queue: triage (review, act, reject with a reason), linking a tip to a shop, and the tip
page with its photos. Rows update in place with HTMX; without JavaScript the forms still work."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.tips import triage
from shekteu.tips.intake import CHANNELS, KINDS
from shekteu.tips.query import list_tips, show_tip
from shekteu.tips.search import SORTS, TipFilter, search
from shekteu.tips.status import STATUSES, TRANSITIONS, TipStatusError, get_tip
from shekteu.web.auth import Principal, Viewer, acting, safe_next
from shekteu.web.common import runtime, templates
from shekteu.web.i18n import N_
from shekteu.web.pages import api_change, as_int, back, form_values, language, perform, render
from shekteu.wording import Refusal, Said, Term, said, wording

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["tips"])
StatusFilter = Annotated[str | None, Query(pattern="^(|received|in_review|actioned|closed|rejected)$")]  # "": all
Limit = Annotated[int, Query(ge=1, le=500)]


class StatusChange(BaseModel):
    status: str = Field(pattern="^(received|in_review|actioned|closed|rejected)$")
    reason: str = Field(min_length=1, max_length=2000)
    public_text: str | None = Field(None, max_length=1000)


class ShopLink(BaseModel):
    shop_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=2000)


def _list(rt: Runtime, status: str | None, limit: int) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return list_tips(s, status=status, limit=limit)


def _show(rt: Runtime, ticket: str) -> dict[str, Any]:
    with rt.db.read() as s:
        return show_tip(s, get_tip(s, ticket))


async def _one(request: Request, ticket: str) -> dict[str, Any]:
    try:
        return await run_in_threadpool(_show, runtime(request), ticket)
    except TipStatusError as exc:
        raise HTTPException(404, str(exc)) from None


@api.get("/tips", summary="The tips queue, newest first")
async def tips_json(
    request: Request, user: Viewer, status: StatusFilter = None, limit: Limit = 100
) -> list[dict]:
    return await run_in_threadpool(_list, runtime(request), status, limit)


@api.get("/tips/{ticket}", summary="One tip for staff")
async def tip_json(request: Request, user: Viewer, ticket: Annotated[str, Path(max_length=40)]) -> dict:
    return await _one(request, ticket)


def _set_status(ticket: str, status: str, reason: str, public_text: str | None = None):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            tip = triage.change_status(
                s, ticket, status, actor=user.name, reason=reason, public_text=public_text
            )
            return said(N_("{ticket}: {status}"), ticket=tip.ticket, status=Term(tip.status))

    return change


def _link(ticket: str, shop_id: int, reason: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            tip = triage.link_to_shop(s, ticket, shop_id, actor=user.name, reason=reason)
            return said(N_("{ticket} → shop {shop}"), ticket=tip.ticket, shop=shop_id)

    return change


@api.post("/tips/{ticket}/status", summary="Change a tip's status (analyst)")
async def tip_status_json(request: Request, ticket: str, body: StatusChange) -> dict:
    await api_change(request, "tip.triage", _set_status(ticket, body.status, body.reason, body.public_text))
    return await _one(request, ticket)


@api.post("/tips/{ticket}/link", summary="Link a tip to a shop (analyst)")
async def tip_link_json(request: Request, ticket: str, body: ShopLink) -> dict:
    await api_change(request, "tip.triage", _link(ticket, body.shop_id, body.reason))
    return await _one(request, ticket)


Word = Annotated[str | None, Query(max_length=200)]
Score = Annotated[str | None, Query(max_length=10)]  # a plain form sends "" for an empty box


def _score(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return None if number is None else min(1.0, max(0.0, number))


def _filter(status: str | None, kind: str | None, channel: str | None, district: str | None,
            min_score: str | None, max_score: str | None, q: str | None, sort: str, limit: int) -> TipFilter:  # fmt: skip
    return TipFilter(status=status or None, kind=kind if kind in KINDS else None,
                     channel=channel if channel in CHANNELS else None, district=(district or "").strip() or None,
                     min_score=_score(min_score), max_score=_score(max_score), q=q or None,
                     sort=sort if sort in SORTS else "score",
                     limit=limit)  # fmt: skip


def _search(rt: Runtime, f: TipFilter) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return search(s, f)


@pages.get("/dash/tips", response_class=HTMLResponse)
async def tips_page(
    request: Request, user: Viewer, status: StatusFilter = None, kind: Word = None, channel: Word = None,
    district: Word = None, min_score: Score = None, max_score: Score = None, q: Word = None, sort: Word = "score",
    limit: Limit = 100,
) -> HTMLResponse:
    f = _filter(status, kind, channel, district, min_score, max_score, q, sort or "score", limit)
    rows = await run_in_threadpool(_search, runtime(request), f)
    query = urlencode({k: v for k, v in request.query_params.items() if k != "limit"})
    return render(request, user, "dash/tips.html", section="tips", tips=rows, f=f, statuses=STATUSES,
                  transitions=TRANSITIONS, kinds=KINDS, channels=CHANNELS, districts=_districts(), query=query)  # fmt: skip


@lru_cache(maxsize=1)
def _districts() -> list[tuple[str, str, str]]:
    """(KATO, Russian name, Kazakh name) of every district, by oblast then name, for the filter."""
    from shekteu.geo.boundaries import load

    return sorted(((a.kato, f"{a.oblast_ru}: {a.name_ru}", a.name_kk) for a in load()), key=lambda d: d[1])


@pages.get("/dash/tips.csv")
async def tips_csv(
    request: Request, user: Viewer, status: StatusFilter = None, kind: Word = None, channel: Word = None,
    district: Word = None, min_score: Score = None, max_score: Score = None, q: Word = None, sort: Word = "score",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """The selection as CSV (formula-safe): what a unit shares with a prosecutor or a partner."""
    import csv
    import io

    from shekteu import audit
    from shekteu.text.spreadsheet import safe_cell

    f = _filter(status, kind, channel, district, min_score, max_score, q, sort or "score", limit)
    rows = await run_in_threadpool(_search, runtime(request), f)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["ticket", "received_utc", "kind", "channel", "status", "score", "district", "lat", "lon",
                     "indicators", "qr", "painted", "shops", "text"])  # fmt: skip
    for r in rows:
        writer.writerow([safe_cell(v) for v in (
            r["ticket"], r["created_at"], r["kind"], r["channel"], r["status"], r["score"],
            (r["district"] or {}).get("name", ""), r["lat"], r["lon"],
            " ".join(f"{i['type']}:{i['normalized']}" for i in r["indicators"]), " ".join(r["qr"]),
            " ".join(r["painted"]), " ".join(map(str, r["shops"])), r["text"])])  # fmt: skip

    chosen = {k: v for k, v in f.__dict__.items() if v is not None}

    def record(rt: Runtime) -> None:
        with rt.db.write() as s:
            audit.record(s, "tip.export", f"tips:{len(rows)}", actor=user.name, reason="CSV of the tips queue",
                         detail={"filter": chosen, "rows": len(rows)})  # fmt: skip

    await run_in_threadpool(record, runtime(request))
    return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="tips.csv"'})  # fmt: skip


@pages.post("/dash/tips/bulk")
async def tips_bulk(request: Request) -> Response:
    """One status for every ticked tip, with one reason; each change is audited on its own tip."""
    form = await request.form()
    tickets = [str(t) for t in form.getlist("ticket")][:500]
    v = await form_values(request)
    status, reason = v.get("status", ""), v.get("reason", "")

    def change(rt: Runtime, user: Principal) -> str:
        if not tickets:
            raise Refusal(N_("tick the tips to change"))
        if status not in STATUSES:
            raise Refusal(N_("choose the new status"))
        if not reason.strip():
            raise Refusal(N_("a bulk change needs a reason"))
        done, refused = 0, []
        for ticket in tickets:
            try:
                with rt.db.write() as s:
                    triage.change_status(s, ticket, status, actor=user.name, reason=reason)
                done += 1
            except TipStatusError as exc:
                refused.append(f"{ticket}: {exc.said.text(_)}")
        message = _("{n} tips moved to: {status}").format(n=done, status=_(status))
        return message + (f"; {_('not changed')}: {'; '.join(refused[:5])}" if refused else "")

    from shekteu.web.auth import viewer
    from shekteu.web.i18n import translator

    _ = translator(language(request, await run_in_threadpool(viewer, request)))
    return await perform(request, "tip.triage", change, to=safe_next(v.get("next") or "/dash/tips"))


@pages.get("/dash/tips/{ticket}", response_class=HTMLResponse)
async def tip_page(request: Request, user: Viewer, ticket: str) -> HTMLResponse:
    tip = await _one(request, ticket)
    return render(request, user, "dash/tip.html", section="tips", tip=tip, transitions=TRANSITIONS)


@pages.get("/dash/tips/{ticket}/photo/{n}")
async def tip_photo(request: Request, user: Viewer, ticket: str, n: int) -> Response:
    """The display copy (re-encoded, upright, no metadata) of the tip's n-th photo; never the original."""
    tip = await _one(request, ticket)
    photos = tip.get("photos") or []
    if not 1 <= n <= len(photos) or not photos[n - 1].get("display_sha256"):
        raise HTTPException(404, "no such photo")
    data = await run_in_threadpool(runtime(request).store.get_blob, photos[n - 1]["display_sha256"])
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


async def _row_or_back(request: Request, ticket: str, change: Any, to: str) -> Response:
    """HTMX asks for the updated row; a plain form post goes back to the queue with a message."""
    user = await acting(request, "tip.triage")
    rt = runtime(request)
    error: str | Said | None = None
    try:
        message = await run_in_threadpool(change, rt, user)
    except ValueError as exc:
        error, message = wording(exc), ""
    if request.headers.get("hx-request") != "true":
        return back(request, to, error or message, "error" if error else "ok", user=user)
    tip = await _one(request, ticket)
    from shekteu.web.i18n import translator

    lang = language(request, user)
    _ = translator(lang)
    shown = error or message
    return templates().TemplateResponse(
        request, "dash/tip_row.html",
        {"t": tip, "user": user, "lang": lang, "csrf": user.csrf or "", "transitions": TRANSITIONS, "_": _,
         "row_message": shown.text(_) if isinstance(shown, Said) else shown, "row_error": bool(error)},
    )  # fmt: skip


@pages.post("/dash/tips/{ticket}/status")
async def tip_status_form(request: Request, ticket: str) -> Response:
    values = await form_values(request)
    change = _set_status(
        ticket, values.get("status", ""), values.get("reason", ""), values.get("public_text")
    )
    return await _row_or_back(request, ticket, change, safe_next(values.get("back") or "/dash/tips"))


@pages.post("/dash/tips/{ticket}/link")
async def tip_link_form(request: Request, ticket: str) -> Response:
    values = await form_values(request)
    try:
        shop_id = as_int(values.get("shop_id"), N_("shop id"))
    except ValueError as exc:
        user = await acting(request, "tip.triage")
        return back(request, f"/dash/tips/{ticket}", wording(exc), "error", user=user)
    return await _row_or_back(request, ticket, _link(ticket, shop_id, values.get("reason", "")),
                              f"/dash/tips/{ticket}")  # fmt: skip
