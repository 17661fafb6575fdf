"""NULs, lone surrogates and poison items: one bad text must never stop analysis or tip processing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text, update

from shekteu.analysis import analyse_pending
from shekteu.db.ops_tables import Job
from shekteu.db.tables import AnalysisFailure, AuditEntry, Item, Tip, Verdict, utcnow
from shekteu.detect.model import Detector
from shekteu.items import ItemData, add_item
from shekteu.queue import jobs
from shekteu.runtime import Runtime
from shekteu.text.clean import clean_json, clean_text
from shekteu.tips.intake import TipError, TipInput, submit
from shekteu.tips.process import MAX_ATTEMPTS, process_pending
from tests.hostile.faults import refuse_insert

AD = "Меф, шишки в наличии, клады по городу. Бот @snegkz_bot"
HOSTILE_TEXTS = ["hello\x00 world", "\x00", "a\ud83d b", "\ud800", "x\x00\x00\x00y", "\x07\x1b[31mred", ""]


def test_nuls_and_surrogates_change_no_other_verdict_in_a_batch() -> None:
    detector = Detector.load()
    alone = detector.classify([AD])[0]
    mixed = detector.classify([*HOSTILE_TEXTS, AD, *HOSTILE_TEXTS])
    assert len(mixed) == 2 * len(HOSTILE_TEXTS) + 1
    together = mixed[len(HOSTILE_TEXTS)]
    assert together.label == alone.label == "sale"
    assert together.score == pytest.approx(alone.score, abs=1e-6)


def test_cleaning_keeps_text_and_drops_what_no_store_takes() -> None:
    assert clean_text("hello\x00 world") == "hello world"
    assert clean_text("a\ud83d b") == "a\ufffd b"
    assert clean_text("строка\tи\nперевод") == "строка\tи\nперевод"
    assert clean_json({"k\x00": ["v\x00", float("nan"), {"x": "\ud800"}]}) == {"k": ["v", None, {"x": "\ufffd"}]}
    with pytest.raises(ValueError, match="nested deeper"):
        deep: list = []
        for _ in range(100):
            deep = [deep]
        clean_json(deep)


def test_a_report_with_a_nul_is_taken_and_analysis_goes_on_after_it(rt: Runtime) -> None:
    receipt = submit(rt, TipInput(channel="web", user_id="citizen", text="hello\x00 world @snegkz_bot"))
    bad = submit(rt, TipInput(channel="telegram", user_id="u\x00\ud800", contact="1\x00", text="x\ud83d"))
    with rt.db.write() as s:
        later, _ = add_item(s, ItemData(kind="web_page", key="k1", url="https://e.kz/a", source="test", text=AD))
    summary = analyse_pending(rt)
    assert summary.items == 3
    with rt.db.read() as s:
        tip = s.scalar(select(Tip).where(Tip.ticket == receipt.ticket))
        assert tip.text == "hello world @snegkz_bot"
        assert s.scalar(select(Tip.text).where(Tip.ticket == bad.ticket)) == "x\ufffd"
        assert s.scalar(select(Verdict.label).where(Verdict.item_id == later)) == "sale"
    assert process_pending(rt, capture=False)  # tip processing is not stopped either
    assert analyse_pending(rt).items == 0  # and a rerun finds nothing left


def test_a_poison_item_is_recorded_and_the_others_flow(rt: Runtime) -> None:
    with rt.db.write() as s:
        ids = [add_item(s, ItemData(kind="web_page", key=f"k{n}", url=f"https://e{n}.kz/", source="test",
                                    text=f"{AD} {n}"))[0] for n in range(5)]  # fmt: skip
    refuse_insert(rt, "verdicts", f"NEW.item_id = {ids[2]}")
    summary = analyse_pending(rt)
    assert summary.items == 4
    with rt.db.read() as s:
        failures = s.scalars(select(AnalysisFailure)).all()
        assert [f.item_id for f in failures] == [ids[2]]
        assert failures[0].error  # the error's type, never the item's text
        assert AD not in failures[0].error
        assert set(s.scalars(select(Verdict.item_id))) == set(ids) - {ids[2]}
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "detect.fail")) is not None
    assert analyse_pending(rt).items == 0  # recorded: not retried on every run


def test_a_tip_whose_processing_fails_is_recorded_and_later_tips_flow(rt: Runtime) -> None:
    tickets = [submit(rt, TipInput(channel="web", user_id=f"c{n}", text=f"{AD} {n}")).ticket for n in range(4)]
    refuse_insert(rt, "audit_log", f"NEW.action = 'tip.process' AND NEW.target = 'tip:{tickets[1]}'")
    done = process_pending(rt, capture=False)
    assert sorted(p.ticket for p in done) == sorted(set(tickets) - {tickets[1]})
    with rt.db.read() as s:
        stuck = s.scalar(select(Tip).where(Tip.ticket == tickets[1]))
        assert stuck.processed_at is None and stuck.process_attempts == 1 and stuck.process_error
        assert AD not in stuck.process_error
    for _ in range(MAX_ATTEMPTS + 1):
        process_pending(rt, capture=False)
    with rt.db.read() as s:
        assert s.scalar(select(Tip.process_attempts).where(Tip.ticket == tickets[1])) == MAX_ATTEMPTS


def _image(size: tuple[int, int], fmt: str, colour: int = 128) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (colour, colour, colour)).save(buf, fmt)
    return buf.getvalue()


def test_flat_and_one_pixel_graffiti_photos_do_not_stop_later_tips(rt: Runtime) -> None:
    pytest.importorskip("zxingcpp")
    photos = [_image((800, 600), "JPEG"), _image((1, 1), "WEBP"), _image((1, 1), "PNG")]
    for n, data in enumerate(photos):
        submit(rt, TipInput(channel="web", user_id=f"w{n}", kind="graffiti", photos=[data], lat=43.2, lon=76.9))
    later = [submit(rt, TipInput(channel="web", user_id=f"t{n}", text=f"{AD} {n}")).ticket for n in range(5)]
    done = {p.ticket for p in process_pending(rt, capture=False)}
    assert set(later) <= done and len(done) == 8
    with rt.db.read() as s:
        assert s.scalars(select(Tip.process_error).where(Tip.process_error.is_not(None))).all() == []


def test_only_real_photo_formats_are_decoded() -> None:
    from shekteu.images import ImageError, open_image

    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\nshowpage\n"
    for data in (eps, b"P6\n1 1\n255\n\x00\x00\x00", b"GIF87a" + b"\x00" * 3):
        with pytest.raises(ImageError):
            open_image(data)
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"):
        assert open_image(_image((4, 4), fmt)).size == (4, 4)


def test_a_database_error_carries_no_reporter_text(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    refuse_insert(rt, "tips", "1 = 1")
    secret = "мой телефон +77011234567 и адрес"
    with pytest.raises(Exception) as failure:
        submit(rt, TipInput(channel="web", user_id="citizen", text=secret))
    assert not isinstance(failure.value, TipError)
    assert secret not in str(failure.value) and "+77011234567" not in caplog.text
    with rt.db.read() as s:
        assert s.scalars(select(Item)).all() == []  # nothing half-written


def test_two_reports_at_once_from_one_address_cannot_pass_its_limit(make_runtime) -> None:
    import threading

    from shekteu.tips.intake import RateLimited

    rt = make_runtime(SHEKTEU_TIP_RATE_LIMIT="2")
    for round_ in range(5):
        origin = f"198.51.100.{round_}"
        submit(rt, TipInput(channel="open311", user_id=f"device:first{round_}", text=f"{AD} {round_}", origin=origin))
        barrier, outcomes = threading.Barrier(2), []

        def send(n: int, origin: str = origin, round_: int = round_, barrier: threading.Barrier = barrier,
                 outcomes: list[str] = outcomes) -> None:
            barrier.wait()
            try:
                submit(rt, TipInput(channel="open311", user_id=f"device:{round_}-{n}", text=f"{AD} {n}", origin=origin))
                outcomes.append("ok")
            except RateLimited:
                outcomes.append("limited")

        threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["limited", "ok"], (round_, outcomes)


def test_a_busy_database_is_not_the_items_fault(rt: Runtime) -> None:
    """A deadlock or lock timeout says nothing about the item: the run stops, nothing is recorded
    against the item or the tip, its job is tried again at once without counting an attempt — until
    the trouble has outlasted the free retries (this trigger deadlocks for ever), when one attempt is
    counted and the job backs off instead of spinning — and the next run analyses them."""
    from sqlalchemy.exc import OperationalError

    if rt.db.engine.dialect.name != "postgresql":
        pytest.skip("a deadlock error is raised by a PostgreSQL trigger")
    ticket = submit(rt, TipInput(channel="web", user_id="busy", text=AD)).ticket
    refuse_insert(rt, "verdicts", "1 = 1", sqlstate="40P01")
    with pytest.raises(OperationalError):
        analyse_pending(rt)
    assert process_pending(rt, capture=False) == []
    with rt.db.read() as s:
        job = s.scalar(select(Job).where(Job.stage == "tip"))
        assert (job.state, job.retries, job.attempts) == ("failed", jobs.FREE_RETRIES, 1)
        assert "OperationalError" in job.last_error and job.attempts < job.max_attempts
    with rt.db.write() as s:
        s.execute(text("DROP TRIGGER poison ON verdicts"))
        s.execute(update(Job).values(run_after=utcnow()))  # its back-off has passed
    with rt.db.read() as s:
        assert s.scalars(select(AnalysisFailure)).all() == []
        assert s.scalar(select(Tip.process_attempts).where(Tip.ticket == ticket)) == 0
    assert analyse_pending(rt).items == 1
    assert [p.ticket for p in process_pending(rt, capture=False)] == [ticket]
