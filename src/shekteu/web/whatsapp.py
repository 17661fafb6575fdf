"""WhatsApp Cloud API webhook: verification, signed deliveries, text/image/location messages.

``GET`` answers Meta's verification (``hub.mode``, ``hub.verify_token``, ``hub.challenge``).
``POST`` bodies must carry ``X-Hub-Signature-256`` = HMAC-SHA256 of the raw body under the app
secret; a missing or wrong signature is a 401 and nothing is stored. Each message becomes a tip
(a location right after a photo completes that tip); images are downloaded through the Graph API
(``SHEKTEU_WHATSAPP_GRAPH_BASE``) within the photo size limit; the reporter gets the ticket back as a
WhatsApp message. Redelivered messages (same message id) are recognised and not stored twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.settings import Settings
from shekteu.tips import messages
from shekteu.tips.intake import TipError, TipInput, add_location, submit
from shekteu.tips.outbox import DeliveryError
from shekteu.web.common import runtime
from shekteu.web.limits import same_secret

router = APIRouter(prefix="/webhooks/whatsapp", include_in_schema=False)
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MEDIA_HOSTS = (".fbsbx.com", ".facebook.com", ".whatsapp.net", ".fbcdn.net")


class GraphClient:
    """The few Graph API calls the webhook needs: media lookup and download, sending a text."""

    def __init__(self, settings: Settings) -> None:
        if settings.whatsapp_token is None or not settings.whatsapp_phone_number_id:
            raise DeliveryError(
                "WhatsApp is not configured (SHEKTEU_WHATSAPP_TOKEN, SHEKTEU_WHATSAPP_PHONE_NUMBER_ID)"
            )
        self.base = settings.whatsapp_graph_base
        self.phone_id = settings.whatsapp_phone_number_id
        self.max_bytes = settings.tip_max_photo_bytes
        self.headers = {"Authorization": f"Bearer {settings.whatsapp_token.get_secret_value()}"}

    def _trusted(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return host == urlsplit(self.base).hostname or host.endswith(MEDIA_HOSTS)

    def media(self, media_id: str) -> bytes:
        with httpx.Client(timeout=TIMEOUT, headers=self.headers, follow_redirects=False) as client:
            meta = client.get(f"{self.base}/{media_id}")
            if meta.status_code != 200:
                raise TipError(f"the photo could not be fetched (Graph API {meta.status_code})")
            url = meta.json().get("url", "")
            if not isinstance(url, str) or not self._trusted(url):
                raise TipError("the photo's download address is not a WhatsApp one")
            with client.stream("GET", url) as stream:
                if stream.status_code != 200:
                    raise TipError(f"the photo could not be downloaded (HTTP {stream.status_code})")
                data = bytearray()
                for chunk in stream.iter_bytes():
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise TipError(f"the photo is larger than {self.max_bytes} bytes")
        return bytes(data)

    def send_text(self, to: str, text: str) -> None:
        body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}}
        try:
            answer = httpx.post(
                f"{self.base}/{self.phone_id}/messages", json=body, headers=self.headers, timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Graph API unreachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise DeliveryError(f"Graph API answered {answer.status_code}")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return same_secret(expected, header.removeprefix("sha256="))


@router.get("")
def verify(request: Request) -> Response:
    settings = runtime(request).settings
    params = request.query_params
    token = settings.whatsapp_verify_token
    if (params.get("hub.mode") == "subscribe" and token is not None
            and same_secret(params.get("hub.verify_token", ""), token.get_secret_value())):  # fmt: skip
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("verification failed", status_code=403)


def handle_message(
    rt: Runtime, graph: GraphClient | None, message: dict[str, Any], lang: str | None
) -> str | None:
    """Turn one message into a tip (or a location on the last tip); returns the reply text."""
    sender = str(message.get("from", ""))
    kind = message.get("type")
    if not sender:
        return None
    tip = TipInput(
        channel="whatsapp", user_id=sender, contact=sender, lang=lang, message_id=message.get("id")
    )
    try:
        if kind == "text":
            tip.text = str((message.get("text") or {}).get("body", ""))
        elif kind == "image":
            image = message.get("image") or {}
            if graph is None:
                raise TipError("photos cannot be fetched: WhatsApp is not configured")
            tip.photos = [graph.media(str(image.get("id", "")))]
            tip.text = str(image.get("caption") or "")
        elif kind == "location":
            where = message.get("location") or {}
            lat, lon = float(where.get("latitude")), float(where.get("longitude"))
            added = add_location(rt, "whatsapp", sender, lat, lon)
            if added is not None:
                return added.message
            tip.lat, tip.lon, tip.kind = lat, lon, "graffiti"
            tip.text = str(where.get("name") or where.get("address") or "")
        else:
            return messages.text("unsupported", lang)
        receipt = submit(rt, tip)
    except (TypeError, ValueError) as exc:  # TipError is a ValueError
        return messages.text("bad_photo", lang, reason=str(exc)) if kind == "image" else str(exc)
    if receipt.repeated:
        return None  # a redelivery: the reporter already has the answer
    if kind == "image" and not receipt.has_location:
        return receipt.message + "\n" + messages.text("need_location", lang)
    return receipt.message


def _lang(value: dict[str, Any]) -> str | None:
    for contact in value.get("contacts") or []:
        code = str((contact.get("profile") or {}).get("locale", ""))[:2]
        if code in messages.LANGS:
            return code
    return None


def _answer(rt: Runtime, replies: list[tuple[str, str]]) -> None:
    try:
        graph = GraphClient(rt.settings)
    except DeliveryError:
        return
    for to, text in replies:
        try:
            graph.send_text(to, text)
        except DeliveryError:
            pass  # the ticket is stored; the reporter can ask for it again


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
    replies = await run_in_threadpool(_handle_all, rt, entries)
    background.add_task(_answer, rt, replies)
    return PlainTextResponse("ok")


def _handle_all(rt: Runtime, entries: Any) -> list[tuple[str, str]]:
    try:
        graph: GraphClient | None = GraphClient(rt.settings)
    except DeliveryError:
        graph = None
    replies = []
    for entry in entries if isinstance(entries, list) else []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            lang = _lang(value)
            for message in value.get("messages") or []:
                if isinstance(message, dict):
                    text = handle_message(rt, graph, message, lang)
                    if text:
                        replies.append((str(message.get("from")), text))
    return replies
