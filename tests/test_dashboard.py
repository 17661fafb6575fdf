"""The dashboard over real HTTP: sign-in, sessions, CSRF, roles, four eyes, escaping, languages, API tokens."""

from __future__ import annotations

import json
import re
import subprocess

from sqlalchemy import select

from shekteu import accounts
from shekteu.db.tables import AuditEntry, Takedown, Tip
from shekteu.shops.query import list_shops
from shekteu.web.i18n import LANGS, source_strings, translator
from tests.command import shekteu
from tests.dashboard import HOSTILE, PASSWORD, Dash, csrf, dash

__all__ = ["dash"]


def shop_id(d: Dash) -> int:
    with d.rt.db.read() as s:
        return list_shops(s)[0]["id"]


def test_pages_and_api_need_sign_in_and_sign_in_is_throttled(dash: Dash) -> None:
    anon = dash.client()
    page = anon.get("/dash/tips?status=received")
    assert (
        page.status_code == 303 and page.headers["location"] == "/login?next=/dash/tips%3Fstatus%3Dreceived"
    )
    api = anon.get("/api/tips")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    assert anon.get("/api/openapi.json").status_code == 200

    login = anon.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
    assert (
        anon.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": "forged"}).status_code == 400
    )
    for _ in range(5):
        wrong = anon.post("/login", data={"name": "ann", "password": "guess-guess", "csrf": token})
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    # The sixth try is refused before the password is even checked, right or not.
    blocked = anon.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": token})
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    with dash.rt.db.read() as s:
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.login_failed")).all()
    assert len(failed) == 5 and failed[0].target == "user:ann"
    # Other users at the same address are not locked out by one name's failures...
    assert dash.login("bob").get("/dash").status_code == 200
    # ...until the address itself has failed four times the per-name limit (a guessing run over many names).
    for n in range(15):
        anon.post("/login", data={"name": f"guess{n}", "password": "guess-guess", "csrf": token})
    assert anon.post("/login", data={"name": "cora", "password": PASSWORD, "csrf": token}).status_code == 429


def test_session_cookie_flags_and_sign_out(dash: Dash) -> None:
    client = dash.client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    reply = client.post(
        "/login", data={"name": "ann", "password": PASSWORD, "csrf": token, "next": "//evil.example"}
    )
    assert reply.headers["location"] == "/dash"  # no open redirect
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "shekteu_session=" in cookie
    overview = client.get("/dash")
    assert overview.status_code == 200 and "ann" in overview.text
    assert "script-src 'self'" in overview.headers["content-security-policy"]
    assert overview.headers["cache-control"] == "no-store"
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf": csrf(client)}).status_code == 303
    assert client.get("/dash").status_code == 303  # the session is over on the server, not just the cookie


def test_csrf_roles_and_triage_with_htmx(dash: Dash) -> None:
    ann = dash.login("ann")
    url = f"/dash/tips/{dash.ticket}/status"
    no_token = ann.post(url, data={"status": "in_review", "reason": "look"})
    assert no_token.status_code == 403 and "did not come from this site" in no_token.text
    row = ann.post(url, data={"status": "in_review", "reason": "looks like a shop", "csrf": csrf(ann)},
                   headers={"HX-Request": "true", "Accept-Language": "ru"})  # fmt: skip
    assert (
        row.status_code == 200
        and row.text.lstrip().startswith("<tr")
        and 'data-status="in_review"' in row.text
    )
    # The row's message is said in the user's language, its state translated (never an object's repr).
    in_review = translator("ru")("in_review")
    assert f"{dash.ticket}: {in_review}" in row.text and "Said(" not in row.text and in_review != "in_review"
    plain = ann.post(url, data={"status": "closed", "reason": "x", "csrf": csrf(ann)})
    assert plain.status_code == 303  # not allowed from in_review: back to the queue with the reason
    queue = ann.get("/dash/tips")
    assert "can become actioned, rejected, not closed" in queue.text

    aud = dash.login("aud")
    refused = aud.post(url, data={"status": "rejected", "reason": "no", "csrf": csrf(aud)})
    assert refused.status_code == 403 and "needs the analyst role" in refused.text
    assert "Triage" in aud.get("/dash/tips").text and 'class="triage"' not in aud.get("/dash/tips").text
    with dash.rt.db.read() as s:
        assert s.scalar(select(Tip.status).where(Tip.ticket == dash.ticket)) == "in_review"
        change = s.scalars(select(AuditEntry).where(AuditEntry.action == "tip.status")).all()
    assert [(e.actor, e.reason) for e in change] == [("ann", "looks like a shop")]


