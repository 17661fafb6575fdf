"""The Telegram bot against a local fake Bot API over real HTTP: languages, reports, photos,
locations, status pushed back, bad input and a flood."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from shekteu.db.tables import Tip
from shekteu.runtime import Runtime
from shekteu.tips.status import set_status
from tests.fake_telegram import TOKEN, FakeBotAPI, command, message
from tests.people import make_staff
from tests.servers import LocalServer, Reply
from tests.test_cli import lines, run
from tests.test_telegram_export import photo
from tests.test_tips import gps_photo

SHOP_PAGE = ("<html><body><div class='tgme_page_title'>Снежок</div><div class='tgme_page_description'>"
             "Меф, шишки, альфа в наличии. Клады по городу. Оплата на карту. Бот @snow_tg_bot</div></body></html>")  # fmt: skip


class Running:
    def __init__(self, rt: Runtime, api: FakeBotAPI) -> None:
        self.rt, self.api = rt, api

    def texts(self, count: int, chat: int | None = None) -> list[str]:
        sent = self.api.wait_sent(count)
        return [m.get("text", "") for m in sent if chat is None or int(m["chat_id"]) == chat]

    def tips(self) -> int:
        with self.rt.db.read() as s:
            return s.scalar(select(func.count()).select_from(Tip))


@pytest.fixture
def running(make_runtime, web: LocalServer) -> Iterator[Running]:
    from shekteu.integrations.telegram import client as telegram

    api = FakeBotAPI()
    web.route("/s/snow_shop", Reply(200, SHOP_PAGE.encode()))
    rt = make_runtime(SHEKTEU_TELEGRAM_TOKEN=TOKEN, SHEKTEU_TELEGRAM_API_BASE=api.base,
                      SHEKTEU_TELEGRAM_STAFF_CHAT="-100777", SHEKTEU_TELEGRAM_WEB_BASE=web.url("").rstrip("/"),
                      SHEKTEU_TIP_ALERT_SCORE="0.5")  # fmt: skip
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    bot = telegram.TelegramBot(rt)
    thread = threading.Thread(target=loop.run_until_complete, args=(bot.run_polling(stop),), daemon=True)
    thread.start()
    yield Running(rt, api)
    loop.call_soon_threadsafe(stop.set)
    thread.join(60)
    assert not thread.is_alive(), "the bot did not stop (a pump still running?)"
    api.close()


def test_start_language_and_a_link_report_with_staff_alert_and_status_pushed_back(running: Running) -> None:
    api = running.api
    api.push(command(1, "/start", lang="kk"))
    assert "Сәлеметсіз бе" in running.texts(1)[0]
    api.push(command(2, "/lang en"))
    assert running.texts(2)[1] == "Language: English."
    api.push(message(3, text="Drug shop here: @snow_shop"))
    reply = running.texts(3)[2]
    assert "Thank you!" in reply and "KZ-" in reply
    ticket = reply.split("ticket ", 1)[1].split(".", 1)[0]
    # Processing captures t.me/s/snow_shop (a drug shop), scores the tip and alerts the staff chat.
    running.texts(4)
    staff = [m for m in api.sent if "Новое обращение" in m.get("text", "")]
    assert len(staff) == 1 and ticket in staff[0]["text"] and str(staff[0]["chat_id"]) == "-100777"
    make_staff(running.rt)
    with running.rt.db.write() as s:
        set_status(
            s, ticket, "actioned", actor="aliya", reason="channel reported", public_text="Channel blocked"
        )
    pushed = running.texts(5)
    assert any(ticket in t and "Channel blocked" in t for t in pushed)
    api.push(command(6, f"/status {ticket.lower()}"))
    assert "Channel blocked" in running.texts(6)[-1]
    api.push(command(7, "/status KZ-2222-2222"))
    assert "No ticket" in running.texts(7)[-1]


def test_graffiti_photo_asks_for_location_then_takes_it(running: Running) -> None:
    api = running.api
    api.add_file("PHOTO1", photo(6))
    api.push(message(1, photo=[{"file_id": "PHOTO1", "file_unique_id": "p1", "width": 320, "height": 240,
                                "file_size": 9000}], caption="Надпись у школы"))  # fmt: skip
    first = running.texts(1)[0]
    assert "KZ-" in first and "геопозицию" in first
    api.push(message(2, location={"latitude": 43.2389, "longitude": 76.8897}))
    assert "Геопозиция добавлена" in running.texts(2)[1]
    # A photo sent as a file keeps its EXIF GPS: no question asked.
    api.add_file("DOC1", gps_photo(43.25, 76.92))
    api.push(message(3, document={"file_id": "DOC1", "file_unique_id": "d1", "file_name": "wall.jpg",
                                  "mime_type": "image/jpeg", "file_size": 20000}))  # fmt: skip
    assert "геопозицию" not in running.texts(3)[2]
    with running.rt.db.read() as s:
        tips = list(s.scalars(select(Tip).order_by(Tip.id)))
    assert [(t.kind, t.location_source) for t in tips] == [("graffiti", "shared"), ("graffiti", "exif")]


def test_bad_input_gets_clear_replies_and_the_bot_keeps_running(running: Running, make_runtime) -> None:
    import struct
    import zlib

    api = running.api
    limit = running.rt.settings.tip_max_photo_bytes
    api.push(message(1, photo=[{"file_id": "BIG", "file_unique_id": "b", "width": 9000, "height": 9000,
                                "file_size": limit + 1}]))  # fmt: skip
    api.add_file("FAKE", b"MZ\x90\x00 this is an executable, not a photo")
    api.push(
        message(
            2,
            document={
                "file_id": "FAKE",
                "file_unique_id": "f",
                "file_name": "x.jpg",
                "mime_type": "image/jpeg",
            },
        )
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    api.add_file("BOMB", bomb)
    api.push(message(3, photo=[{"file_id": "BOMB", "file_unique_id": "bb", "width": 90, "height": 90}]))
    api.push(message(4, sticker={"file_id": "S", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1,
                                 "is_animated": False, "is_video": False}))  # fmt: skip
    replies = running.texts(4)
    assert sum("Не удалось принять фото" in r for r in replies) == 3
    assert any("фото больше" in r for r in replies) and any("бомба" in r for r in replies)  # why, in Russian
    assert any("Пришлите ссылку" in r for r in replies)
    assert running.tips() == 0
    # A flood of 500 messages from one user: the first 20 are kept, one warning, the bot goes on.
    for n in range(500):
        api.push(message(100 + n, user=777, text=f"флуд {n}"))
    api.push(message(999, user=888, text="магазин @real_report_bot"))
    deadline = time.monotonic() + 60
    while running.tips() < 21 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running.tips() == running.rt.settings.tip_rate_limit + 1
    to_flooder = [m for m in api.wait_sent(4 + 20 + 1 + 1) if m["chat_id"] == "777"]
    assert sum("Слишком много" in m["text"] for m in to_flooder) == 1


def test_webhook_mode_registers_and_takes_updates_through_serve(make_runtime, env: dict[str, str]) -> None:
    import socket

    import httpx
    import uvicorn

    from shekteu.web.app import create_app
    from tests.test_cli import run

    api = FakeBotAPI()
    settings = {"SHEKTEU_TELEGRAM_TOKEN": TOKEN, "SHEKTEU_TELEGRAM_API_BASE": api.base}
    rt = make_runtime(**settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(rt), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        result = run(env | settings | {"SHEKTEU_PUBLIC_URL": base}, "bot", "--webhook")
        assert result.returncode == 0, result.stderr
        assert api.webhook is not None and api.webhook["url"] == f"{base}/webhooks/telegram"
        secret = api.webhook["secret_token"]
        assert TOKEN not in secret
        update = {"update_id": 1, "message": command(1, "/start", lang="en")}
        refused = httpx.post(
            f"{base}/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
        )
        assert refused.status_code == 401 and not api.sent
        taken = httpx.post(
            f"{base}/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        assert taken.status_code == 200
        assert "Hello!" in api.wait_sent(1)[0]["text"]
    finally:
        server.should_exit = True
        thread.join(10)
        api.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the terminal chat; both databases above
def test_bot_simulate_chats_with_the_real_bot_in_the_terminal(env: dict[str, str], tmp_path) -> None:
    """`shekteu bot simulate`: the real bot over the built-in local Bot API, lines piped in."""
    import os
    import subprocess
    import sys

    from PIL import Image

    photo = tmp_path / "wall.jpg"
    Image.new("RGB", (64, 64), (200, 200, 200)).save(photo, "JPEG")
    script = "\n".join(["/start", "https://t.me/snow_shop_bot клады мефедрон, оператор @snow_op",
                        "/location 43.24 76.91", f"/photo {photo}", "/photo /no/such/file.jpg", "/quit",
                        "never sent"]) + "\n"  # fmt: skip
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | {"COLUMNS": "250"} | env
    done = subprocess.run([sys.executable, "-c", "from shekteu.cli import main; main()", "bot", "simulate"],
                          input=script, capture_output=True, text=True, env=full, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = done.stdout
    assert "Здравствуйте" in said and "номер обращения KZ-" in said
    assert "Геопозиция добавлена" in said
    assert "cannot read /no/such/file.jpg" in said and "never sent" not in said
    assert "Traceback" not in said + done.stderr
    tips = run(env, "tips", "list", "--json")
    assert tips.returncode == 0 and len(lines(tips.stdout)) >= 2  # the link report and the photo
