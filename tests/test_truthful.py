"""Truthful outcomes (issue 25): no full card number stored by default, no four eyes by one person,
no promise the web form cannot keep, no mojibake from clients that send raw UTF-8."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from shekteu.db.tables import ApiToken, Takedown, Tip
from shekteu.takedown.lifecycle import propose
from tests.dashboard import Dash, csrf, dash
from tests.test_web import Served, served

__all__ = ["dash", "served"]

CARD = "4400430123456787"


def test_a_card_takedown_keeps_the_masked_number_and_its_keyed_hash(dash: Dash) -> None:
    with dash.rt.db.write() as s:
        done = propose(s, "bank_card", "4400 4301 2345 6787", actor="ann", reason="shop card", cards=dash.rt.card_policy)
    assert done.takedown.target == "440043******6787"
    assert len(done.event.detail["card_hash"]) == 64
    ann = dash.login("ann")
    for page in ("/dash/takedowns", "/api/takedowns"):
        assert CARD not in ann.get(page).text and "440043******6787" in ann.get(page).text
    api = ann.post("/api/takedowns", json={"target_type": "bank_card", "target": "4400-43", "reason": "x"},
                   headers={"X-CSRF-Token": csrf(ann)})  # fmt: skip
    assert api.status_code == 400 and "not a card number" in api.json()["detail"]
    with dash.rt.db.read() as s:
        assert all(CARD not in t.target for t in s.scalars(select(Takedown)))


def test_tokens_are_minted_by_their_owner_only(dash: Dash) -> None:
    adm = dash.login("adm")
    minted = adm.post("/dash/settings/tokens", data={"user": "bob", "label": "for bob", "csrf": csrf(adm, "/dash/settings")})
    assert minted.status_code == 303
    assert "minted by its owner" in adm.get(minted.headers["location"]).text
    with dash.rt.db.read() as s:
        assert s.scalars(select(ApiToken)).all() == []
    own = adm.post("/dash/settings/tokens", data={"label": "mine", "csrf": csrf(adm, "/dash/settings")})
    assert own.status_code == 200 and re.search(r'id="new-token">shk_', own.text)


def test_an_analyst_rejecting_a_proposal_gets_403(dash: Dash) -> None:
    ann = dash.login("ann")
    made = ann.post("/api/takedowns", json={"target_type": "url", "target": "https://x.example/a", "reason": "t"},
                    headers={"X-CSRF-Token": csrf(ann)})  # fmt: skip
    assert made.status_code == 201
    reply = ann.post(f"/api/takedowns/{made.json()['id']}/mark", json={"state": "rejected", "reason": "no"},
                     headers={"X-CSRF-Token": csrf(ann)})  # fmt: skip
    assert reply.status_code == 403, reply.text


def test_the_web_form_says_how_to_follow_a_report(served: Served) -> None:
    sent = httpx.post(served.url("/report?lang=en"), data={"text": "магазин @snow_kz_shop"})
    assert sent.status_code == 200 and "no reply will reach you" in sent.text
    ticket = re.search(r'class="ticket">([^<]+)<', sent.text).group(1)
    assert f'href="/status?ticket={ticket}' in sent.text
    assert "tell you when" not in sent.text


def test_open311_takes_raw_utf8_form_bodies(served: Served) -> None:
    raw = "service_code=drug_shop&description=магазин закладок @snow_kz_shop".encode()
    reply = httpx.post(served.url("/open311/v2/requests.json"), content=raw,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert reply.status_code == 200, reply.text
    cp = "service_code=drug_shop&description=продаю меф".encode("cp1251")
    reply = httpx.post(served.url("/open311/v2/requests.json"), content=cp,
                       headers={"Content-Type": "application/x-www-form-urlencoded; charset=windows-1251"})  # fmt: skip
    assert reply.status_code == 200, reply.text
    with served.rt.db.read() as s:
        texts = list(s.scalars(select(Tip.text).order_by(Tip.id)))
    assert texts == ["магазин закладок @snow_kz_shop", "продаю меф"]



def test_a_cyrillic_t_me_is_a_telegram_link_and_look_alikes_are_never_blocked(rt) -> None:  # type: ignore[no-untyped-def]
    from shekteu.indicators.extract import extract
    from shekteu.shops.warninglist import Warninglist
    from shekteu.takedown.blocklist import entries, hosts
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending

    for text in ("Пиши т.me/kz_snow_shop", "t.mе/kz_snow_shop", "ТЕЛЕГА: t.me/kz_snow_shop"):
        found = {(i.type, i.normalized) for i in extract(text)}
        assert ("telegram_username", "@kz_snow_shop") in found and not any(t == "domain" for t, _ in found), found
    assert {i.normalized for i in extract("сайт пример.рф")} == {"xn--e1afmkfd.xn--p1ai"}  # a real IDN stays
    submit(rt, TipInput(channel="web", user_id="c1", text="Меф, шишки, клады. Магазин т.me/kz_snow_shop и teIegram.org/x"))
    process_pending(rt, capture=False)
    with rt.db.read() as s:
        warn = Warninglist.load(s)
        assert warn.domain_listed("xn--r1a.me") == "t.me" and warn.domain_listed("teiegram.org") == "telegram.org"
        listed = hosts(entries(s))
    assert "xn--r1a.me" not in listed and "teiegram.org" not in listed


def test_a_location_completes_only_the_latest_tip_and_greetings_are_not_tips(rt) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from shekteu.tips.intake import NotATip, TipInput, add_location, submit
    from tests.test_tips import gps_photo

    text = submit(rt, TipInput(channel="telegram", user_id="42", text="магазин @snow_kz_shop"))
    submit(rt, TipInput(channel="telegram", user_id="42", kind="graffiti", photos=[gps_photo(43.25, 76.92)]))
    assert add_location(rt, "telegram", "42", 43.1, 76.1) is None  # the photo had its own place
    with rt.db.read() as s:
        assert s.scalar(select(Tip.lat).where(Tip.ticket == text.ticket)) is None
    for hello in ("Привет!", "hello", "/start", "Сәлем", "Здравствуйте 👋"):
        with pytest.raises(NotATip, match=r"send a link|пришлите ссылку"):
            submit(rt, TipInput(channel="telegram", user_id="43", text=hello, lang="en" if hello == "hello" else "ru"))
    assert submit(rt, TipInput(channel="telegram", user_id="43", text="привет, тут продают меф @snow_kz_bot")).ticket


def test_every_state_change_checks_the_actor(env: dict[str, str], rt) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli import run
    from tests.test_spots import WALL, all_spots, report

    with rt.db.write() as s:
        from shekteu.users import add_user

        add_user(s, "aud", ["auditor"], actor="test")
        add_user(s, "cora", ["coordinator"], actor="test")
    report(rt, *WALL)
    spot = all_spots(rt)[0]["id"]
    ticket = submit_tip(rt)
    for args, expected in (
        (["spots", "verify", str(spot), "--as", "nosuchuser", "--reason", "x"], "no user 'nosuchuser'"),
        (["spots", "verify", str(spot), "--as", "aud", "--reason", "x"], "may not do this"),
        (["tips", "status", ticket, "in_review", "--as", "aud", "--reason", "x"], "may not do this"),
    ):
        done = run(env, *args)
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert run(env, "spots", "verify", str(spot), "--as", "cora", "--reason", "drug ad").returncode == 0
    from shekteu.db.tables import AuditEntry

    with rt.db.read() as s:
        actors = set(s.scalars(select(AuditEntry.actor)))
    assert "nosuchuser" not in actors and "aud" not in actors and "cora" in actors


def submit_tip(rt) -> str:  # type: ignore[no-untyped-def]
    from shekteu.tips.intake import TipInput, submit

    return submit(rt, TipInput(channel="web", user_id="c9", text="магазин @snow_kz_shop")).ticket


def test_our_outage_never_counts_as_a_block_and_only_a_verified_block_is_told(make_runtime, web) -> None:  # type: ignore[no-untyped-def]
    import socket

    from shekteu.capture.web import capture_urls
    from shekteu.db.tables import Notification
    from shekteu.takedown import lifecycle
    from shekteu.takedown.recheck import recheck
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending
    from tests.servers import LocalServer, Reply
    from tests.test_takedown import SHOP_PAGE, people

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    closed.close()
    rt = make_runtime(SHEKTEU_RECHECK_VERIFY_CHECKS="2", SHEKTEU_RECHECK_VERIFY_HOURS="0",
                      SHEKTEU_RECHECK_CONTROL_URL=web.url("/ok"))  # fmt: skip
    people(rt)
    web.route("/ok", Reply(204))
    shop = LocalServer("127.0.0.1")
    shop.route("/shop", Reply(200, SHOP_PAGE.encode()))
    url = shop.url("/shop")
    capture_urls(rt, [url])
    ticket = submit(rt, TipInput(channel="telegram", user_id="7", contact="chat:7", text="продают тут @web_op_bot")).ticket
    process_pending(rt, capture=False)
    with rt.db.write() as s:
        td = lifecycle.propose(s, "url", url, actor="aliya", reason="shop page").takedown
        td_id = td.id
        lifecycle.approve(s, td_id, actor="bolat", reason="ok")
        lifecycle.mark(s, td_id, "sent", actor="aliya", reason="sent by hand")

    def check() -> tuple[str, str, str]:
        (result,) = recheck(rt, takedown_ids=[td_id])
        return result.verdict, result.state_after, result.why

    shop.close()  # the shop's server goes away (or our network does): nothing is decided
    verdict, state, why = check()
    assert (verdict, state) == ("unknown", "sent") and "control fetch answered" in why
    web.routes.pop("/ok")
    rt2 = make_runtime(SHEKTEU_RECHECK_CONTROL_URL=dead, SHEKTEU_RECHECK_VERIFY_CHECKS="2",
                       SHEKTEU_RECHECK_VERIFY_HOURS="0")  # fmt: skip
    (result,) = recheck(rt2, takedown_ids=[td_id])
    assert (result.verdict, result.state_after) == ("unknown", "sent") and "our own network failed" in result.why
    with rt.db.write() as s:  # a name that does not resolve is no block either
        other = lifecycle.propose(s, "url", "http://no-such-shop.invalid/buy", actor="aliya", reason="x").takedown.id
        lifecycle.approve(s, other, actor="bolat", reason="ok")
        lifecycle.mark(s, other, "sent", actor="aliya", reason="sent")
    (resolved,) = recheck(rt, takedown_ids=[other])
    assert (resolved.verdict, resolved.state_after) == ("unknown", "sent"), resolved.why
    back = LocalServer("127.0.0.1")
    back.route("/shop", Reply(451, b"Unavailable For Legal Reasons"))
    with rt.db.write() as s:  # the same takedown, its server back at a new port, now answering 451
        s.get(lifecycle.Takedown, td_id).target = back.url("/shop")
    assert check()[:2] == ("blocked", "blocked")
    with rt.db.read() as s:
        assert s.scalar(select(Tip.status).where(Tip.ticket == ticket)) != "actioned"
        assert not any("blocked" in n.text for n in s.scalars(select(Notification)))
    assert check()[:2] == ("blocked", "verified")
    with rt.db.read() as s:
        assert s.scalar(select(Tip.status).where(Tip.ticket == ticket)) == "actioned"
    back.close()


def test_verification_waits_for_the_interval(make_runtime, web) -> None:  # type: ignore[no-untyped-def]
    from shekteu.takedown import lifecycle
    from shekteu.takedown.recheck import recheck
    from tests.servers import Reply
    from tests.test_takedown import people

    rt = make_runtime(SHEKTEU_RECHECK_VERIFY_CHECKS="2", SHEKTEU_RECHECK_VERIFY_HOURS="24")
    people(rt)
    web.route("/x", Reply(451, b"blocked"))
    with rt.db.write() as s:
        td = lifecycle.propose(s, "url", web.url("/x"), actor="aliya", reason="x").takedown.id
        lifecycle.approve(s, td, actor="bolat", reason="ok")
        lifecycle.mark(s, td, "sent", actor="aliya", reason="sent")
    states = [recheck(rt, takedown_ids=[td])[0].state_after for _ in range(3)]
    assert states == ["blocked", "blocked", "blocked"]  # agreeing, but not yet a day apart


def test_exact_places_are_sealed_and_keys_can_live_apart(make_runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shekteu.db.tables import Spot
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending

    keys = tmp_path / "elsewhere"
    rt = make_runtime(SHEKTEU_KEYS_DIR=str(keys))
    submit(rt, TipInput(channel="web", user_id="w1", kind="graffiti", text="надпись @snow_kz_shop",
                        lat=43.2389491, lon=76.8897093))  # fmt: skip
    process_pending(rt, capture=False)
    with rt.db.read() as s:
        tip = s.scalars(select(Tip)).one()
        spot = s.scalars(select(Spot)).one()
    assert (tip.lat, tip.lon) == (43.239, 76.89) and "43.2389" not in (tip.location_sealed or "")
    assert (spot.lat, spot.lon) == (43.2389, 76.8897)  # the crew's precision, from the sealed place
    assert sorted(p.name for p in keys.iterdir()) == ["audit-head.json", "audit.key", "contact.key", "hash.key"]
    assert not (rt.settings.data_dir / "keys").exists()


def test_a_sealed_original_photo_opens_in_the_case_file(rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import json
    import zipfile

    from shekteu.dossier.build import build_dossier
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending
    from tests.test_shops import live_shops, sale
    from tests.test_tips import gps_photo

    original = gps_photo(43.2, 76.9)
    submit(rt, TipInput(channel="web", user_id="p1", text=sale("@sealed_kz_bot"), photos=[original]))
    process_pending(rt, capture=False)
    (shop,) = live_shops(rt)
    build_dossier(rt, shop["id"], tmp_path / "case.zip", actor="cli:test")
    digest = hashlib.sha256(original).hexdigest()
    with zipfile.ZipFile(tmp_path / "case.zip") as zf:
        assert zf.read(f"blobs/{digest}") == original
        listed = {f["path"]: f["sha256"] for f in json.loads(zf.read("manifest.json"))["files"]}
    assert listed[f"blobs/{digest}"] == digest


def test_warninglist_zone_and_user_commands_check_a_named_actor(env: dict[str, str], rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shekteu.users import add_user
    from tests.test_cli import run
    from tests.test_spots import zone_file

    with rt.db.write() as s:
        add_user(s, "aud", ["auditor"], actor="test")
    for args in (["warninglist", "add", "example.kz", "--as", "aud", "--reason", "x"],
                 ["zones", "import", str(zone_file(tmp_path)), "--kind", "osi", "--as", "aud"],
                 ["users", "add", "mallory", "--role", "admin", "--as", "aud"]):  # fmt: skip
        done = run(env, *args)
        assert done.returncode == 2 and "may not do this" in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
