"""Graffiti on the map and on the task board: spots per zone moving reported → verified → assigned →
painted (the coordinator uploads the after-photo) → confirmed; map layers as GeoJSON for Leaflet."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from shekteu.db.tables import Zone
from shekteu.runtime import Runtime
from shekteu.street import spots, zones
from shekteu.web.auth import Principal, Viewer, acting
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import as_int, back, form_values, perform, render
from shekteu.wording import Refusal, Term, said, wording

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["street"])
SpotId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SpotStatus = Annotated[str | None, Query(pattern="^(" + "|".join(spots.STATUSES) + ")$")]


def _spots(rt: Runtime, status: str | None = None) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return spots.list_spots(s, status=status)


def feature_collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r["id"], "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
         "properties": {k: v for k, v in r.items() if k not in ("lat", "lon")}} for r in rows]}  # fmt: skip


@api.get("/spots", summary="Graffiti spots as GeoJSON")
async def spots_geojson(request: Request, user: Viewer, status: SpotStatus = None) -> dict:
    return feature_collection(await run_in_threadpool(_spots, runtime(request), status))


def _zones(rt: Runtime) -> dict[str, Any]:
    with rt.db.read() as s:
        rows = list(s.scalars(select(Zone).order_by(Zone.kind, Zone.name)))
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": z.id, "geometry": z.geometry,
             "properties": {"kind": z.kind, "name": z.name, "contact": z.contact}} for z in rows]}  # fmt: skip


@api.get("/zones", summary="Zones of responsibility as GeoJSON")
async def zones_geojson(request: Request, user: Viewer) -> dict:
    return await run_in_threadpool(_zones, runtime(request))


@api.get("/places", summary="Main settlements with names in ru, kk and en (map labels)")
async def places_geojson(user: Viewer) -> dict[str, Any]:
    from shekteu.geo.boundaries import places

    return places()


@api.get("/districts", summary="District outlines (KATO codes, names) as light GeoJSON")
async def districts_geojson(user: Viewer) -> Response:
    import json

    from shekteu.geo.boundaries import outlines

    body = await run_in_threadpool(lambda: json.dumps(outlines(), ensure_ascii=False, separators=(",", ":")))
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, max-age=86400"})


# Board columns say what the step means for a crew, in words distinct from other pages' states.
COLUMN_NAMES = {"reported": N_("Reported by citizens"), "verified": N_("Checked: it is a drug ad"),
                "assigned": N_("With a team to paint"), "painted": N_("Painted over"),
                "confirmed": N_("Confirmed clean")}  # fmt: skip


@pages.get("/dash/map", response_class=HTMLResponse)
async def map_page(request: Request, user: Viewer) -> HTMLResponse:
    settings = runtime(request).settings
    return render(request, user, "dash/map.html", section="map", tiles=settings.map_tiles_url,
                  attribution=settings.map_tiles_attribution, statuses=spots.STATUSES,
                  field_statuses=("suspected", "confirmed", "destroyed", "dismissed"))  # fmt: skip


@pages.get("/dash/board", response_class=HTMLResponse)
async def board_page(
    request: Request, user: Viewer, zone: Annotated[str | None, Query(max_length=300)] = None
) -> HTMLResponse:
    rows = await run_in_threadpool(_spots, runtime(request))
    names = sorted({r["zone"] or "" for r in rows})
    if zone is not None:
        rows = [r for r in rows if (r["zone"] or "") == zone]
    columns = {status: [r for r in rows if r["status"] == status] for status in spots.STATUSES}
    return render(request, user, "dash/board.html", section="board", columns=columns, zones=names, zone=zone,
                  column_names=COLUMN_NAMES)


def _move(spot_id: int, step: str, v: dict[str, str]):  # type: ignore[no-untyped-def]
    def change(rt: Runtime, user: Principal) -> str:
        reason = v.get("reason", "")
        with rt.db.write() as s:
            if step == "verify":
                spot = spots.verify(s, spot_id, actor=user.name, reason=reason)
            elif step == "assign":
                days = as_int(v.get("days") or str(spots.DUE_DAYS), N_("days"))
                spot = spots.assign(
                    s, spot_id, actor=user.name, reason=reason, team=v.get("team") or None, days=days
                )
            else:
                spot = spots.confirm(s, spot_id, actor=user.name, reason=reason)
            return said(N_("spot {id}: {status}"), id=spot.id, status=Term(spot.status))

    return change


@pages.post("/dash/spots/{spot_id}/paint")
async def spot_paint_form(request: Request, spot_id: SpotId) -> Response:
    """The after-photo is analysed (GPS, time, QR, OCR) and must show the wall painted over, near the spot."""
    user = await acting(request, "spot.edit")
    rt = runtime(request)
    form = await request.form()
    upload = form.get("photo")
    reason = str(form.get("reason") or "painted over")
    to = f"/dash/board#spot-{spot_id}"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, to, "attach the after-photo (a file with GPS and time)", "error")
    data = await upload.read(rt.settings.tip_max_photo_bytes + 1)
    if len(data) > rt.settings.tip_max_photo_bytes:
        return back(request, to, f"the photo is larger than {rt.settings.tip_max_photo_bytes} bytes", "error")

    def run() -> str:
        from shekteu.street.photo import analyse_bytes

        result = analyse_bytes(upload.filename or "after.jpg", data)
        after = result.as_json()
        if result.error is None or result.gps:
            after["sha256"] = rt.store.put_blob(data)
        with rt.db.write() as s:
            spot = spots.paint(s, spot_id, after, actor=user.name, reason=reason)
            return said(N_("spot {id}: {status}"), id=spot.id, status=Term(spot.status))

    try:
        return back(request, to, await run_in_threadpool(run), user=user)
    except ValueError as exc:
        return back(request, to, wording(exc), "error", user=user)


def _after_photo(rt: Runtime, spot_id: int) -> bytes:
    """A small re-encoded copy (no metadata) of the spot's latest after-photo."""
    from sqlalchemy import select

    from shekteu.db.tables import SpotPhoto
    from shekteu.images import display_copy, open_image

    with rt.db.read() as s:
        after = select(SpotPhoto.sha256).where(SpotPhoto.spot_id == spot_id, SpotPhoto.role == "after",
                                               SpotPhoto.sha256.is_not(None))  # fmt: skip
        digest = s.scalar(after.order_by(SpotPhoto.id.desc()).limit(1))
    if not digest or not rt.store.has_blob(digest):
        raise HTTPException(404, "no after-photo for this spot")
    return display_copy(open_image(rt.store.get_blob(digest)), max_side=480)


