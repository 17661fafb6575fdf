"""The web adapter over real HTTP: the citizen form, Open311 GeoReport v2 and the WhatsApp webhook
against a local fake Graph API."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select

from shekteu.db.tables import Tip
from shekteu.runtime import Runtime
from shekteu.tips.status import set_status
from tests.dashboard import serve
from tests.people import make_staff
from tests.servers import LocalServer, Reply
from tests.test_telegram_export import photo
from tests.test_tips import gps_photo

SECRET = "app-secret-123456"


class Served:
    def __init__(self, rt: Runtime, base: str, graph: LocalServer) -> None:
        self.rt, self.base, self.graph = rt, base, graph

    def url(self, path: str) -> str:
        return self.base + path

    def tips(self) -> int:
        with self.rt.db.read() as s:
            return s.scalar(select(func.count()).select_from(Tip))

    def sent(self, timeout: float = 10.0, at_least: int = 1) -> list[dict]:
        """Messages the webhook sent through the fake Graph API (waits for background replies)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = [json.loads(b) for p, b, _ in self.graph.posts if p == "/v21.0/555/messages"]
            if len(bodies) >= at_least:
                return bodies
            time.sleep(0.05)
        return [json.loads(b) for p, b, _ in self.graph.posts if p == "/v21.0/555/messages"]


@pytest.fixture
def served(make_runtime, web: LocalServer) -> Iterator[Served]:
    rt = make_runtime(
        SHEKTEU_WHATSAPP_GRAPH_BASE=web.url("/v21.0"), SHEKTEU_WHATSAPP_TOKEN="graph-token",
        SHEKTEU_WHATSAPP_PHONE_NUMBER_ID="555", SHEKTEU_WHATSAPP_VERIFY_TOKEN="verify-me",
        SHEKTEU_WHATSAPP_APP_SECRET=SECRET, SHEKTEU_TELEGRAM_WEB_BASE=web.url("").rstrip("/"),
    )  # fmt: skip
    web.post_routes["/v21.0/555/messages"] = lambda body, headers: Reply(
        200, b'{"messages":[{"id":"wamid.x"}]}'
    )
    for base in serve(rt):
        yield Served(rt, base, web)


def test_the_form_works_without_javascript_and_escapes_everything(served: Served) -> None:
    page = httpx.get(served.url("/"), headers={"Accept-Language": "kk-KZ,kk;q=0.9"})
    assert (
        page.status_code == 200
        and "Есірткі сатуы туралы хабарлау" in page.text
        and "<script" not in page.text
    )
    assert "default-src 'none'" in page.headers["content-security-policy"]
    sent = httpx.post(served.url("/report?lang=ru"), data={"kind": "graffiti", "text": "Надпись @snow_kz_shop"},
                      files={"photo": ("wall.jpg", gps_photo(43.2389, 76.8897), "image/jpeg")})  # fmt: skip
    assert sent.status_code == 200 and "KZ-" in sent.text
    ticket = sent.text.split('class="ticket">', 1)[1].split("<", 1)[0]
    status = httpx.get(served.url("/status"), params={"ticket": ticket.lower(), "lang": "en"})
    assert status.status_code == 200 and "received" in status.text
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    bad = httpx.post(served.url("/report?lang=en"), data={"text": hostile, "lat": "abc", "lon": "1"})
    assert bad.status_code == 400 and "not a number" in bad.text
    assert "<script>alert" not in bad.text and "&lt;script&gt;" in bad.text
    kazakh = httpx.post(served.url("/report?lang=kk"), data={"text": "@snow_kz_shop", "lat": "abc", "lon": "1"})
    assert kazakh.status_code == 400 and "бұл сан емес" in kazakh.text and "not a number" not in kazakh.text
    assert httpx.get(served.url("/status"), params={"ticket": "KZ-2222-2222"}).status_code == 404
    assert served.tips() == 1


