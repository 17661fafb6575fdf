"""`shekteu bot simulate`: chat with the real bot in a terminal, no Telegram needed.

The bot is the same code `shekteu bot` runs (aiogram, long polling, the job worker beside it); only
its Bot API server is a local one (``local_api.py``). What a person types becomes a Telegram update
from one simulated reporter; what the bot sends is printed. Lines starting with ``/photo PATH`` send
a picture as a file (EXIF and all), ``/location LAT LON`` a location; ``/quit`` ends. Reports go into
the data directory like any other, so the dashboard shows them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from shekteu.integrations.telegram.local_api import TOKEN, LocalBotAPI, command, message
from shekteu.runtime import Runtime

USER_ID = 777001  # the simulated reporter
FIRST_REPLY_SECONDS = 60.0  # how long one line may wait for the bot's first answer
QUIET_SECONDS = 1.5  # after an answer, how long to wait for more before reading the next line
MAX_PHOTO_BYTES = 20_000_000


class SimulationError(ValueError):
    """A line that cannot be sent (a missing photo, a bad location)."""


class Simulation:
    def __init__(self, rt: Runtime, lang: str = "ru") -> None:
        self.api = LocalBotAPI()
        settings = rt.settings.model_copy(update={"telegram_token": _secret(TOKEN),
                                                  "telegram_api_base": self.api.base})  # fmt: skip
        self.rt = Runtime(settings)
        self.lang = lang
        self._n = 0
        self._seen = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="shekteu-bot-simulate", daemon=True)
        self._started = threading.Event()
        self.error: BaseException | None = None

    def _run(self) -> None:
        from shekteu.integrations.telegram.client import TelegramBot

        async def main() -> None:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            bot = TelegramBot(self.rt)
            self._started.set()
            await bot.run_polling(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # shown to the person, not swallowed
            self.error = exc
        finally:
            self._started.set()

    def __enter__(self) -> Simulation:
        self._thread.start()
        self._started.wait(60)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(120)
        self.api.close()
        self.rt.close()

    # -- what the person sends --------------------------------------------------------------------
    def send(self, line: str) -> None:
        line = line.strip()
        self._n += 1
        lang = {"lang": self.lang, "user": USER_ID}
        if line.startswith("/photo"):
            path = Path(line[len("/photo") :].strip()).expanduser()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SimulationError(f"cannot read {path}: {exc.strerror or exc}") from None
            if len(data) > MAX_PHOTO_BYTES:
                raise SimulationError(f"{path} is larger than {MAX_PHOTO_BYTES // 1_000_000} MB")
            file_id = f"sim{self._n}"
            self.api.add_file(file_id, data)
            self.api.push(message(self._n, document={"file_id": file_id, "file_unique_id": "u" + file_id,
                                                     "file_name": path.name, "mime_type": "image/jpeg",
                                                     "file_size": len(data)}, **lang))  # fmt: skip
        elif line.startswith("/location"):
            try:
                lat, lon = (float(x) for x in line.split()[1:3])
            except ValueError:
                raise SimulationError("say /location LATITUDE LONGITUDE, e.g. /location 43.24 76.91") from None
            self.api.push(message(self._n, location={"latitude": lat, "longitude": lon}, **lang))
        elif line.startswith("/"):
            self.api.push(command(self._n, line, **lang))
        else:
            self.api.push(message(self._n, text=line, **lang))

    def replies(self, *, first_wait: float = FIRST_REPLY_SECONDS, quiet: float = QUIET_SECONDS) -> list[str]:
        """The bot's messages since the last call: waits for the first, then for a quiet moment."""
        got = self.api.wait_sent(self._seen + 1, timeout=first_wait)
        while True:
            time.sleep(quiet)
            more = self.api.wait_sent(len(got) + 1, timeout=0)
            if len(more) == len(got):
                break
            got = more
        new, self._seen = got[self._seen :], len(got)
        return [str(m.get("text") or m.get("caption") or f"[{m.get('method')}]") for m in new]


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def chat(rt: Runtime, lines: Iterable[str], show: Callable[[str, str], None], *, lang: str = "ru") -> int:
    """Send each line and show the answers; returns how many lines were sent."""
    sent = 0
    with Simulation(rt, lang) as sim:
        if sim.error is not None:
            raise RuntimeError(f"the bot did not start: {sim.error}")
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            try:
                sim.send(line)
            except SimulationError as exc:
                show("error", str(exc))
                continue
            sent += 1
            answers = sim.replies()
            if not answers:
                show("bot", "(no answer)")
            for answer in answers:
                show("bot", answer)
    return sent