def test_hostile_text_is_escaped_everywhere(dash: Dash) -> None:
    ann = dash.login("ann")
    for path in ("/dash/tips", f"/dash/tips/{dash.ticket}"):
        page = ann.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert (
            "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
            or "&lt;script&gt;alert(&#34;x&#34;)" in page
        )
    assert ann.get(f"/api/tips/{dash.ticket}").json()["text"] == HOSTILE


def test_four_eyes_propose_approve_export_through_the_web(dash: Dash) -> None:
    shop = shop_id(dash)
    ann, bob = dash.login("ann"), dash.login("bob")
    proposed = ann.post(f"/dash/shops/{shop}/takedown", data={"target_type": "telegram_bot", "target": "@fe_op_bot",
                        "reason": "sells mephedrone", "csrf": csrf(ann)})  # fmt: skip
    assert proposed.status_code == 303
    with dash.rt.db.read() as s:
        td = s.scalars(select(Takedown)).one()
    assert (td.state, td.proposed_by, td.shop_id) == ("proposed", "ann", shop)
    queue = ann.get("/dash/takedowns").text
    assert f'action="/dash/takedowns/{td.id}/approve"' not in queue  # analysts cannot approve
    forbidden = ann.post(f"/dash/takedowns/{td.id}/approve", data={"reason": "me", "csrf": csrf(ann)})
    assert forbidden.status_code == 403
    approved = bob.post(
        f"/dash/takedowns/{td.id}/approve", data={"reason": "evidence holds", "csrf": csrf(bob)}
    )
    assert approved.status_code == 303
    export = ann.post(
        "/dash/takedowns-export", data={"recipient": "telegram", "format": "csv", "csrf": csrf(ann)}
    )
    assert export.status_code == 200 and "@fe_op_bot" in export.text
    assert export.headers["content-disposition"].startswith("attachment;")
    with dash.rt.db.read() as s:
        td = s.get(Takedown, td.id)
    assert (td.state, td.approved_by) == ("sent", "bob")
    # An approver who proposes cannot approve their own proposal, on the API either.
    token = _token(dash, "bob")
    api = dash.client()
    api.headers["Authorization"] = f"Bearer {token}"
    mine = api.post("/api/takedowns", json={"target_type": "url", "target": "https://fe-shop.example/buy",
                                            "reason": "mirror", "shop_id": shop})  # fmt: skip
    assert mine.status_code == 201, mine.text
    again = api.post(f"/api/takedowns/{mine.json()['id']}/approve", json={"reason": "mine"})
    assert again.status_code == 400 and "a second person must approve" in again.json()["detail"]
    overview = ann.get("/api/overview").json()["funnel"]["reports"]
    assert {s["step"]: s["count"] for s in overview}["takedowns_sent"] == 1