def test_open311_services_requests_and_status_in_json_and_xml(served: Served) -> None:
    services = httpx.get(served.url("/open311/v2/services.json")).json()
    assert {s["service_code"] for s in services} == {"drug_shop", "drug_graffiti", "drug_other"}
    xml = ET.fromstring(httpx.get(served.url("/open311/v2/services.xml")).content)
    assert xml.tag == "services" and len(xml.findall("service/service_code")) == 3
    created = httpx.post(
        served.url("/open311/v2/requests.json"),
        data={"service_code": "drug_graffiti", "lat": "43.25", "long": "76.95", "description": "QR на стене",
              "device_id": "phone-1"},
        files={"media": ("p.jpg", photo(2), "image/jpeg")},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    request_id = created.json()[0]["service_request_id"]
    one = ET.fromstring(httpx.get(served.url(f"/open311/v2/requests/{request_id}.xml")).content)
    assert (
        one.findtext("request/status") == "open" and one.findtext("request/service_code") == "drug_graffiti"
    )
    make_staff(served.rt)
    with served.rt.db.write() as s:
        set_status(
            s,
            request_id,
            "rejected",
            actor="aliya",
            reason="not drugs",
            public_text="Не относится к наркотикам",
        )
    closed = httpx.get(served.url(f"/open311/v2/requests/{request_id}.json")).json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "Не относится к наркотикам"
    assert "description" not in closed and "lat" not in closed  # the reporter's content is not shown back
    bad = httpx.post(served.url("/open311/v2/requests.xml"), data={"service_code": "pizza"})
    assert bad.status_code == 400 and ET.fromstring(bad.content).findtext("error/code") == "400"
    assert httpx.get(served.url("/open311/v2/requests/KZ-2222-2222.json")).status_code == 404


def signed(payload: dict, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def whatsapp(*messages: dict, locale: str = "ru_RU") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": "555"},
        "contacts": [{"profile": {"name": "x", "locale": locale}, "wa_id": "77011112233"}],
        "messages": list(messages)}}]}]}  # fmt: skip


def msg(n: int, kind: str, sender: str = "77011112233", **body: object) -> dict:
    return {"from": sender, "id": f"wamid.{n}", "timestamp": "1772359200", "type": kind, **body}


