"""Shops: the ranked list, a shop's page (indicators, items, evidence, graph, takedowns, cases) and
the analyst's edits (merge, split, open a case, propose a takedown); captured evidence pages."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shekteu import audit
from shekteu.db.tables import Capture
from shekteu.runtime import Runtime
from shekteu.shops import edit
from shekteu.shops.cases import open_case, shop_cases
from shekteu.shops.query import list_shops, show_shop
from shekteu.takedown import lifecycle
from shekteu.web.auth import Principal, Viewer, allowed_reader
from shekteu.web.charts import shop_graph
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import api_change, as_int, form_values, language, perform, render
from shekteu.wording import Refusal, said

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["shops"])
ShopId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class CaseIn(BaseModel):
    number: str = Field(min_length=3, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
    note: str = Field("", max_length=2000)


class MergeIn(BaseModel):
    other: int = Field(ge=1, le=2**31 - 1, description="The shop merged into this one.")
    reason: str = Field(min_length=1, max_length=2000)


class SplitIn(BaseModel):
    indicators: list[str] = Field(min_length=1, max_length=200, description="TYPE:VALUE or indicator ids.")
    reason: str = Field(min_length=1, max_length=2000)


def _list(rt: Runtime, limit: int, min_score: float) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return list_shops(s, limit=limit, min_score=min_score)


def _show(rt: Runtime, shop_id: int) -> dict[str, Any]:
    with rt.db.read() as s:
        data = show_shop(s, shop_id)
        data["cases"] = shop_cases(s, data["id"])
        return data


async def _one(request: Request, shop_id: int) -> dict[str, Any]:
    try:
        return await run_in_threadpool(_show, runtime(request), shop_id)
    except edit.ShopError as exc:
        raise HTTPException(404, str(exc)) from None


@api.get("/shops", summary="Live shops, biggest first")
async def shops_json(request: Request, user: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                     min_score: Annotated[float, Query(ge=0, le=1e6)] = 0.0) -> list[dict]:  # fmt: skip
    return await run_in_threadpool(_list, runtime(request), limit, min_score)


@api.get("/shops/{shop_id}", summary="One shop in full")
async def shop_json(request: Request, user: Viewer, shop_id: ShopId) -> dict:
    return await _one(request, shop_id)


def _case(shop_id: int, number: str, reason: str, note: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            case = open_case(s, shop_id, number, actor=user.name, reason=reason, note=note)
            return said(N_("case {number} recorded for shop {shop}"), number=case.number, shop=case.shop_id)

    return change


def _merge(shop_id: int, other: int, reason: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            kept = edit.merge(s, shop_id, other, actor=user.name, reason=reason)
            return said(N_("shop {other} merged into shop {kept}"), other=other, kept=kept.id)

    return change


def _split(shop_id: int, refs: list[str], reason: str):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            new = edit.split(s, shop_id, refs, actor=user.name, reason=reason)
            return said(N_("{n} indicator(s) moved to new shop {shop}"), n=len(refs), shop=new.id)

    return change


def _propose(shop_id: int, kind: str, target: str, reason: str, recipient: str | None):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            t = lifecycle.propose(s, kind, target, actor=user.name, reason=reason, recipient=recipient,
                                  shop_id=shop_id, cards=rt.card_policy)  # fmt: skip
            return said(N_("takedown {id} proposed: {target}"), id=t.takedown.id,
                        target=f"{t.takedown.target_type} {t.takedown.target}")

    return change


@api.post("/shops/{shop_id}/cases", summary="Record a criminal case opened on a shop (analyst, approver)")
async def case_json(request: Request, shop_id: ShopId, body: CaseIn) -> dict:
    await api_change(request, "case.open", _case(shop_id, body.number, body.reason, body.note))
    return await _one(request, shop_id)


@api.post("/shops/{shop_id}/merge", summary="Merge another shop into this one (analyst)")
async def merge_json(request: Request, shop_id: ShopId, body: MergeIn) -> dict:
    await api_change(request, "shop.edit", _merge(shop_id, body.other, body.reason))
    return await _one(request, shop_id)


@api.post("/shops/{shop_id}/split", summary="Move indicators to a new shop (analyst)")
async def split_json(request: Request, shop_id: ShopId, body: SplitIn) -> dict:
    await api_change(request, "shop.edit", _split(shop_id, body.indicators, body.reason))
    return await _one(request, shop_id)


@pages.get("/dash/shops", response_class=HTMLResponse)
async def shops_page(request: Request, user: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     min_score: Annotated[float, Query(ge=0, le=1e6)] = 0.0) -> HTMLResponse:  # fmt: skip
    rows = await run_in_threadpool(_list, runtime(request), limit, min_score)
    return render(request, user, "dash/shops.html", section="shops", shops=rows, min_score=min_score)


@pages.get("/dash/shops/{shop_id}", response_class=HTMLResponse)
async def shop_page(request: Request, user: Viewer, shop_id: ShopId) -> HTMLResponse:
    shop = await _one(request, shop_id)
    return render(request, user, "dash/shop.html", section="shops", shop=shop, graph=shop_graph(shop),
                  target_for=lifecycle.TARGET_FOR_INDICATOR, targets=lifecycle.TARGETS,
                  recipients=lifecycle.RECIPIENTS)  # fmt: skip


@pages.post("/dash/shops/{shop_id}/case")
async def case_form(request: Request, shop_id: ShopId) -> Response:
    v = await form_values(request)
    return await perform(request, "case.open", _case(shop_id, v.get("number", ""), v.get("reason", ""),
                         v.get("note", "")), to=f"/dash/shops/{shop_id}")  # fmt: skip


@pages.post("/dash/shops/{shop_id}/merge")
async def merge_form(request: Request, shop_id: ShopId) -> Response:
    v = await form_values(request)

    def change(rt: Runtime, user: Principal) -> str:
        return _merge(shop_id, as_int(v.get("other"), N_("the other shop's id")), v.get("reason", ""))(rt, user)

    return await perform(request, "shop.edit", change, to=f"/dash/shops/{shop_id}")


@pages.post("/dash/shops/{shop_id}/split")
async def split_form(request: Request, shop_id: ShopId) -> Response:
    form = await request.form()
    refs = [v for v in form.getlist("indicator") if isinstance(v, str) and v.strip()]
    reason = str(form.get("reason") or "")

    def change(rt: Runtime, user: Principal) -> str:
        if not refs:
            raise Refusal(N_("tick the indicators to move to a new shop"))
        return _split(shop_id, refs, reason)(rt, user)

    return await perform(request, "shop.edit", change, to=f"/dash/shops/{shop_id}")


@pages.post("/dash/shops/{shop_id}/takedown")
async def propose_form(request: Request, shop_id: ShopId) -> Response:
    v = await form_values(request)
    change = _propose(shop_id, v.get("target_type", ""), v.get("target", ""), v.get("reason", ""),
                      v.get("recipient") or None)  # fmt: skip
    return await perform(request, "takedown.propose", change, to=f"/dash/shops/{shop_id}")


def _package(rt: Runtime, shop_id: int, kind: str, actor: str, lang: str = "ru") -> tuple[bytes, str]:
    """A shop's dossier (zip) or its captures as a WACZ, built in a scratch folder and read back."""
    import shutil
    import tempfile

    from shekteu.dossier.build import DossierError, build_dossier, shop_capture_ids
    from shekteu.evidence import wacz

    scratch = FilePath(tempfile.mkdtemp(prefix="shekteu-download-"))
    try:
        if kind == "dossier":
            try:
                build_dossier(rt, shop_id, scratch / "dossier.zip", actor=actor, lang=lang)
            except DossierError as exc:
                raise HTTPException(404, str(exc)) from None
            return (scratch / "dossier.zip").read_bytes(), f"shop-{shop_id}-dossier.zip"
        with rt.db.read() as s:
            captures = wacz.select_captures(s, ids=sorted(shop_capture_ids(s, shop_id)) or [-1])
        try:
            summary = wacz.build(rt.settings.data_dir, captures, scratch / "shop.wacz", title=f"Shekteu shop {shop_id}")
        except wacz.WaczError as exc:
            raise HTTPException(404, str(exc)) from None
        with rt.db.write() as s:
            audit.record(s, "evidence.export", f"shop:{shop_id}", actor=actor, reason="WACZ from the shop page",
                         detail=summary.as_json() | {"path": "download"})  # fmt: skip
        return summary.path.read_bytes(), f"shop-{shop_id}.wacz"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pages.get("/dash/shops/{shop_id}/dossier.zip")
