"""Limits on what a client can make the server hold: body size counted as it streams, a deadline for
receiving it, and secrets compared safely.

A ``Content-Length`` check alone lets a chunked upload of any size through, and a client that trickles
its body one byte a second holds a worker as long as it likes. ``BodyLimit`` wraps the ASGI receive
channel, so every route (forms, uploads, webhooks, the API) is covered however it reads its body.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

Scope = dict[str, Any]


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality of two secrets of any text: ``hmac.compare_digest`` refuses non-ASCII
    ``str``, so both are compared as UTF-8 bytes."""
    def raw(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")

    return hmac.compare_digest(raw(given), raw(expected))


class BodyLimit:
    """ASGI middleware: at most ``max_bytes`` of request body, all of it within ``seconds``."""

    def __init__(self, app: Any, max_bytes: int, seconds: float) -> None:
        self.app, self.max_bytes, self.seconds = app, max_bytes, seconds

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _refuse(send, 413, b"request body too large")
            return
        seen, complete = 0, False
        refusal: tuple[int, bytes] | None = None  # set once the body broke a limit
        replied = started = False
        deadline = time.monotonic() + self.seconds

        async def limited() -> dict[str, Any]:
            nonlocal seen, complete, refusal
            if complete or refusal:  # after the body only a disconnect can come: no deadline on it
                return await receive() if complete else {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                refusal = (408, b"the request body took too long to arrive")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if seen > self.max_bytes:
                    refusal = (413, b"request body too large")
                    return {"type": "http.disconnect"}  # the app stops reading: the client is "gone"
            return message

        async def guarded(message: dict[str, Any]) -> None:
            # Whatever the app answers to a body it could not finish, the client hears the limit.
            nonlocal replied, started
            if refusal and not started:
                if not replied:
                    replied = True
                    await _refuse(send, *refusal)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not refusal or started:
                raise
        if refusal and not replied and not started:
            await _refuse(send, *refusal)


async def _refuse(send: Any, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": text})
