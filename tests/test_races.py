"""Races two sessions can run on PostgreSQL, each closed (issue 20) and each proved with a second
session that is seen waiting on the first's lock: a shop merge against a new item, two approvals
and two exports of one takedown, two proposals of one target, the audit chain against row locks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update

from shekteu import audit
from shekteu.analysis import analyse_items
from shekteu.db.tables import AuditEntry, ShopItem, Takedown, TakedownEvent, Tip
from shekteu.items import ItemData, add_item
from shekteu.runtime import Runtime
from shekteu.shops import edit
from shekteu.shops.query import list_shops
from shekteu.takedown import lifecycle
from shekteu.takedown.requests import export_requests
from shekteu.tips.intake import TipInput, submit
from tests.races import Second, backend_pid, need_postgres, waits_on
from tests.test_takedown import people

SALE = "Меф, шишки, альфа в наличии. Клады по городу. Звони +7 701 555 02 {:02d}"


def _item(rt: Runtime, key: str, text: str) -> int:
    with rt.db.write() as s:
        item_id, _ = add_item(s, ItemData(kind="web_page", key=key, url=f"https://{key}.kz/", source="test", text=text))
    return item_id


def test_a_new_item_of_a_shop_being_merged_lands_in_the_shop_it_was_merged_into(rt: Runtime) -> None:
    need_postgres(rt)
    first, second = _item(rt, "shop-a", SALE.format(1)), _item(rt, "shop-b", SALE.format(2))
    analyse_items(rt, [first, second])
    with rt.db.read() as s:
        shop_of = dict(s.execute(select(ShopItem.item_id, ShopItem.shop_id)).all())
    keep, gone = shop_of[first], shop_of[second]
    assert keep != gone
    late = _item(rt, "shop-b-mirror", SALE.format(2) + " — зеркало")  # phone 2: shop ``gone``'s
    done, box = threading.Event(), []

    def link() -> None:
        try:
            analyse_items(rt, [late])
        except BaseException as exc:  # handed to the test
            box.append(exc)
        done.set()

    with rt.db.write() as s:
        edit.merge(s, keep, gone, actor="cli:test", reason="same operator")  # locks both shops until commit
        thread = threading.Thread(target=link)
        thread.start()
        assert waits_on(rt, backend_pid(s), done), "the linking run did not wait for the merge"
    thread.join(60)
    assert not box, box
    with rt.db.read() as s:
        assert s.scalar(select(ShopItem.shop_id).where(ShopItem.item_id == late)) == keep
        assert [shop["id"] for shop in list_shops(s)] == [keep]


def _proposed(rt: Runtime, target: str = "@race_op_bot") -> int:
    people(rt)
    with rt.db.write() as s:
        return lifecycle.propose(s, "telegram_bot", target, actor="aliya", reason="sells").takedown.id


def test_two_approvals_at_once_approve_once(rt: Runtime) -> None:
    need_postgres(rt)
    td_id = _proposed(rt)
    with rt.db.write() as s:
        from shekteu.users import add_user

        add_user(s, "erlan", ["approver"], actor="test")
    second = Second(rt, lambda s: lifecycle.approve(s, td_id, actor="erlan", reason="checked too"))
    with rt.db.write() as s:
        lifecycle.approve(s, td_id, actor="bolat", reason="checked")
        assert second.start_and_wait_blocked(), "the second approval did not wait for the first"
    second.join()
    assert isinstance(second.error, lifecycle.TakedownError) and "approved by bolat" in str(second.error)
    with rt.db.read() as s:
        approvals = s.scalars(select(TakedownEvent.actor).where(TakedownEvent.to_state == "approved")).all()
    assert approvals == ["bolat"]


def test_two_exports_at_once_send_each_takedown_once(rt: Runtime) -> None:
    need_postgres(rt)
    td_id = _proposed(rt)
    with rt.db.write() as s:
        lifecycle.approve(s, td_id, actor="bolat", reason="checked")
    second = Second(rt, lambda s: export_requests(s, "telegram", "csv", actor="aliya"))
    with rt.db.write() as s:
        _, sent = export_requests(s, "telegram", "csv", actor="aliya")
        assert sent == [td_id]
        assert second.start_and_wait_blocked(), "the second export did not wait for the first"
    second.join()
    assert isinstance(second.error, lifecycle.TakedownError) and "nothing to export" in str(second.error)
    with rt.db.read() as s:
        assert s.scalars(select(TakedownEvent.to_state).where(TakedownEvent.to_state == "sent")).all() == ["sent"]


def test_two_proposals_of_one_target_at_once_open_one_takedown(rt: Runtime) -> None:
    need_postgres(rt)
    people(rt)
    second = Second(rt, lambda s: lifecycle.propose(s, "telegram_bot", "@twice_bot", actor="dana", reason="too"))
    with rt.db.write() as s:
        lifecycle.propose(s, "telegram_bot", "@twice_bot", actor="aliya", reason="sells")
        assert second.start_and_wait_blocked(), "the second proposal did not wait on the first's index entry"
    second.join()
    assert isinstance(second.error, lifecycle.TakedownError) and "already has an open takedown" in str(second.error)
    with rt.db.read() as s:
        assert s.scalars(select(Takedown.proposed_by)).all() == ["aliya"]


def test_the_audit_chain_never_deadlocks_with_row_locks(rt: Runtime) -> None:
    """The first transaction audits, then changes a row; the second changes that row, then audits.
    The chain's lock used to be taken at the first audit entry: each waited for the other."""
    need_postgres(rt)
    ticket = submit(rt, TipInput(channel="web", user_id="row", text="Меф в наличии")).ticket
    def second_work(s) -> None:  # type: ignore[no-untyped-def]
        s.execute(update(Tip).where(Tip.ticket == ticket).values(score=0.5))
        audit.record(s, "test.second", f"tip:{ticket}", actor="system:test")

    second = Second(rt, second_work)
    with rt.db.write() as s:
        audit.record(s, "test.first", f"tip:{ticket}", actor="system:test")
        second.go.set()
        second.join()  # the second commits first: nothing of the first's blocks it
        s.execute(update(Tip).where(Tip.ticket == ticket).values(score=0.9))
    assert second.error is None, second.error
    with rt.db.read() as s:
        assert audit.verify_chain(s) == []
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("test."))
                         .order_by(AuditEntry.id)).all() == ["test.second", "test.first"]  # fmt: skip


