"""The Telegram bot on aiogram 3: long polling (`shekteu bot`) or webhook (served by `shekteu serve`).

Handlers are thin: they read the update, download photos within the size limit (refusing before the
download when Telegram says the file is too big), and run ``BotCore`` (``inbound.py``) in a worker
thread so the database never blocks the event loop. A "pump" runs after reports and every few
seconds: it sends staff alerts for high-score tips; processing tips and delivering notifications are
queued jobs, run by the worker that ``shekteu bot`` embeds (issue 20). A reporter who floods gets
one warning a minute, not one per message; everything they sent within the limits is kept.
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
PUMP_SECONDS = 5.0
WARN_EVERY = 60.0


def webhook_secret(token: str) -> str:
    """The secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token (derived, never the token)."""
    return hashlib.sha256(b"shekteu-webhook\0" + token.encode()).hexdigest()[:48]


class TelegramBot:
    def __init__(self, rt: Runtime, *, pump_seconds: float = PUMP_SECONDS) -> None:
        from aiogram import Bot, Dispatcher
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        token = rt.settings.telegram_token
        if token is None:
            raise ValueError("SHEKTEU_TELEGRAM_TOKEN is not set")
        self.rt = rt
        self.pump_seconds = pump_seconds
        self.core = BotCore(rt)
        self.token = token.get_secret_value()
        session = AiohttpSession(api=TelegramAPIServer.from_base(rt.settings.telegram_api_base))
        self.bot = Bot(self.token, session=session)
        self.dp = Dispatcher()
        self.dp.include_router(self._router())
        self._pump_lock = asyncio.Lock()
        self._warned: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        task = asyncio.create_task(self.pump())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: Any, text: str) -> None:
        try:
            await message.answer(text)
        except Exception as exc:  # a failed reply must not stop the bot
            log.warning("reply failed: %s", type(exc).__name__)

    # -- background work ----------------------------------------------------------------------------
    async def pump(self) -> None:
        """Send staff alerts for high-score tips (one run at a time). Processing tips and delivering
        reporters' notifications are queued jobs: a worker runs them (embedded in ``shekteu bot``
        and ``shekteu serve``, or separate ``shekteu worker`` processes)."""
        if self._pump_lock.locked() or self.rt.settings.telegram_staff_chat is None:
            return
        async with self._pump_lock:
            for text in await asyncio.to_thread(self.core.staff_alerts):
                await self._send(self.rt.settings.telegram_staff_chat, text)

    async def _send(self, chat_id: int, text: str) -> None:
        try:
            await self.bot.send_message(chat_id, text)
        except Exception as exc:
            log.warning("staff alert failed: %s", type(exc).__name__)

    async def _pump_forever(self, halt: asyncio.Event) -> None:
        while not halt.is_set():
            try:
                await asyncio.wait_for(halt.wait(), self.pump_seconds)
                return
            except TimeoutError:
                pass
            try:
                await self.pump()
            except Exception:  # keep the bot running; the next pump retries
                log.exception("pump failed")

    async def run_polling(self, stop: asyncio.Event | None = None) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        halt = asyncio.Event()
        worker = None
        if self.rt.settings.embedded_worker:
            from shekteu.queue.worker import Worker

            worker = Worker(self.rt)
            worker.start()
        pumper = asyncio.create_task(self._pump_forever(halt))
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
            # Let a pump and the worker's current jobs finish: their work runs in threads that
            # cancelling would not stop, and they would go on writing after the bot (or a test's
            # database) is gone.
            halt.set()
            await pumper
            await asyncio.gather(*self._tasks, return_exceptions=True)  # pumps started by reports
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
