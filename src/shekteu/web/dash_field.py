"""Field sites for the dashboard map and for integrations: the registry as GeoJSON, totals per
district and status, and status changes (confirmed by a patrol or drone, destroyed, dismissed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shekteu.field.registry import STATUSES
from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.pages import api_change

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
