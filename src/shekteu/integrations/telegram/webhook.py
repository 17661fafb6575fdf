"""Telegram webhook endpoint: updates Telegram pushes after `shekteu bot --webhook`.

Telegram echoes the secret given to setWebhook in ``X-Telegram-Bot-Api-Secret-Token``; any call
without it is refused (401) before the body is parsed.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from shekteu.web.common import runtime
from shekteu.web.limits import same_secret

router = APIRouter(include_in_schema=False)


@router.post("/webhooks/telegram")
async def telegram_update(request: Request) -> Response:
    rt = runtime(request)
    token = rt.settings.telegram_token
    if token is None:
        return JSONResponse({"ok": False, "description": "the bot is not configured"}, status_code=404)
    try:
        from shekteu.integrations.telegram.client import TelegramBot, webhook_secret
    except ModuleNotFoundError:
        return JSONResponse({"ok": False, "description": "the bot extra is not installed"}, status_code=503)
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not same_secret(given, webhook_secret(token.get_secret_value())):
        return JSONResponse({"ok": False, "description": "bad secret token"}, status_code=401)
    try:
        update = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"ok": False, "description": "not JSON"}, status_code=400)
    bot = getattr(request.app.state, "telegram", None)
    if bot is None:
        bot = request.app.state.telegram = TelegramBot(rt)
    await bot.feed(update)
    return JSONResponse({"ok": True})
