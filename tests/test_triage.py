"""Triage that scales: the tips queue filtered, sorted and searched, rows that say what matters (photo,
QR payload, painted handle, matching shop, local time), bulk changes with one reason, CSV export."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from shekteu.db.tables import AuditEntry, Tip
from shekteu.tips.intake import TipInput, submit
from shekteu.tips.process import process_pending
from shekteu.tips.search import TipFilter, search
from tests.dashboard import Dash, csrf, dash
from tests.test_spots import WALL, report

__all__ = ["dash"]


def _more_tips(dash: Dash) -> None:
    rt = dash.rt
    for n, (text, lat, lon) in enumerate([
        ("=HYPERLINK(\"http://evil.example\") продают мефедрон @fe_op_bot", 43.25, 76.92),  # Almaty
        ("Шымкент, закладки у школы, бот @shym_demo_bot", 42.32, 69.59),
        ("Подскажите, как работает сервис?", None, None),
    ]):  # fmt: skip
        submit(rt, TipInput(channel="web", user_id=f"tri-{n}", text=text, lat=lat, lon=lon))
    process_pending(rt, capture=False)
    report(rt, *WALL)  # a graffiti photo with a QR code for a shop bot, in Almaty
    # The served dashboard's own worker may have taken some of the jobs: wait for every one.
    from shekteu.db.ops_tables import Job
    from shekteu.queue.worker import run_jobs

    with rt.db.read() as s:
        open_jobs = list(s.scalars(select(Job.id).where(Job.state.in_(("pending", "running", "failed")))))
    run_jobs(rt, open_jobs)


def test_filters_sort_and_search_narrow_the_queue(dash: Dash) -> None:
    _more_tips(dash)
    with dash.rt.db.read() as s:
        everything = search(s, TipFilter(limit=100))
        scores = [t["score"] for t in everything if t["score"] is not None]
        assert scores == sorted(scores, reverse=True)  # by score by default
        by_date = search(s, TipFilter(sort="date"))
        assert [t["created_at"] for t in by_date] == sorted((t["created_at"] for t in by_date), reverse=True)
        graffiti = search(s, TipFilter(kind="graffiti"))
        assert graffiti and {t["kind"] for t in graffiti} == {"graffiti"}
        assert graffiti[0]["qr"] and graffiti[0]["photos"] == 1
        almaty = search(s, TipFilter(district="75"))  # Almaty city's KATO prefix
        assert almaty and all(t["district"]["kato"].startswith("75") for t in almaty)
        assert not any("Шымкент" in t["text"] for t in almaty)
        words = search(s, TipFilter(q="ЗАКЛАДКИ школы"))
        assert [t["text"][:8] for t in words] == ["Шымкент,"]
        assert search(s, TipFilter(q="%")) == []  # LIKE wildcards are matched as characters
        confident = search(s, TipFilter(min_score=0.5))
        assert confident and all(t["score"] >= 0.5 for t in confident)
        matching = [t for t in everything if "@fe_op_bot" in t["text"]]
        assert matching and all(t["shops"] for t in matching)  # "matches shop N"


def test_the_page_shows_thumbnails_qr_matches_and_local_times(dash: Dash) -> None:
    _more_tips(dash)
    ann = dash.login("ann")
    page = ann.get("/dash/tips", params={"kind": "graffiti"}).text
    assert 'class="thumb"' in page and "QR code" in page and "https://t.me/snow_almaty_bot" in page
    thumb = re.search(r'<img class="thumb" src="([^"]+)"', page).group(1)
    shown = ann.get(thumb)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"  # the display copy
    with dash.rt.db.read() as s:
        newest = s.scalars(select(Tip).order_by(Tip.id.desc())).first()
    shown = re.search(r'<time datetime="' + re.escape(newest.created_at.isoformat()) + r'">([^<]+)</time>', page)
    utc_hour = newest.created_at.hour
    assert shown and int(shown.group(1)[11:13]) == (utc_hour + 5) % 24  # Kazakhstan time, UTC+5
    everything = ann.get("/dash/tips").text
    empty_form = ann.get("/dash/tips", params={"status": "", "kind": "", "channel": "", "district": "", "min_score": "",
                                              "max_score": "", "q": "", "sort": "score"})  # what the form sends
    assert empty_form.status_code == 200 and 'id="tips"' in empty_form.text
    assert "matches shop" in everything
    assert '<option value="">— choose —</option>' in everything  # no status is picked for you


def test_bulk_triage_changes_every_ticked_tip_with_one_reason(dash: Dash) -> None:
    _more_tips(dash)
    ann = dash.login("ann")
    with dash.rt.db.read() as s:
        tickets = [t.ticket for t in s.scalars(select(Tip).where(Tip.status == "received").order_by(Tip.id))][:3]
    token = csrf(ann, "/dash/tips")
    refused = ann.post("/dash/tips/bulk", data={"csrf": token, "ticket": tickets, "status": "in_review"},
                       follow_redirects=True)  # fmt: skip
    assert "needs a reason" in refused.text
    done = ann.post("/dash/tips/bulk", data={"csrf": token, "ticket": tickets, "status": "in_review",
                                             "reason": "checked together"}, follow_redirects=True)  # fmt: skip
    assert "3 tips moved to: in_review" in done.text
    with dash.rt.db.read() as s:
        assert {t.status for t in s.scalars(select(Tip).where(Tip.ticket.in_(tickets)))} == {"in_review"}
        audited = list(s.scalars(select(AuditEntry).where(AuditEntry.reason == "checked together")))
        assert len(audited) == 3 and {a.actor for a in audited} == {"ann"}
    cora = dash.login("cora")  # a coordinator may read the queue, not triage it
    assert cora.post("/dash/tips/bulk", data={"csrf": csrf(cora, "/dash/tips"), "ticket": tickets,
                                              "status": "closed", "reason": "x"}).status_code == 403  # fmt: skip


def test_the_selection_exports_as_safe_csv_and_is_audited(dash: Dash) -> None:
    _more_tips(dash)
    reply = dash.login("ann").get("/dash/tips.csv", params={"q": "мефедрон"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert rows and all("мефедрон" in r["text"] for r in rows)
    hostile = next(r for r in rows if "HYPERLINK" in r["text"])
    assert hostile["text"].startswith("'=")  # shown as text in a spreadsheet, never run
    with dash.rt.db.read() as s:
        exports = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "tip.export")))
        assert len(exports) == 1 and exports[0].actor == "ann" and exports[0].detail["rows"] == len(rows)


def test_the_overview_opens_with_what_needs_each_person(dash: Dash) -> None:
    from datetime import timedelta

    from shekteu.db.ops_tables import Job
    from shekteu.db.tables import Spot, utcnow
    from shekteu.takedown import lifecycle

    rt = dash.rt
    report(rt, *WALL)
    with rt.db.write() as s:
        lifecycle.propose(s, "telegram_bot", "@needs_you_bot", actor="ann", reason="shop bot")
        lifecycle.propose(s, "telegram_bot", "@other_bot", actor="bob", reason="shop bot")
        spot = s.scalars(select(Spot)).first()
        spot.status, spot.due_at = "assigned", utcnow() - timedelta(days=2)
        now = utcnow()
        s.add(Job(stage="capture", subject="x", payload={}, state="quarantined", priority=5, attempts=5, max_attempts=5,
                  run_after=now, created_at=now, last_error="boom"))  # fmt: skip

    def needs(name: str) -> dict[str, int]:
        page = dash.login(name).get("/dash").text
        section = page[page.index('id="needs-you"'): page.index("</section>", page.index('id="needs-you"'))]
        return {k: int(n) for k, n in re.findall(r'data-need="([a-z_]+)"><a href="[^"]+"><strong>(\d+)</strong>', section)}

    ann, bob, cora, adm = needs("ann"), needs("bob"), needs("cora"), needs("adm")
    assert ann["tips_to_triage"] >= 1 and "takedowns_to_approve" not in ann and "quarantined_jobs" not in ann
    assert bob == {"takedowns_to_approve": 1}  # not the one bob proposed himself
    assert cora == {"overdue_spots": 1}
    assert adm["quarantined_jobs"] == 1 and adm["takedowns_to_approve"] == 2
    assert "Nothing waits for you." in dash.login("aud").get("/dash").text


def test_a_photo_is_shown_once_the_tip_job_made_its_display_copy(make_runtime, tmp_path) -> None:
    """Intake decodes a photo only at reduced scale (the reporter waits on it); the display copy comes
    with the tip job. Until then the queue and the tip page say so instead of showing a broken image."""
    from tests.dashboard import seed, serve
    from tests.wallphotos import jpeg, wall

    rt = make_runtime(SHEKTEU_EMBEDDED_WORKER="false")  # nothing processes the tip behind the test's back
    ticket = seed(rt, tmp_path)
    photo = submit(rt, TipInput(channel="web", user_id="late", kind="graffiti", text="стена", photos=[jpeg(wall())]))
    for base in serve(rt):
        ann = Dash(rt, base, ticket).login("ann")
        assert "photo not prepared yet" in ann.get("/dash/tips", params={"kind": "graffiti"}).text
        assert "photo not prepared yet" in ann.get(f"/dash/tips/{photo.ticket}").text
        assert ann.get(f"/dash/tips/{photo.ticket}/photo/1").status_code == 404
        process_pending(rt, capture=False)
        page = ann.get("/dash/tips", params={"kind": "graffiti"}).text
        assert f'src="/dash/tips/{photo.ticket}/photo/1"' in page and "photo not prepared yet" not in page
        shown = ann.get(f"/dash/tips/{photo.ticket}/photo/1")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert shown.content.startswith(b"\xff\xd8")
