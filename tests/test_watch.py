"""Watched pages: re-captured on schedule by the worker, their history showing edits, outages, returns
and moves, stopped when their takedown is verified — each step audited, concurrent adds kept once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shekteu.capture import watch as watches
from shekteu.capture.history import timeline
from shekteu.db.evidence_tables import Watch
from shekteu.db.tables import AuditEntry, Capture, Takedown, utcnow
from shekteu.queue.worker import Worker, schedule
from shekteu.runtime import Runtime
from tests.races import Second, need_postgres
from tests.servers import LocalServer, Reply
from tests.test_cli import lines, run

PAGE = "<html><head><title>Магазин</title></head><body><article><p>{}</p></article></body></html>"
TEXT = "Клады по всему городу, оператор на связи круглосуточно, оплата картой и криптой, отзывы в канале."


def _tick(rt: Runtime) -> None:
    """What a worker does each minute: the upkeep job queues due watches, then their jobs run."""
    with rt.db.write() as s:
        s.execute(update(Watch).where(Watch.active.is_(True)).values(next_at=utcnow() - timedelta(seconds=1)))
    schedule(rt)
    Worker(rt, concurrency=1).run(drain=True)
    from shekteu.db.ops_tables import Job

    with rt.db.write() as s:  # let the next tick schedule the upkeep again
        s.execute(update(Job).where(Job.stage == "maintain").values(created_at=utcnow() - timedelta(hours=1)))


def test_intervals_and_targets_are_checked() -> None:
    assert watches.parse_every("6h") == 21600 and watches.parse_every("30m") == 1800 and watches.parse_every("1w") == 604800
    for bad, message in [("6", "a number and a unit"), ("1m", "between 5m and 365d"), ("400d", "between"), ("", "unit")]:
        with pytest.raises(watches.WatchError, match=message):
            watches.parse_every(bad)
    assert watches.target_of("@Shop_Chan") == ("telegram", "@shop_chan")
    assert watches.target_of("https://t.me/s/shop_chan") == ("telegram", "@shop_chan")
    assert watches.target_of("HTTP://Example.com") == ("url", "http://example.com/")
    with pytest.raises(watches.WatchError, match="only http"):
        watches.target_of("ftp://example.com/x")


def test_a_watched_page_is_recaptured_and_its_history_tells_what_happened(make_runtime, web: LocalServer,
                                                                          web2: LocalServer) -> None:  # fmt: skip
    rt = make_runtime(SHEKTEU_FETCH_ALLOW_NETWORKS="127.0.0.0/8")  # web2 (127.0.0.2) is the "new domain"
    web.route("/shop", Reply(200, PAGE.format(TEXT).encode()))
    with rt.db.write() as s:
        wid = watches.add(s, web.url("/shop"), "6h", until_verified=False, actor="cli:test").id
    _tick(rt)
    web.route("/shop", Reply(200, PAGE.format(TEXT.replace("круглосуточно", "с 9 до 21")).encode()))
    _tick(rt)
    web.route("/shop", Reply(500, b"gone"))
    _tick(rt)
    web.route("/shop", Reply(200, PAGE.format(TEXT).encode()))
    _tick(rt)
    web2.route("/new", Reply(200, PAGE.format(TEXT).encode()))
    web.route("/shop", Reply(302, b"", {"Location": web2.url("/new")}))
    _tick(rt)
    with rt.db.read() as s:
        w = s.get(Watch, wid)
        assert w.captures == 5 and w.active and w.next_at > utcnow() + timedelta(hours=5)
        assert s.scalar(select(func.count()).select_from(Capture).where(Capture.url == web.url("/shop"))) == 5
        history = timeline(s, web.url("/shop"))
    assert [h["events"] for h in history] == [["first"], ["changed"], ["down"], ["back"], ["moved", "same"]]
    assert any(line.startswith("-") and "круглосуточно" in line for line in history[1]["diff"])
    assert any(line.startswith("+") and "с 9 до 21" in line for line in history[1]["diff"])
    assert history[4]["final_url"] == web2.url("/new")


def test_a_watch_stops_when_its_takedown_is_verified(rt: Runtime, web: LocalServer) -> None:
    web.route("/shop", Reply(200, PAGE.format(TEXT).encode()))
    with rt.db.write() as s:
        wid = watches.add(s, web.url("/shop"), "1h", until_verified=True, actor="cli:test").id
    _tick(rt)
    with rt.db.write() as s:
        now = utcnow()
        s.add(Takedown(target_type="url", target=web.url("/shop"), recipient="regulator", state="verified",
                       proposed_by="aliya", created_at=now, updated_at=now, verified_at=now))  # fmt: skip
    _tick(rt)
    with rt.db.read() as s:
        w = s.get(Watch, wid)
        assert not w.active and w.stopped_reason.startswith("takedown") and w.captures == 1
        stops = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "watch.stop")))
        assert len(stops) == 1 and stops[0].actor == "system:watch"
    before = len(web.hits)
    _tick(rt)
    assert len(web.hits) == before  # stopped: never fetched again


def test_two_people_adding_one_page_at_once_make_one_watch(rt: Runtime) -> None:
    need_postgres(rt)
    second = Second(rt, lambda s: watches.add(s, "https://shop.example/x", "1d", until_verified=True, actor="cli:b").id)
    with rt.db.write() as s:
        first = watches.add(s, "https://shop.example/x", "6h", until_verified=False, actor="cli:a").id
        assert second.start_and_wait_blocked()  # the second insert waits on the first's unique target
    second.join()
    assert second.error is None and second.result == first
    with rt.db.read() as s:
        w = s.scalars(select(Watch)).one()
        assert w.every_seconds == 86400 and w.until_verified  # the later add is the one that counts
        actions = sorted(s.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("watch."))))
    assert actions == ["watch.add", "watch.change"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the CLI's contracts; both databases in the tests above
def test_cli_watch_contract(env: dict[str, str], web: LocalServer) -> None:
    web.route("/shop", Reply(200, PAGE.format(TEXT).encode()))
    added = run(env, "watch", "add", web.url("/shop"), "--every", "6h", "--until-verified", "--json")
    assert added.returncode == 0, added.stderr
    row = lines(added.stdout)[0]
    assert row["every_seconds"] == 21600 and row["until_verified"] is True and row["active"] is True
    again = lines(run(env, "watch", "add", web.url("/shop"), "--every", "1d", "--json").stdout)[0]
    assert again["id"] == row["id"] and again["every_seconds"] == 86400
    listed = lines(run(env, "watch", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [row["id"]]
    ran = run(env, "watch", "run", "--json")
    assert ran.returncode == 0, ran.stderr
    assert lines(ran.stdout)[0]["done"] >= 1
    history = run(env, "captures", "history", web.url("/shop"), "--json")
    assert history.returncode == 0 and lines(history.stdout)[0]["events"] == ["first"]
    for args, message in [
        (["watch", "add", web.url("/x"), "--every", "1s"], "between 5m and 365d"),
        (["watch", "add", "ftp://x.example/", "--every", "1h"], "only http"),
        (["watch", "stop", str(row["id"])], "needs --reason"),
        (["watch", "stop", "999", "--reason", "x"], "no watch"),
        (["captures", "history", web.url("/never")], "no captures"),
    ]:
        result = run(env, *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert run(env, "watch", "stop", str(row["id"]), "--reason", "done").returncode == 0
    assert lines(run(env, "watch", "list", "--json").stdout) == []
    assert lines(run(env, "watch", "list", "--all", "--json").stdout)[0]["stopped_reason"] == "done"


def test_the_capture_page_shows_the_history_and_the_diff(make_runtime, web: LocalServer, tmp_path) -> None:
    from tests.dashboard import Dash, seed, serve

    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    from shekteu.capture.web import capture_urls

    web.route("/shop", Reply(200, PAGE.format(TEXT).encode()))
    capture_urls(rt, [web.url("/shop")])
    web.route("/shop", Reply(200, PAGE.format(TEXT.replace("круглосуточно", "<b>с 9 до 21</b>")).encode()))
    (second,) = capture_urls(rt, [web.url("/shop")])
    for base in serve(rt):
        page = Dash(rt, base, ticket).login("ann").get(f"/dash/captures/{second.id}").text
        assert 'id="capture-history"' in page and "first capture" in page and "changed" in page
        assert 'id="capture-diff"' in page and "круглосуточно" in page