@pages.get("/dash/spots/{spot_id}/after.jpg")
async def spot_after_photo(request: Request, user: Viewer, spot_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    data = await run_in_threadpool(_after_photo, runtime(request), spot_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600",
                                                            "X-Content-Type-Options": "nosniff"})  # fmt: skip


@pages.post("/dash/spots/{spot_id}/{step}")
async def spot_step_form(request: Request, spot_id: SpotId, step: str) -> Response:
    if step not in ("verify", "assign", "confirm"):
        return Response("unknown step", status_code=404)
    v = await form_values(request)
    if not v.get("reason"):
        v["reason"] = {
            "verify": "seen on the photo",
            "assign": "sent to the zone's team",
            "confirm": "after-photo checked",
        }[step]
    return await perform(request, "spot.edit", _move(spot_id, step, v), to=f"/dash/board#spot-{spot_id}")


@pages.post("/dash/settings/zones")
async def zones_upload(request: Request) -> Response:
    user = await acting(request, "zone.import")
    form = await request.form()
    upload = form.get("file")
    kind, prop = str(form.get("kind") or ""), str(form.get("name_property") or "name")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, "/dash/settings", "choose a GeoJSON file", "error")
    data = await upload.read(zones.MAX_BYTES + 1)
    rt = runtime(request)

    def run() -> str:
        if len(data) > zones.MAX_BYTES:
            raise Refusal(N_("the file is larger than {limit} bytes"), limit=zones.MAX_BYTES)
        with tempfile.TemporaryDirectory() as tmp:
            path = FilePath(tmp) / "zones.geojson"
            path.write_bytes(data)
            try:
                with rt.db.write() as s:
                    names = zones.import_zones(s, path, kind=kind, name_property=prop, actor=user.name)
            except zones.BoundaryError as exc:  # name the upload, not our temporary copy
                raise zones.BoundaryError(said(exc.said.template, **{
                    k: Term(N_("the file")) if v == str(path) else v for k, v in exc.said.values.items()})) from None
        return said(N_("{n} zone(s) imported: {names}"), n=len(names), names=", ".join(names[:10]))

    try:
        return back(request, "/dash/settings", await run_in_threadpool(run), user=user)
    except ValueError as exc:
        return back(request, "/dash/settings", wording(exc), "error", user=user)