def test_a_refusal_reads_in_the_users_language_with_its_words_translated(dash: Dash) -> None:
    """The library refuses in English (the CLI's text); on the dashboard the same refusal is worded in
    the reader's language, states included — four eyes refused in Kazakh, a closed step in Russian."""
    shop = shop_id(dash)
    bob = dash.login("bob")
    kk, ru = {"Accept-Language": "kk"}, {"Accept-Language": "ru"}
    assert bob.post(f"/dash/shops/{shop}/takedown", data={"target_type": "telegram_bot", "target": "@ref_op_bot",
                    "reason": "sells", "csrf": csrf(bob)}).status_code == 303  # fmt: skip
    with dash.rt.db.read() as s:
        td = s.scalars(select(Takedown)).one()
    own = bob.post(f"/dash/takedowns/{td.id}/approve", data={"reason": "mine", "csrf": csrf(bob)}, headers=kk,
                   follow_redirects=True).text  # fmt: skip
    assert f"{td.id} бұғаттауды bob ұсынды: оны басқа адам мақұлдауы керек" in own and "four eyes" not in own
    page = bob.post(f"/dash/takedowns/{td.id}/sent", data={"reason": "by hand", "csrf": csrf(bob)}, headers=ru,
                    follow_redirects=True).text  # fmt: skip
    proposed, sent = translator("ru")("proposed"), translator("ru")("sent")
    assert proposed != "proposed" and f"блокировка {td.id} — {proposed}: в «{sent}» перевести нельзя" in page
    english = bob.post(f"/dash/takedowns/{td.id}/sent", data={"reason": "by hand", "csrf": csrf(bob)},
                       headers={"Accept-Language": "en"}, follow_redirects=True).text  # fmt: skip
    assert f"takedown {td.id} is proposed: it cannot become sent" in english


def _token(d: Dash, name: str) -> str:
    with d.rt.db.write() as s:
        return accounts.create_token(s, name, "tests", actor="test")


def test_api_tokens_act_as_their_user_without_csrf_until_revoked(dash: Dash) -> None:
    token = _token(dash, "ann")
    api = dash.client()
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.get("/api/me").json() == {"name": "ann", "roles": ["analyst"], "lang": None, "via": "token"}
    changed = api.post(f"/api/tips/{dash.ticket}/status", json={"status": "rejected", "reason": "not a shop"})
    assert changed.status_code == 200 and changed.json()["status"] == "rejected"
    bad = api.post(f"/api/tips/{dash.ticket}/status", json={"status": "nonsense", "reason": "x"})
    assert bad.status_code == 422
    with dash.rt.db.write() as s:
        token_id = s.scalar(select(accounts.ApiToken.id))
        accounts.revoke_token(s, token_id, actor="adm", reason="leaked")
    assert api.get("/api/me").status_code == 401
    api.headers["Authorization"] = "Bearer shk_made-up"
    assert api.get("/api/me").status_code == 401


def test_languages_per_user_and_complete_catalogs(dash: Dash) -> None:
    from babel.messages.pofile import read_po

    needed = source_strings()
    for lang in LANGS[:2]:
        from shekteu.web.i18n import catalog_path

        with open(catalog_path(lang), "rb") as f:
            catalog = read_po(f, locale=lang)
        translated = {m.id for m in catalog if m.id and m.string}
        assert needed <= translated, f"{lang}.po lacks {sorted(needed - translated)[:10]}"
    cora = dash.login("cora")
    assert ">Обзор<" in cora.get("/dash", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).text
    assert (
        cora.post("/dash/lang", data={"lang": "kk", "back": "/dash/board", "csrf": csrf(cora)}).status_code
        == 303
    )
    page = cora.get("/dash/board", headers={"Accept-Language": "en"}).text  # the user's choice wins
    assert ">Шолу<" in page and "Тапсырмалар тақтасы" in page
    assert cora.post("/dash/lang", data={"lang": "xx", "csrf": csrf(cora)}).status_code == 303
    assert "белгісіз тіл" in cora.get("/dash").text  # the refusal in her language


def test_audit_log_filters(dash: Dash) -> None:
    adm = dash.login("adm")
    adm.post(
        f"/dash/tips/{dash.ticket}/status", data={"status": "in_review", "reason": "r1", "csrf": csrf(adm)}
    )
    rows = adm.get("/api/audit", params={"action": "tip.", "actor": "adm"}).json()
    assert [r["action"] for r in rows] == ["tip.status"] and rows[0]["target"] == f"tip:{dash.ticket}"
    assert all(
        r["action"].startswith("user.") for r in adm.get("/api/audit", params={"action": "user."}).json()
    )
    assert adm.get("/api/audit", params={"since": "yesterday"}).status_code == 400
    page = adm.get("/dash/audit", params={"target": f"tip:{dash.ticket}"}).text
    assert "r1" in page and "user.add" not in page