def test_a_writer_that_waited_for_the_chain_links_to_the_entry_committed_meanwhile(rt: Runtime) -> None:
    """The chain's head is read after the turn is granted, in a snapshot of its own: a statement
    that waited for the lock reads from the snapshot it started with and would link the new entry to
    the head before the wait (a fork). On PostgreSQL the lock and the read are two queries of one
    function (migration 0019)."""
    need_postgres(rt)
    second = Second(rt, lambda s: audit.record(s, "test.second", "test:x", actor="system:test"))
    with rt.db.write() as s:
        audit.record(s, "test.first", "test:x", actor="system:test")
        s.execute(text("SELECT pg_advisory_xact_lock(7242001)"))  # the turn, held until this commits
        assert second.start_and_wait_blocked()  # the second's commit waits for the turn
    second.join()
    assert second.error is None, second.error
    with rt.db.read() as s:
        assert audit.verify_chain(s) == []
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("test."))
                         .order_by(AuditEntry.id)).all() == ["test.first", "test.second"]  # fmt: skip


def test_two_upkeep_runs_at_once_queue_one_staff_alert(make_runtime) -> None:
    """Two workers' upkeep jobs both find a high-score tip with no alert job: the second one's insert
    waits on the first one's uncommitted job row, then does nothing — one alert job, not two."""
    from sqlalchemy import delete

    from shekteu.db.ops_tables import Job
    from shekteu.queue.maintain import _alerts_missing
    from shekteu.tips.process import process_pending

    rt = make_runtime(SHEKTEU_TELEGRAM_STAFF_CHAT="-100777", SHEKTEU_TIP_ALERT_SCORE="0.5")
    need_postgres(rt)
    submit(rt, TipInput(channel="web", user_id="u1", text="Тут продают: меф, шишки, клады по городу, бот @zakladki_almaty_bot"))
    process_pending(rt, capture=False)
    with rt.db.write() as s:  # as an earlier version left it: processed, scored high, no job
        s.execute(delete(Job).where(Job.stage == "tip_alert"))
    with rt.db.write() as s:
        assert _alerts_missing(rt, s) == 1
        second = Second(rt, lambda other: _alerts_missing(rt, other))
        assert second.start_and_wait_blocked()  # on this session's job row (one active job per key)
    second.join()
    assert second.error is None and second.result == 0
    with rt.db.read() as s:
        assert len(s.scalars(select(Job).where(Job.stage == "tip_alert")).all()) == 1


def test_two_detection_runs_storing_the_same_sites_at_once_store_each_once(rt: Runtime) -> None:
    """Two `field detect --save` runs of one scene at once: the second one's insert waits on the
    first one's uncommitted rows, then finds them known — no duplicate-key error, each site once."""
    pytest.importorskip("shapely")
    from shekteu.db.tables import FieldSite
    from shekteu.field.registry import store
    from tests.fieldrasters import SHU, square_site

    need_postgres(rt)
    sites = [square_site(SHU[0] + 0.01 * n, SHU[1]) for n in range(3)]
    with rt.db.write() as s:
        assert store(s, sites, actor="ann") == (3, 0)
        second = Second(rt, lambda other: store(other, sites, actor="bob"))
        assert second.start_and_wait_blocked()  # on this session's new keys
    second.join()
    assert second.error is None, second.error
    assert second.result == (0, 3)
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(FieldSite)) == 3
