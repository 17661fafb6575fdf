"""Telegram notifications: ``sendMessage`` of the Bot API over plain HTTPS, so any worker can send
them without the bot running."""

from __future__ import annotations

from collections.abc import Callable

from shekteu.runtime import Runtime
from shekteu.tips.outbox import DeliveryError


def sender(rt: Runtime) -> Callable[[str, str], None]:
    """``sendMessage`` of the Telegram Bot API, over plain HTTPS (the worker needs no bot running)."""
    import httpx

    token = rt.settings.telegram_token
    if token is None:
        raise DeliveryError("Telegram is not configured (SHEKTEU_TELEGRAM_TOKEN)")
    url = f"{rt.settings.telegram_api_base}/bot{token.get_secret_value()}/sendMessage"

    def send(address: str, text: str) -> None:
        try:
            reply = httpx.post(url, json={"chat_id": int(address), "text": text}, timeout=30)
            ok = reply.status_code == 200 and reply.json().get("ok") is True
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(f"Telegram could not be reached: {type(exc).__name__}") from None
        if not ok:
            raise DeliveryError(f"Telegram refused: HTTP {reply.status_code}")

    return send