async def shop_dossier(request: Request, shop_id: ShopId) -> Response:
    """The case file (original WARC records, custody chain, timestamps, WACZ, PDF), audited."""
    user = await allowed_reader(request, "case.open")
    lang = "kk" if language(request, user) == "kk" else "ru"  # the case file is Russian or Kazakh
    data, name = await run_in_threadpool(_package, runtime(request), shop_id, "dossier", user.name, lang)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@pages.get("/dash/shops/{shop_id}/evidence.wacz")
async def shop_wacz(request: Request, shop_id: ShopId) -> Response:
    """The shop's captures as a WACZ that ReplayWeb.page opens."""
    user = await allowed_reader(request, "case.open")
    data, name = await run_in_threadpool(_package, runtime(request), shop_id, "wacz", user.name)
    return Response(data, media_type="application/wacz", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _capture(rt: Runtime, capture_id: int) -> dict[str, Any]:
    with rt.db.read() as s:
        c = s.get(Capture, capture_id)
        if c is None:
            raise HTTPException(404, f"no capture {capture_id}")
        return {"id": c.id, "url": c.url, "final_url": c.final_url, "status": c.status,
                "fetched_at": c.fetched_at.isoformat(), "content_type": c.content_type, "sha256": c.sha256,
                "body_size": c.body_size, "truncated": c.truncated, "warc_file": c.warc_file,
                "warc_offset": c.warc_offset, "ip": c.ip, "redirects": c.redirects, "title": c.title,
                "lang": c.lang, "error": c.error, "text": (c.text or "")[:20_000], "requisites": c.requisites,
                "screenshot_sha256": c.screenshot_sha256}  # fmt: skip


@api.get("/captures/{capture_id}", summary="One captured page's evidence record")
async def capture_json(request: Request, user: Viewer, capture_id: ShopId) -> dict:
    return await run_in_threadpool(_capture, runtime(request), capture_id)


def _history(rt: Runtime, url: str) -> list[dict[str, Any]]:
    from shekteu.capture.history import timeline

    with rt.db.read() as s:
        return timeline(s, url)


@pages.get("/dash/captures/{capture_id}", response_class=HTMLResponse)
async def capture_page(request: Request, user: Viewer, capture_id: ShopId) -> HTMLResponse:
    capture = await run_in_threadpool(_capture, runtime(request), capture_id)
    history = await run_in_threadpool(_history, runtime(request), capture["url"])
    here = next((h for h in history if h["id"] == capture_id), None)
    return render(request, user, "dash/capture.html", section="shops", c=capture, history=history, here=here)


@pages.get("/dash/captures/{capture_id}/screenshot.png")
async def capture_screenshot(request: Request, user: Viewer, capture_id: ShopId) -> Response:
    """The screenshot Shekteu drew from the capture's records (our own PNG, not the site's bytes)."""
    capture = await run_in_threadpool(_capture, runtime(request), capture_id)
    if not capture["screenshot_sha256"]:
        raise HTTPException(404, "this capture has no screenshot")
    data = await run_in_threadpool(runtime(request).store.get_blob, capture["screenshot_sha256"])
    return Response(data, media_type="image/png", headers={"Content-Security-Policy": "default-src 'none'",
                                                           "X-Content-Type-Options": "nosniff"})  # fmt: skip


@pages.get("/dash/captures/{capture_id}/body")
async def capture_body(request: Request, user: Viewer, capture_id: ShopId) -> Response:
    """The captured body as a download: hostile content is never rendered by the dashboard's origin."""
    capture = await run_in_threadpool(_capture, runtime(request), capture_id)
    if not capture["sha256"]:
        raise HTTPException(404, "this capture kept no body")
    data = await run_in_threadpool(runtime(request).store.get_blob, capture["sha256"])
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="capture-{capture_id}-{capture["sha256"][:12]}.bin"',
        "Content-Security-Policy": "sandbox; default-src 'none'"})  # fmt: skip
