"""Field sites for the dashboard map and for integrations: the registry as GeoJSON, totals per
district and status, and status changes (confirmed by a patrol or drone, destroyed, dismissed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shekteu.field.registry import STATUSES
from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import api_change, form_values, perform, render
from shekteu.wording import Term, said

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/field", tags=["field"])
SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SiteStatus = Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")]
Step = Annotated[str, Path(pattern="^(confirmed|destroyed|dismissed)$")]


class StatusChange(BaseModel):
    reason: str = Field(
        min_length=1, max_length=2000, description="Patrol report, drone flight, act number …"
    )


def _sites(rt: Runtime, status: str | None) -> dict[str, Any]:
    from shekteu.field.registry import list_sites, site_feature

    with rt.db.read() as s:
        return {
            "type": "FeatureCollection",
            "features": [site_feature(x) for x in list_sites(s, status=status)],
        }


@api.get("/sites", summary="Field sites (hemp/cannabis polygons) as GeoJSON, largest first")
async def field_sites(request: Request, user: Viewer, status: SiteStatus = None) -> dict:
    return await run_in_threadpool(_sites, runtime(request), status)


@api.get("/totals", summary="Field sites and hectares per district and status")
async def field_totals(request: Request, user: Viewer) -> list[dict[str, Any]]:
    from shekteu.field.registry import totals

    def read(rt: Runtime) -> list[dict[str, Any]]:
        with rt.db.read() as s:
            return totals(s)

    return await run_in_threadpool(read, runtime(request))


@api.post("/sites/{site_id}/{step}", summary="Mark a field site confirmed, destroyed or dismissed (audited)")
async def field_site_step(request: Request, site_id: SiteId, step: Step, body: StatusChange) -> dict:
    from shekteu.field.registry import move, site_feature

    def change(rt: Runtime, user: Principal) -> dict[str, Any]:
        with rt.db.write() as s:
            return site_feature(move(s, site_id, step, actor=user.name, reason=body.reason))

    return await api_change(request, "field.edit", change)


def _page(rt: Runtime, status: str | None) -> dict[str, Any]:
    """The field page's data: sites (largest first), hectares per district by status, recent changes."""
    from sqlalchemy import select

    from shekteu.db.tables import AuditEntry
    from shekteu.field.registry import TRANSITIONS, list_sites, totals

    with rt.db.read() as s:
        sites = [{"id": x.id, "status": x.status, "hectares": x.hectares, "district": x.district, "oblast": x.oblast,
                  "kato": x.kato, "date": x.observed_on, "lat": x.lat, "lon": x.lon, "source": x.source,
                  "next": sorted(TRANSITIONS.get(x.status, set())), "regrowth_of": x.regrowth_of, "density": x.density}
                 for x in list_sites(s, status=status, limit=500)]  # fmt: skip
        by_district: dict[str, dict[str, Any]] = {}
        for row in totals(s):
            entry = by_district.setdefault(row["kato"] or "-", {"kato": row["kato"], "name": row["name"] or "—",
                                                               "sites": 0, "hectares": 0.0, "by_status": {}})  # fmt: skip
            entry["sites"] += row["sites"]
            entry["hectares"] = round(entry["hectares"] + row["hectares"], 3)
            entry["by_status"][row["status"]] = row["hectares"]
        moves = select(AuditEntry).where(AuditEntry.action.in_(("field.confirmed", "field.destroyed", "field.dismissed")))
        changes = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action.removeprefix("field."),
                    "target": e.target, "reason": e.reason, "from": (e.detail or {}).get("from")}
                   for e in s.scalars(moves.order_by(AuditEntry.id.desc()).limit(30))]  # fmt: skip
    districts = sorted(by_district.values(), key=lambda d: -d["hectares"])
    return {"sites": sites, "districts": districts, "changes": changes, "statuses": STATUSES,
            "total_hectares": round(sum(d["hectares"] for d in districts), 3)}  # fmt: skip


@pages.get("/dash/field", response_class=HTMLResponse)
async def field_page(request: Request, user: Viewer, status: SiteStatus = None) -> HTMLResponse:
    data = await run_in_threadpool(_page, runtime(request), status)
    return render(request, user, "dash/field.html", section="field", status=status, **data)


@pages.post("/dash/field/sites/{site_id}/{step}")
async def field_step_form(request: Request, site_id: SiteId, step: Step) -> Response:
    from shekteu.field.registry import move

    v = await form_values(request)

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            site = move(s, site_id, step, actor=user.name, reason=v.get("reason", ""))
            return said(N_("site {id}: {status}"), id=site.id, status=Term(site.status))

    return await perform(request, "field.edit", change, to=f"/dash/field#site-{site_id}")