def test_whatsapp_verification_and_signatures(served: Served) -> None:
    ok = httpx.get(served.url("/webhooks/whatsapp"),
                   params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "12345"})  # fmt: skip
    assert ok.status_code == 200 and ok.text == "12345"
    wrong = httpx.get(served.url("/webhooks/whatsapp"),
                      params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})  # fmt: skip
    assert wrong.status_code == 403
    body, headers = signed(
        whatsapp(msg(1, "text", text={"body": "Магазин @bad_shop_bot"})), secret="other-secret-0000"
    )
    assert httpx.post(served.url("/webhooks/whatsapp"), content=body, headers=headers).status_code == 401
    unsigned = httpx.post(
        served.url("/webhooks/whatsapp"), content=body, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401 and served.tips() == 0


def test_whatsapp_text_photo_location_and_redelivery(served: Served) -> None:
    graph = served.graph
    graph.route("/v21.0/MEDIA1", Reply(200, json.dumps({"url": graph.url("/media/1.jpg")}).encode()))
    graph.route("/media/1.jpg", Reply(200, photo(4), {"Content-Type": "image/jpeg"}))
    graph.route("/v21.0/MEDIA2", Reply(200, json.dumps({"url": graph.url("/media/2.bin")}).encode()))
    graph.route("/media/2.bin", Reply(200, b"%PDF-1.4 not an image"))
    payload = whatsapp(
        msg(1, "text", text={"body": "Продают мефедрон, бот @wa_shop_bot"}),
        msg(2, "image", image={"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "на стене у школы"}),
        msg(3, "location", location={"latitude": 43.2389, "longitude": 76.8897}),
        msg(4, "sticker", sticker={"id": "S"}),
        msg(5, "image", image={"id": "MEDIA2", "mime_type": "image/jpeg"}),
    )
    body, headers = signed(payload)
    assert httpx.post(served.url("/webhooks/whatsapp"), content=body, headers=headers).status_code == 200
    replies = [m["text"]["body"] for m in served.sent(at_least=5)]
    assert served.tips() == 2
    assert sum("KZ-" in r for r in replies) >= 3  # two tickets, and the location added to the photo's ticket
    assert any("Геопозиция добавлена" in r for r in replies) and any("Пришлите ссылку" in r for r in replies)
    assert any("Не удалось принять фото" in r and "это не изображение" in r for r in replies)  # why, in Russian
    with served.rt.db.read() as s:
        photo_tip = s.scalars(select(Tip).where(Tip.kind == "graffiti")).one()
    assert (photo_tip.lat, photo_tip.location_source) == (43.239, "shared")  # ~100 m; the exact place is sealed
    # Meta redelivers the same payload: nothing new is stored.
    assert httpx.post(served.url("/webhooks/whatsapp"), content=body, headers=headers).status_code == 200
    assert served.tips() == 2
    # The phone number is nowhere in the tips table.
    with served.rt.db.read() as s:
        assert all(
            "77011112233" not in json.dumps([t.pseudonym, t.contact_sealed, t.text])
            for t in s.scalars(select(Tip))
        )


FLOOD = 200  # ten times the hourly limit in one delivery (500 took 15 s a backend and proved no more)


def test_a_flood_from_one_number_is_limited_and_the_server_keeps_going(served: Served) -> None:
    flood = whatsapp(*[msg(100 + n, "text", text={"body": f"спам {n}"}) for n in range(FLOOD)])
    body, headers = signed(flood)
    assert (
        httpx.post(served.url("/webhooks/whatsapp"), content=body, headers=headers, timeout=900).status_code
        == 200
    )
    limit = served.rt.settings.tip_rate_limit
    assert served.tips() == limit
    # waits, not a speed limit: a busy 2-core machine may take minutes to answer them all
    served.sent(at_least=limit + 1, timeout=900)
    other = whatsapp(msg(9999, "text", sender="77015550000", text={"body": "магазин @other_one_bot"}))
    body, headers = signed(other)
    assert httpx.post(served.url("/webhooks/whatsapp"), content=body, headers=headers).status_code == 200
    assert served.tips() == limit + 1
    replies = [m["text"]["body"] for m in served.sent(at_least=limit + 2, timeout=900)]
    # Each kept report got its ticket; the flood beyond the limit got one warning, not one per message.
    assert sum("Слишком много" in r for r in replies) == 1 and sum("KZ-" in r for r in replies) == limit + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database work: threads only
def test_reports_are_stored_on_the_intake_threads_only(make_runtime) -> None:
    """At most SHEKTEU_INTAKE_THREADS submissions run at once per process (see web/intake_threads.py):
    two calls that must meet at a barrier meet with two threads and cannot with one."""
    import asyncio
    import threading

    from fastapi import FastAPI
    from starlette.requests import Request

    from shekteu.web.intake_threads import run_intake

    def meet(barrier: threading.Barrier) -> str:
        barrier.wait()
        return threading.current_thread().name

    async def two_at_once(threads: str) -> list[str]:
        app = FastAPI()
        app.state.runtime = make_runtime(SHEKTEU_INTAKE_THREADS=threads)
        request = Request({"type": "http", "app": app})
        barrier = threading.Barrier(2, timeout=5)
        return await asyncio.gather(run_intake(request, meet, barrier), run_intake(request, meet, barrier))

    def in_a_thread(threads: str) -> list:  # this thread may already run a loop (Playwright's)
        got: list = []

        def run() -> None:
            try:
                got.append(asyncio.run(two_at_once(threads)))
            except BaseException as exc:  # handed back to the test
                got.append(exc)

        runner = threading.Thread(target=run)
        runner.start()
        runner.join(60)
        return got

    (met,) = in_a_thread("2")
    assert isinstance(met, list) and len(met) == 2, met
    (refused,) = in_a_thread("1")
    assert isinstance(refused, threading.BrokenBarrierError), refused
