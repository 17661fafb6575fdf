"""Covert sensors on the dashboard (issue 22): the live alert list, the sensors and their health on
the map, and a per-site timeline of events with each one's waveform and spectrogram.

Everything here needs the ``sensors`` permission (analysts and admins; never volunteer
coordinators). Sensor positions are only in the page and ``/api/seismic/sensors``, and each viewing
of them is audited; the alert list polled by the page carries no position.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.web.auth import Principal, Viewer
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import form_values, perform, render
from shekteu.wording import said

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/seismic", tags=["seismic sensors"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
SiteKey = Annotated[str, Query(min_length=3, max_length=200, pattern=r"^(site|place):")]


def _allowed(user: Principal) -> None:
    if not user.may("sensors"):
        raise HTTPException(403, "covert sensors are for the drug unit's analysts")


def _alerts(rt: Runtime, limit: int = 100) -> list[dict[str, Any]]:
    from shekteu.db.seismic_tables import SeismicAlert
    from shekteu.seismic.alerts import alert_json

    with rt.db.read() as s:
        rows = s.scalars(select(SeismicAlert).order_by((SeismicAlert.state == "open").desc(),
                                                       SeismicAlert.last_at.desc()).limit(limit))  # fmt: skip
        return [alert_json(a) for a in rows]


def _sensors(rt: Runtime, user: Principal) -> list[dict[str, Any]]:
    from shekteu.seismic.sensors import as_json, listing

    with rt.db.write() as s:  # the viewing of positions is audited
        return [as_json(x) | {"site_key": x.site_key} for x in listing(s, actor=user.name)]


@api.get("/alerts", summary="Seismic alerts, open first, newest first (no positions)")
async def alerts_api(request: Request, user: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list:
    _allowed(user)
    return await run_in_threadpool(_alerts, runtime(request), limit)


@api.get("/sensors", summary="Installed sensors as GeoJSON points (sensitive: the viewing is audited)")
async def sensors_api(request: Request, user: Viewer) -> dict:
    _allowed(user)
    rows = await run_in_threadpool(_sensors, runtime(request), user)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}, "properties": r}
        for r in rows]}  # fmt: skip


def _events(rt: Runtime, site: str, limit: int) -> list[dict[str, Any]]:
    from shekteu.db.seismic_tables import SeismicEvent
    from shekteu.seismic.alerts import event_json

    with rt.db.read() as s:
        rows = s.scalars(select(SeismicEvent).where(SeismicEvent.site_key == site)
                         .order_by(SeismicEvent.start.desc()).limit(limit))  # fmt: skip
        return [event_json(e) for e in rows]


@api.get("/events", summary="A site's events, newest first")
async def events_api(request: Request, user: Viewer, site: SiteKey,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list:  # fmt: skip
    _allowed(user)
    return await run_in_threadpool(_events, runtime(request), site, limit)


@pages.get("/dash/sensors", response_class=HTMLResponse)
async def sensors_page(request: Request, user: Viewer) -> HTMLResponse:
    _allowed(user)
    rt = runtime(request)
    alerts = await run_in_threadpool(_alerts, rt, 100)
    sensors = await run_in_threadpool(_sensors, rt, user)
    return render(request, user, "dash/sensors.html", section="sensors", alerts=alerts, sensors=sensors)


@pages.get("/dash/sensors/site", response_class=HTMLResponse)
async def site_page(request: Request, user: Viewer, site: SiteKey) -> HTMLResponse:
    _allowed(user)
    events = await run_in_threadpool(_events, runtime(request), site, 200)
    return render(request, user, "dash/sensor_site.html", section="sensors", site=site, events=events)


def _image(rt: Runtime, event_id: int, kind: str) -> bytes:
    from shekteu.db.seismic_tables import SeismicEvent
    from shekteu.seismic.plots import spectrogram_png, unpack, waveform_png

    with rt.db.read() as s:
        row = s.get(SeismicEvent, event_id)
        if row is None:
            raise HTTPException(404, "no such event")
        traces = unpack(row.waveform)
    return waveform_png(traces) if kind == "waveform" else spectrogram_png(traces)


@pages.get("/dash/sensors/events/{event_id}/{kind}.png")
async def event_image(request: Request, user: Viewer, event_id: Id,
                      kind: Annotated[str, Path(pattern="^(waveform|spectrogram)$")]) -> Response:  # fmt: skip
    _allowed(user)
    png = await run_in_threadpool(_image, runtime(request), event_id, kind)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@pages.post("/dash/sensors/alerts/{alert_id}/close")
async def close_form(request: Request, alert_id: Id) -> Response:
    from shekteu.seismic.alerts import close

    reason = (await form_values(request)).get("reason", "")

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            return said(N_("alert {id} closed"), id=close(s, alert_id, actor=user.name, reason=reason).id)

    return await perform(request, "sensors", change, to="/dash/sensors")
