"""The WhatsApp Cloud API webhook ``shekteu serve`` mounts: Meta's verification and signed deliveries.

``GET`` answers the verification (``hub.mode``, ``hub.verify_token``, ``hub.challenge``). ``POST``
bodies must carry a valid ``X-Hub-Signature-256``; a missing or wrong one is a 401 and nothing is
stored. The messages are handled in ``inbound.py`` off the event loop.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response

from shekteu.integrations.whatsapp.client import signature_ok
from shekteu.integrations.whatsapp.inbound import answer, handle_all
from shekteu.web.common import runtime
from shekteu.web.intake_threads import run_intake
from shekteu.web.limits import same_secret

router = APIRouter(prefix="/webhooks/whatsapp", include_in_schema=False)


@router.get("")
def verify(request: Request) -> Response:
    settings = runtime(request).settings
    params = request.query_params
    token = settings.whatsapp_verify_token
    if (params.get("hub.mode") == "subscribe" and token is not None
            and same_secret(params.get("hub.verify_token", ""), token.get_secret_value())):  # fmt: skip
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("verification failed", status_code=403)


@router.post("")
async def receive(request: Request, background: BackgroundTasks) -> Response:
    rt = runtime(request)
    body = await request.body()
    secret = rt.settings.whatsapp_app_secret
    if secret is None or not signature_ok(
        secret.get_secret_value(), body, request.headers.get("x-hub-signature-256")
    ):
        return PlainTextResponse("bad signature", status_code=401)
    try:
        payload = json.loads(body)
        entries = payload.get("entry") or []
    except (ValueError, AttributeError):
        return PlainTextResponse("not a WhatsApp webhook payload", status_code=400)
    replies = await run_intake(request, handle_all, rt, entries)
    background.add_task(answer, rt, replies)
    return PlainTextResponse("ok")
