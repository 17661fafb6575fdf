"""A served dashboard for tests: the real app under uvicorn on a free port, users with passwords,
and a seeded shop, tip and graffiti spot."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shekteu import audit
from shekteu.accounts import set_password
from shekteu.runtime import Runtime
from shekteu.tips.intake import TipInput, submit
from shekteu.tips.process import process_pending
from shekteu.users import add_user, get_user
from tests.test_shops import feed, sale

PASSWORD = "correct horse battery"
PEOPLE = {
    "ann": ["analyst"],
    "bob": ["approver"],
    "cora": ["coordinator"],
    "aud": ["auditor"],
    "adm": ["admin"],
}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> @fe_op_bot'


class Dash:
    def __init__(self, rt: Runtime, base: str, ticket: str) -> None:
        self.rt, self.base, self.ticket = rt, base, ticket

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, headers={"Accept-Language": "en"})

    def login(self, name: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text
        reply = client.post("/login", data={"name": name, "password": password, "csrf": token.group(1)})
        assert reply.status_code == 303, reply.text
        return client


def csrf(client: httpx.Client, path: str = "/dash") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def serve(rt: Runtime) -> Iterator[str]:
    """The app as `shekteu serve` runs it (its connection limits too), on a free port."""
    import uvicorn

    from shekteu.web.app import create_app
    from shekteu.web.server import config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config(create_app(rt), rt.settings, "127.0.0.1", 0, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


_HASHED: list[str] = []


def _set_password(session: Any, name: str) -> None:
    """PASSWORD hashed by set_password once per test process and copied after: argon2 is slow on purpose
    (0.1 s a hash) and five users were hashed again for each of a hundred dashboard tests."""
    if not _HASHED:
        _HASHED.append(set_password(session, name, PASSWORD, actor="test").password_hash)
        return
    user = get_user(session, name)
    user.password_hash = _HASHED[0]
    audit.record(session, "user.password", f"user:{user.name}", actor="test", reason="password set")


def seed(rt: Runtime, tmp_path: Path) -> str:
    """Five users, one shop (a Telegram bot), one tip about it with hostile text; returns the ticket."""
    with rt.db.write() as s:
        for name, roles in PEOPLE.items():
            add_user(s, name, roles, actor="test")
            _set_password(s, name)
    feed(rt, tmp_path, "fe_shop", [sale("@fe_op_bot")])
    receipt = submit(rt, TipInput(channel="web", user_id="citizen", kind="online_shop", text=HOSTILE))
    process_pending(rt, capture=False)
    return receipt.ticket


@pytest.fixture
def dash(make_runtime, tmp_path: Path) -> Iterator[Dash]:
    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    for base in serve(rt):
        yield Dash(rt, base, ticket)


def walk(client: httpx.Client, check: Any, *, limit: int = 80) -> set[str]:
    """Follow the dashboard's own links from /dash (downloads left out), calling ``check(path, html)``
    on every page; returns the paths seen."""
    import re
    from collections import deque

    seen: set[str] = set()
    queue, pages = deque(["/dash"]), 0
    while queue and pages < limit:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        reply = client.get(path)
        if reply.status_code != 200 or "text/html" not in reply.headers.get("content-type", ""):
            continue
        pages += 1
        check(path, reply.text)
        for link in re.findall(r'href="(/dash[^"#?]*)', reply.text):
            if not link.endswith((".csv", ".zip", ".pdf", ".geojson", ".kml", ".png", ".jpg", ".xlsx", ".wacz")) \
                    and "dossier" not in link:
                queue.append(link)
    return seen
