"""The few WhatsApp Graph API calls we make (media lookup and download, sending a text) and the
webhook signature check: ``X-Hub-Signature-256`` = HMAC-SHA256 of the raw body under the app secret."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

import httpx

from shekteu.settings import Settings
from shekteu.tips.intake import TipError
from shekteu.tips.outbox import DeliveryError
from shekteu.web.limits import same_secret

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
