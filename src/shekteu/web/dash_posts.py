"""Checkpoint plans on the dashboard (issue 26): the stored plans, a plan's posts and flows on the map,
its rota as a CSV roster and its Russian brief as a PDF.

Everything here needs the ``posts`` permission (analysts and admins). Post positions leave the server
only through these routes, each viewing is audited, and no public export or map layer carries them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu import audit
from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.pages import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/posts", tags=["checkpoint plans"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _allowed(user: Principal) -> None:
    if not user.may("posts"):
        raise HTTPException(403, "checkpoint plans are for the drug unit's analysts")


def _plans(rt: Runtime, user: Principal) -> list[dict[str, Any]]:
    from shekteu.posts.store import as_json, listing

    with rt.db.read() as s:
        return [as_json(r) for r in listing(s, actor=user.name)]


def _plan(rt: Runtime, user: Principal, plan_id: int | None, why: str) -> dict[str, Any]:
    from shekteu.posts import PostsError
    from shekteu.posts.store import as_json, get

    try:
        with rt.db.write() as s:  # the viewing of positions is audited
            row = get(s, plan_id, actor=user.name, why=why)
            return {"row": as_json(row), "plan": row.plan}
    except PostsError as exc:
        raise HTTPException(404, str(exc)) from None


def _map_json(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan for the map: its features and summary, without the rota's internals."""
    return {"type": "FeatureCollection", "features": plan["features"], "summary": plan["shekteu"]["summary"]}


@api.get("/plans", summary="Stored checkpoint plans, newest first (no positions)")
async def plans_api(request: Request, user: Viewer) -> list:
    _allowed(user)
    return await run_in_threadpool(_plans, runtime(request), user)


@api.get("/plans/latest", summary="The newest plan as GeoJSON: posts, flows, sources, destinations (audited)")
async def latest_api(request: Request, user: Viewer) -> dict:
    _allowed(user)
    found = await run_in_threadpool(_plan, runtime(request), user, None, "plan viewed on the map")
    return _map_json(found["plan"]) | {"id": found["row"]["id"]}


@api.get("/plans/{plan_id}", summary="One plan as GeoJSON: posts, flows, sources, destinations (audited)")
async def plan_api(request: Request, user: Viewer, plan_id: Id) -> dict:
    _allowed(user)
    found = await run_in_threadpool(_plan, runtime(request), user, plan_id, "plan viewed on the map")
    return _map_json(found["plan"]) | {"id": plan_id}


@pages.get("/dash/posts", response_class=HTMLResponse)
async def posts_page(request: Request, user: Viewer,
                     plan: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> HTMLResponse:  # fmt: skip
    from shekteu.geo import boundaries

    _allowed(user)
    rt = runtime(request)
    plans = await run_in_threadpool(_plans, rt, user)
    current = None
    if plans:
        current = await run_in_threadpool(_plan, rt, user, plan or plans[0]["id"], "plan viewed")
    names = {a.kato: (a.name_ru, a.name_kk, a.name_en) for a in boundaries.load()}
    posts = [] if current is None else [
        f["properties"] | {"lat": f["geometry"]["coordinates"][1], "lon": f["geometry"]["coordinates"][0]}
        for f in current["plan"]["features"] if f["properties"].get("kind") == "post"]  # fmt: skip
    return render(request, user, "dash/posts.html", section="posts", plans=plans,
                  current=current["row"] if current else None,
                  summary=current["plan"]["shekteu"]["summary"] if current else None,
                  posts=posts, district_names=names)  # fmt: skip


@pages.get("/dash/posts/{plan_id}/roster.csv")
async def roster_csv(request: Request, user: Viewer, plan_id: Id,
                     days: Annotated[int, Query(ge=1, le=366)] = 14,
                     seed: Annotated[int | None, Query(ge=0, le=2**31)] = None) -> Response:  # fmt: skip
    from shekteu.posts import PostsError, rota

    _allowed(user)
    rt = runtime(request)
    found = await run_in_threadpool(_plan, rt, user, plan_id, "roster drawn")
    try:
        rows, _summary = rota.roster(found["plan"]["shekteu"]["rota"], days=days,
                                     start=date.today() + timedelta(days=1), seed=seed)  # fmt: skip
    except PostsError as exc:
        raise HTTPException(422, str(exc)) from None

    def record(rt: Runtime) -> None:
        with rt.db.write() as s:
            audit.record(s, "posts.roster", f"post_plan:{plan_id}", actor=user.name, reason="rota drawn",
                         detail={"days": days, "seed": seed})  # fmt: skip

    await run_in_threadpool(record, rt)
    return Response(rota.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="roster-{plan_id}.csv"'})  # fmt: skip


@pages.get("/dash/posts/{plan_id}/brief.pdf")
async def brief_pdf(request: Request, user: Viewer, plan_id: Id) -> Response:
    from shekteu.posts import brief

    _allowed(user)
    found = await run_in_threadpool(_plan, runtime(request), user, plan_id, "brief downloaded")
    pdf = await run_in_threadpool(brief.render, found["plan"], author=found["row"]["created_by"])
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="posts-{plan_id}.pdf"'})  # fmt: skip

