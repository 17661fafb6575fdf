"""Open311 GeoReport v2: city apps and 109-style portals file reports with the standard API.

``GET services``, ``POST requests`` (service_code, lat, long, description, media as an upload or
``media_url`` ignored), ``GET requests/{id}`` with the status mapped to ``open``/``closed`` plus
``status_notes``; each in JSON or XML as the format suffix asks. Errors come back in the spec's error
format. A request's id is its ticket. Nothing a reporter sent (text, photo, location) is shown back:
anyone holding an id sees only its status.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shekteu.tips.intake import RateLimited, TipError, TipInput, submit
from shekteu.tips.status import TipStatusError, get_tip
from shekteu.web.auth import client_address
from shekteu.web.common import client_id, form_text, read_upload, runtime
from shekteu.web.intake_threads import run_intake

router = APIRouter(prefix="/open311/v2")

SERVICES = [
    {"service_code": "drug_shop", "service_name": "Drug shop online", "kind": "online_shop",
     "description": "A website, Telegram channel, bot or account selling drugs or recruiting couriers.",
     "keywords": "drugs, online shop, telegram", "group": "drugs"},
    {"service_code": "drug_graffiti", "service_name": "Drug graffiti", "kind": "graffiti",
     "description": "Drug advertising painted or stuck on a wall, with a photo and location.",
     "keywords": "graffiti, street ad, stencil, qr", "group": "drugs"},
    {"service_code": "drug_other", "service_name": "Other drug-related report", "kind": "other",
     "description": "Anything else about drug sales.", "keywords": "drugs", "group": "drugs"},
]  # fmt: skip
BY_CODE = {s["service_code"]: s for s in SERVICES}
KIND_CODES = {s["kind"]: s["service_code"] for s in SERVICES}
FORMATS = ("json", "xml")


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            ET.SubElement(node, key).text = (
                "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            )
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def reply(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status, media_type="text/xml; charset=utf-8")
    import json

    return Response(json.dumps(rows, ensure_ascii=False), status_code=status, media_type="application/json")


def error(fmt: str, status: int, description: str) -> Response:
    return reply(fmt if fmt in FORMATS else "json", "errors", "error", [{"code": status, "description": description}],
                 status)  # fmt: skip


def _service(s: dict[str, str]) -> dict[str, Any]:
    return {k: s[k] for k in ("service_code", "service_name", "description")} | {
        "metadata": False, "type": "realtime", "keywords": s["keywords"], "group": s["group"]}  # fmt: skip


@router.get("/services.{fmt}")
def services(fmt: str) -> Response:
    if fmt not in FORMATS:
        return error("json", 404, f"unknown format {fmt!r}; use json or xml")
    return reply(fmt, "services", "service", [_service(s) for s in SERVICES])


@router.post("/requests.{fmt}")
async def create_request(
    request: Request,
    fmt: str,
    service_code: Annotated[str, Form()] = "",
    lat: Annotated[float | None, Form()] = None,
    long: Annotated[float | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    device_id: Annotated[str | None, Form()] = None,
    media: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if fmt not in FORMATS:
        return error("json", 404, f"unknown format {fmt!r}; use json or xml")
    service = BY_CODE.get(service_code)
    if service is None:
        return error(fmt, 400, f"unknown service_code {service_code!r}; see services.{fmt}")
    rt = runtime(request)
    content_type = request.headers.get("content-type")
    description = form_text(description, content_type)
    device_id = form_text(device_id, content_type) if device_id else device_id
    who = f"device:{device_id}" if device_id else client_id(request)
    try:
        photo = await read_upload(media, rt.settings.tip_max_photo_bytes)
        tip = TipInput(channel="open311", user_id=who, kind=service["kind"], text=description,
                       photos=[photo] if photo else [], lat=lat, lon=long, service_code=service_code,
                       origin=client_address(request))  # fmt: skip
        receipt = await run_intake(request, submit, rt, tip)
    except RateLimited as exc:
        return error(fmt, 429, str(exc))
    except TipError as exc:
        return error(fmt, 400, str(exc))
    notice = "Thank you. Keep the request id to follow its status."
    return reply(fmt, "service_requests", "request",
                 [{"service_request_id": receipt.ticket, "service_notice": notice, "account_id": None}])  # fmt: skip


@router.get("/requests/{request_id}.{fmt}")
def get_request(request: Request, request_id: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        return error("json", 404, f"unknown format {fmt!r}; use json or xml")
    rt = runtime(request)
    if not request.app.state.lookups.allow(client_address(request)):
        return error(fmt, 429, "too many status lookups from this address; wait a minute")
    try:
        with rt.db.read() as session:
            tip = get_tip(session, request_id)
            row = {
                "service_request_id": tip.ticket,
                "status": "closed" if tip.status in ("closed", "rejected") else "open",
                "status_notes": tip.public_status,
                "service_code": tip.service_code or KIND_CODES.get(tip.kind, "drug_other"),
                "requested_datetime": tip.created_at.isoformat(timespec="seconds"),
                "updated_datetime": tip.updated_at.isoformat(timespec="seconds"),
            }  # fmt: skip
    except TipStatusError:
        return error(fmt, 404, f"no request {request_id[:20]!r}")
    return reply(fmt, "service_requests", "request", [row])
