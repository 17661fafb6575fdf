"""The Telegram bot on aiogram 3: long polling (`shekteu bot`) or webhook (served by `shekteu serve`).

Handlers are thin: they read the update, download photos within the size limit (refusing before the
download when Telegram says the file is too big), and run ``BotCore`` (``inbound.py``) in a worker
thread so the database never blocks the event loop. Processing tips, delivering notifications and
the staff chat's alerts are queued jobs, run by the worker that ``shekteu bot`` embeds (issue 20), in
polling and webhook mode alike. A reporter who floods gets one warning a minute, not one per message;
everything they sent within the limits is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import time
from typing import Any

from shekteu.integrations.telegram.inbound import BotCore, Reporter
from shekteu.runtime import Runtime
from shekteu.wording import N_, Said, said

log = logging.getLogger("shekteu.bot")
WARN_EVERY = 60.0


def webhook_secret(token: str) -> str:
    """The secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token (derived, never the token)."""
    return hashlib.sha256(b"shekteu-webhook\0" + token.encode()).hexdigest()[:48]


class TelegramBot:
    def __init__(self, rt: Runtime) -> None:
        from aiogram import Bot, Dispatcher
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        token = rt.settings.telegram_token
        if token is None:
            raise ValueError("SHEKTEU_TELEGRAM_TOKEN is not set")
        self.rt = rt
        self.core = BotCore(rt)
        self.token = token.get_secret_value()
        session = AiohttpSession(api=TelegramAPIServer.from_base(rt.settings.telegram_api_base))
        self.bot = Bot(self.token, session=session)
        self.dp = Dispatcher()
        self.dp.include_router(self._router())
        self._warned: dict[int, float] = {}

    # -- handlers ---------------------------------------------------------------------------------
    def _router(self) -> Any:
        from aiogram import F, Router
        from aiogram.filters import Command, CommandObject, CommandStart
        from aiogram.types import Message

        router = Router()

        @router.message(CommandStart())
        @router.message(Command("help"))
        async def start(message: Message) -> None:
            await self._answer(message, await asyncio.to_thread(self.core.start, _reporter(message)))

        @router.message(Command("lang"))
        async def lang(message: Message, command: CommandObject) -> None:
            await self._answer(
                message, await asyncio.to_thread(self.core.set_lang, _reporter(message), command.args or "")
            )

        @router.message(Command("status"))
        async def status(message: Message, command: CommandObject) -> None:
            await self._answer(
                message, await asyncio.to_thread(self.core.status, _reporter(message), command.args or "")
            )

        @router.message(F.photo)
        async def photo(message: Message) -> None:
            biggest = message.photo[-1]
            await self._photo(message, biggest.file_id, biggest.file_size)

        @router.message(F.document)
        async def document(message: Message) -> None:
            doc = message.document
            if not (doc.mime_type or "").startswith("image/"):
                await self._answer(
                    message, await asyncio.to_thread(self.core.unsupported, _reporter(message))
                )
                return
            await self._photo(message, doc.file_id, doc.file_size)  # sent as a file: EXIF GPS survives

        @router.message(F.location)
        async def location(message: Message) -> None:
            where = message.location
            reply = await asyncio.to_thread(
                self.core.location, _reporter(message), where.latitude, where.longitude
            )
            await self._answer(message, reply)

        @router.message(F.text)
        async def text(message: Message) -> None:
            reply = await asyncio.to_thread(self.core.report, _reporter(message), text=message.text or "",
                                            message_id=message.message_id)  # fmt: skip
            await self._after_report(message, *reply)

        @router.message()
        async def other(message: Message) -> None:
            await self._answer(message, await asyncio.to_thread(self.core.unsupported, _reporter(message)))

        return router

    async def _refuse(self, message: Any, user: Any, reason: Said) -> None:
        # The reply is in the reporter's language, read from the database: off the event loop.
        await self._answer(message, await asyncio.to_thread(self.core.photo_refused, user, reason))

    async def _photo(self, message: Any, file_id: str, size: int | None) -> None:
        user = _reporter(message)
        limit = self.rt.settings.tip_max_photo_bytes
        if size is not None and size > limit:
            await self._refuse(message, user, said(N_("the photo is larger than {limit} bytes"), limit=limit))
            return
        try:
            file = await self.bot.get_file(file_id)
            buf = io.BytesIO()
            await self.bot.download_file(file.file_path or "", destination=buf, timeout=60)
        except Exception as exc:  # any transport failure is the reporter's clear reply
            log.warning("photo download failed: %s", type(exc).__name__)
            await self._refuse(message, user, said(N_("download failed, please resend")))
            return
        data = buf.getvalue()
        if len(data) > limit:
            await self._refuse(message, user, said(N_("the photo is larger than {limit} bytes"), limit=limit))
            return
        reply = await asyncio.to_thread(self.core.report, user, text=message.caption or "", photos=[data],
                                        message_id=message.message_id)  # fmt: skip
        await self._after_report(message, *reply)

    async def _after_report(self, message: Any, reply: str, limited: bool) -> None:
        if limited:
            now = time.monotonic()
            if now - self._warned.get(message.from_user.id, -WARN_EVERY) < WARN_EVERY:
                return  # one warning a minute is enough for a flood
            self._warned[message.from_user.id] = now
        await self._answer(message, reply)

    async def _answer(self, message: Any, text: str) -> None:
        try:
            await message.answer(text)
        except Exception as exc:  # a failed reply must not stop the bot
            log.warning("reply failed: %s", type(exc).__name__)

    async def run_polling(self, stop: asyncio.Event | None = None) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        worker = None
        if self.rt.settings.embedded_worker:
            from shekteu.queue.worker import Worker

            worker = Worker(self.rt)
            worker.start()
        polling = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, close_bot_session=False)
        )
        try:
            if stop is None:
                await polling
            else:
                await stop.wait()
                await self.dp.stop_polling()
                await polling
        finally:
            # Let the worker's current jobs finish: their work runs in threads that cancelling would
            # not stop, and they would go on writing after the bot (or a test's database) is gone.
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            await self.bot.session.close()

    async def set_webhook(self, url: str) -> None:
        await self.bot.set_webhook(url, secret_token=webhook_secret(self.token), allowed_updates=["message"])
        await self.bot.session.close()

    async def feed(self, update: dict[str, Any]) -> None:
        await self.dp.feed_webhook_update(self.bot, update)


def _reporter(message: Any) -> Reporter:
    user = message.from_user
    return Reporter(user_id=user.id if user else message.chat.id, chat_id=message.chat.id,
                    language_code=user.language_code if user else None)  # fmt: skip
