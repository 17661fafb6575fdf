"""The web adapter under abuse: streamed oversize bodies, slow headers, non-ASCII secrets, rotating
device ids, password guessing at once, ticket enumeration, and database work on the event loop."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import event

from tests.dashboard import PASSWORD, Dash, csrf, dash, serve
from tests.test_web import Served, served

__all__ = ["dash", "served"]


def test_a_chunked_body_is_counted_as_it_streams(served: Served) -> None:
    def chunks():  # a 40 MB photo with no Content-Length: only counting the stream stops it
        yield b'--b\r\nContent-Disposition: form-data; name="photo"; filename="w.jpg"\r\n' \
              b"Content-Type: image/jpeg\r\n\r\n"
        block = b"x" * (1 << 20)
        for _ in range(40):
            yield block
        yield b"\r\n--b--\r\n"

    reply = httpx.post(served.url("/report"), content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"},
                       timeout=60)  # fmt: skip
    assert reply.status_code == 413
    assert httpx.get(served.url("/")).status_code == 200  # and the server goes on


def test_non_ascii_secrets_are_refused_not_500(served: Served) -> None:
    telegram = httpx.post(served.url("/webhooks/telegram"), content=b"{}",
                          headers={"X-Telegram-Bot-Api-Secret-Token": "секрет".encode()})  # fmt: skip
    assert telegram.status_code in (401, 404), telegram.text
    hook = httpx.post(served.url("/webhooks/whatsapp"), content=b"{}",
                      headers={"X-Hub-Signature-256": "sha256=ключ".encode()})  # fmt: skip
    assert hook.status_code in (401, 403), hook.text
    verify = httpx.get(served.url("/webhooks/whatsapp"),
                       params={"hub.mode": "subscribe", "hub.verify_token": "ключ", "hub.challenge": "1"})  # fmt: skip
    assert verify.status_code == 403
    login = httpx.Client(base_url=served.base)
    login.get("/login")
    wrong = login.post("/login", data={"name": "x", "password": "y", "csrf": "токен"})
    assert wrong.status_code == 400


def test_open311_limits_by_address_whatever_the_device_id(served: Served) -> None:
    limit = served.rt.settings.tip_rate_limit
    codes = [
        httpx.post(served.url("/open311/v2/requests.json"),
                   data={"service_code": "drug_shop", "description": f"магазин @shop{n}_kz", "device_id": f"d{n}"}).status_code
        for n in range(limit + 5)
    ]  # fmt: skip
    assert codes[:limit] == [200] * limit and set(codes[limit:]) == {429}, codes
    assert served.tips() == limit


def test_status_lookups_are_throttled(served: Served) -> None:
    limit = served.rt.settings.lookup_rate_limit
    codes = [httpx.get(served.url("/status"), params={"ticket": f"KZ-2222-{n:04d}"}).status_code
             for n in range(limit + 3)]  # fmt: skip
    assert set(codes[:limit]) == {404} and set(codes[limit:]) == {429}, codes
    open311 = httpx.get(served.url("/open311/v2/requests/KZ-2222-2222.json"))
    assert open311.status_code == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the connection never reaches the database
def test_a_connection_that_never_finishes_its_headers_is_closed(make_runtime) -> None:
    rt = make_runtime(SHEKTEU_HEADER_TIMEOUT="1")  # the default 10 s kept a test worker idle twice over
    for base in serve(rt):
        _is_closed_before_its_headers(base, rt.settings.header_timeout)


def _is_closed_before_its_headers(base: str, timeout: float) -> None:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        sock.settimeout(timeout * 4 + 10)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - started < timeout * 4 + 10


def test_a_domain_takedown_of_a_bare_scheme_is_a_400(dash: Dash) -> None:
    ann = dash.login("ann")
    for target in ("http://", "http://[::1", "a..b.kz", "x" * 300):
        reply = ann.post("/api/takedowns", json={"target_type": "domain", "target": target, "reason": "test"},
                         headers={"X-CSRF-Token": csrf(ann)})  # fmt: skip
        assert reply.status_code == 400 and "not a domain name" in reply.json()["detail"], reply.text


def test_a_non_ascii_csrf_header_is_a_403(dash: Dash) -> None:
    ann = dash.login("ann")
    reply = ann.post("/api/takedowns", json={"target_type": "url", "target": "https://x.example/", "reason": "t"},
                     headers={"X-CSRF-Token": "токен".encode()})  # fmt: skip
    assert reply.status_code == 403


def test_nul_and_surrogates_in_forms_are_not_500(dash: Dash) -> None:
    client = dash.client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    login = client.post("/login", data={"name": "ann\x00", "password": "x\x00", "csrf": token})
    assert login.status_code == 401
    report = client.post("/report", data={"text": "hello\x00 world @snegkz_bot"})
    assert report.status_code == 200 and "KZ-" in report.text


def test_a_hundred_wrong_passwords_at_once_are_counted_before_checking(dash: Dash) -> None:
    limit = dash.rt.settings.login_max_failures

    def guess(n: int) -> int:
        with dash.client() as client:
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
            return client.post("/login", data={"name": "ann", "password": f"guess-{n}", "csrf": token}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(guess, range(100)))
    assert codes.count(401) <= limit and codes.count(429) >= 100 - limit, codes
    # The real user, from another address, still signs in: one name is slowed, never locked.
    elsewhere = httpx.Client(base_url=dash.base.replace("127.0.0.1", "127.0.0.1"), timeout=30,
                             transport=httpx.HTTPTransport(local_address="127.0.0.2"))  # fmt: skip
    token = re.search(r'name="csrf" value="([^"]+)"', elsewhere.get("/login").text).group(1)
    deadline = time.monotonic() + 60
    while (code := elsewhere.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": token}).status_code) == 429:
        assert time.monotonic() < deadline, "the real user was locked out"
        time.sleep(1)
    assert code == 303


def test_no_database_work_runs_on_the_event_loop(dash: Dash) -> None:
    on_loop: list[str] = []

    def watch(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        on_loop.append(f"{threading.current_thread().name}: {statement[:80]}")

    event.listen(dash.rt.db.engine, "before_cursor_execute", watch)
    try:
        ann = dash.login("ann")
        assert ann.get("/dash").status_code == 200
        assert ann.post("/dash/lang", data={"lang": "kk", "back": "/dash", "csrf": csrf(ann)}).status_code == 303
        assert ann.post("/api/takedowns", json={"target_type": "url", "target": "https://x.example/a", "reason": "t"},
                        headers={"X-CSRF-Token": csrf(ann)}).status_code == 201  # fmt: skip
        assert ann.post("/logout", data={"csrf": csrf(ann)}).status_code == 303
        assert httpx.get(dash.base + "/").status_code == 200
    finally:
        event.remove(dash.rt.db.engine, "before_cursor_execute", watch)
    assert on_loop == []


def test_hostile_zone_uploads_are_flash_errors_not_500(dash: Dash) -> None:
    from tests.hostile.test_files import ZONE_CASES

    cora = dash.login("cora")
    for name in ("list_feature", "deep", "nan", "strings"):
        data, expected = ZONE_CASES[name]
        body = data if isinstance(data, str) else json.dumps(data, allow_nan=True)
        reply = cora.post("/dash/settings/zones", data={"kind": "osi", "name_property": "name", "csrf": csrf(cora)},
                          files={"file": ("z.geojson", body.encode(), "application/geo+json")})  # fmt: skip
        assert reply.status_code == 303, (name, reply.status_code)
        page = cora.get(reply.headers["location"])
        assert page.status_code == 200 and expected in page.text, name