def test_cli_users_add_with_a_password_from_stdin(dash: Dash, env: dict[str, str]) -> None:
    import os

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
        return shekteu(*args, env=full, input=stdin)

    done = cli("users", "add", "dina", "--role", "analyst", "--password-stdin", stdin="a-long-password\n")
    assert done.returncode == 0 and "with a password" in done.stdout
    short = cli("users", "add", "emil", "--role", "analyst", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "too short" in short.stderr and "Traceback" not in short.stderr
    assert dash.login("dina", "a-long-password").get("/api/me").json()["name"] == "dina"
    token = cli("users", "token", "dina", "--label", "ci").stdout.strip()
    assert token.startswith("shk_")
    assert (
        json.loads(dash.client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).text)["via"]
        == "token"
    )


def test_admins_see_the_job_queue_and_retry_or_drop_quarantined_jobs(dash: Dash) -> None:
    from sqlalchemy import update

    from shekteu.db.ops_tables import Job
    from shekteu.queue import jobs

    with dash.rt.db.write() as s:
        first = jobs.enqueue(s, "analyse", "items:1-1", {"items": [1]}, dedup="test:1")
        second = jobs.enqueue(s, "analyse", "items:2-2", {"items": [2]}, dedup="test:2")
        s.execute(update(Job).where(Job.id.in_([first, second]))
                  .values(state="quarantined", attempts=5, last_error="ValueError: <b>broken</b>"))  # fmt: skip
    ann = dash.login("ann")
    assert "/dash/queue" not in ann.get("/dash").text  # not in an analyst's menu
    assert ann.get("/dash/queue").status_code == 403 and ann.get("/api/queue").status_code == 403
    adm = dash.login("adm")
    page = adm.get("/dash/queue")
    assert page.status_code == 200 and 'href="/dash/queue"' in page.text
    assert "ValueError: &lt;b&gt;broken&lt;/b&gt;" in page.text and "<b>broken</b>" not in page.text
    assert adm.get("/api/queue").json()["quarantined"] == 2
    token = csrf(adm, "/dash/queue")
    assert adm.post(f"/dash/queue/{first}/retry", data={"csrf": token}).status_code == 303
    assert "needs a reason" in adm.post(f"/dash/queue/{second}/drop", data={"csrf": token},
                                        follow_redirects=True).text  # fmt: skip
    assert adm.post(f"/dash/queue/{second}/drop", data={"csrf": token, "reason": "items gone"}).status_code == 303
    with dash.rt.db.read() as s:
        assert s.get(Job, second).state == "dropped" and s.get(Job, first).state != "quarantined"
        actions = s.execute(select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.action.startswith("job.")))
        assert sorted(actions) == [("job.drop", "adm"), ("job.retry", "adm")]


def test_audit_details_read_as_text_in_their_own_letters(dash: Dash) -> None:
    from shekteu import audit

    with dash.rt.db.write() as s:
        audit.record(s, "test.note", "shop:1", actor="cli:test", reason="проверка",
                     detail={"name": "Магазин <b>шоп</b>", "ids": [1, 2]})  # fmt: skip
    page = dash.login("adm").get("/dash/audit", params={"action": "test."}).text
    assert "Магазин &lt;b&gt;шоп&lt;/b&gt;" in page and "\\u041c" not in page and "[1, 2]" in page
    assert 'id="actors-explained"' in page and 'title="a server command">cli:test</td>' in page  # actors explained


def test_the_audit_check_page_says_intact_then_names_a_cut_tail(dash: Dash) -> None:
    from sqlalchemy import text

    adm = dash.login("adm")
    assert 'href="/dash/audit/verify"' in adm.get("/dash/audit").text
    page = adm.get("/dash/audit/verify")
    assert page.status_code == 200 and "The audit log is intact." in page.text
    assert adm.get("/api/audit/verify").json()["ok"] is True
    with dash.rt.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"))
    page = adm.get("/dash/audit/verify").text
    assert "The audit log was tampered with." in page and "entries at the end were removed" in page
    report = dash.login("aud").get("/api/audit/verify").json()
    assert report["ok"] is False and report["problems"]
