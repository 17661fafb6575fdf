"""Citizen tips: intake, privacy, photos, duplicates, statuses and notifications."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shekteu.audit import verify_chain
from shekteu.db.tables import AuditEntry, Item, Notification, Tip
from shekteu.geo.distance import metres
from shekteu.runtime import Runtime, contact_key
from shekteu.tips.intake import RateLimited, TipError, TipInput, submit
from shekteu.tips.outbox import DeliveryError, deliver
from shekteu.tips.privacy import SealError, seal, unseal
from shekteu.tips.process import process_pending
from shekteu.tips.query import list_tips
from shekteu.tips.status import TipStatusError, set_status
from shekteu.tips.tickets import new_ticket, parse_ticket
from tests.people import make_staff
from tests.test_cli import lines, run
from tests.test_telegram_export import photo

PHONE = "+77019876543"
SALE = "Тут продают: меф, шишки, клады по городу, бот @zakladki_almaty_bot"


def gps_photo(lat: float, lon: float, orientation: int = 1) -> bytes:
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    def dms(value: float) -> tuple:
        value = abs(value)
        d, rest = int(value), (abs(value) - int(value)) * 60
        return (
            IFDRational(d, 1),
            IFDRational(int(rest), 1),
            IFDRational(round((rest - int(rest)) * 60 * 10000), 10000),
        )

    exif = Image.Exif()
    exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo(5))).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def noise(side: int) -> bytes:
    """A PNG of random pixels: it does not compress, so it is big."""
    import os

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


def count(rt: Runtime, table: type) -> int:
    with rt.db.read() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_tickets_are_unguessable_and_forgiving_to_type() -> None:
    codes = {new_ticket() for _ in range(2000)}
    assert len(codes) == 2000
    code = next(iter(codes))
    assert parse_ticket(code.lower().replace("-", " ")) == code
    assert parse_ticket("KZ-0000-1111") is None and parse_ticket("hello") is None


def test_sealed_contacts_open_only_under_their_key() -> None:
    sealed = seal(b"k" * 32, PHONE)
    assert PHONE not in sealed and unseal(b"k" * 32, sealed) == PHONE
    assert seal(b"k" * 32, PHONE) != sealed  # fresh nonce every time
    with pytest.raises(SealError):
        unseal(b"x" * 32, sealed)
    with pytest.raises(SealError):
        unseal(b"k" * 32, sealed[:-4] + "AAAA")


def test_a_tip_is_stored_without_the_reporters_identity(rt: Runtime, tmp_path: Path) -> None:
    receipt = submit(rt, TipInput(channel="whatsapp", user_id=PHONE, contact=PHONE, text=SALE, lang="kk"))
    assert parse_ticket(receipt.ticket) == receipt.ticket and receipt.kind == "online_shop"
    assert receipt.ticket in receipt.message and "Рахмет" in receipt.message
    with rt.db.read() as s:
        tip = s.scalars(select(Tip)).one()
        item = s.get(Item, tip.item_id)
        assert tip.links == ["@zakladki_almaty_bot"] and item.kind == "tip" and item.text == SALE
        assert unseal(contact_key(rt.settings), tip.contact_sealed) == PHONE
        assert verify_chain(s) == []
    database = (
        Path(rt.settings.resolved_database_url.split("///", 1)[1]) if rt.db.dialect == "sqlite" else None
    )
    if database:
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert PHONE.encode() not in raw and b"77019876543" not in raw


def test_photos_keep_the_original_and_a_display_copy_without_exif(rt: Runtime) -> None:
    from PIL import Image

    original = gps_photo(43.238949, 76.889709, orientation=6)
    receipt = submit(rt, TipInput(channel="web", user_id="ip:1", photos=[original]))
    assert receipt.kind == "graffiti" and receipt.has_location
    with rt.db.read() as s:
        tip = s.scalars(select(Tip)).one()
    assert (
        tip.location_source == "exif" and (tip.lat, tip.lon) == (43.239, 76.89)  # ~100 m in the clear
    )
    from shekteu.tips.privacy import exact_location

    lat, lon = exact_location(contact_key(rt.settings), tip.location_sealed, None, None)  # exact, sealed
    assert abs(lat - 43.238949) < 1e-6 and abs(lon - 76.889709) < 1e-6
    (entry,) = tip.photos
    assert rt.store.get_blob(entry["sha256"], contact_key(rt.settings)) == original  # sealed: EXIF and all
    assert original[:4096] not in rt.store.blob_path(entry["sha256"]).with_suffix(".sealed").read_bytes()
    with pytest.raises(OSError, match="sealed"):
        rt.store.get_blob(entry["sha256"])  # not without the key
    assert "display_sha256" not in entry  # made by the tip job, not while the reporter waits
    process_pending(rt, capture=False)
    process_pending(rt, capture=False)
    with rt.db.read() as s:
        (entry,) = s.scalars(select(Tip)).one().photos
    display = Image.open(io.BytesIO(rt.store.get_blob(entry["display_sha256"])))
    assert len(display.getexif()) == 0 and display.size == (240, 320)  # rotated upright, metadata gone
    # A shared location wins over the photo's.
    submit(rt, TipInput(channel="web", user_id="ip:1", photos=[original], lat=51.1, lon=71.4))
    with rt.db.read() as s:
        assert s.scalars(select(Tip).order_by(Tip.id.desc())).first().location_source == "shared"


def _truncated_jpeg() -> bytes:
    from tests.wallphotos import jpeg, wall

    data = jpeg(wall())
    return data[: len(data) // 3]


def _pixel_bomb() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 megapixels in a few kilobytes
    return out.getvalue()


def test_bad_tips_are_refused_with_reasons_and_nothing_is_stored(rt: Runtime, make_runtime) -> None:
    rt = make_runtime(SHEKTEU_TIP_MAX_PHOTO_BYTES="200000")
    cases = [
        (TipInput(channel="web", user_id="a"), "empty report"),
        (TipInput(channel="web", user_id="a", photos=[b"GIF89a not really"]), "photo 1: not an image"),
        (TipInput(channel="web", user_id="a", photos=[noise(500)]), "bytes; at most"),
        # Intake decodes at reduced scale (the display copy is the tip job's): still whole images only.
        (TipInput(channel="web", user_id="a", photos=[_truncated_jpeg()]), "photo 1: broken image"),
        (TipInput(channel="web", user_id="a", photos=[_pixel_bomb()]), "photo 1: image of 8000×8000 pixels"),
        (TipInput(channel="web", user_id="a", text="x", lat=95.0, lon=10.0), "not a location on Earth"),
        (TipInput(channel="web", user_id="a", text="x", lat=45.0), "both latitude and longitude"),
        (TipInput(channel="fax", user_id="a", text="x"), "unknown channel"),
        (TipInput(channel="web", user_id="a", text="x" * 5000), "at most 4000"),
    ]
    for tip, message in cases:
        with pytest.raises(TipError, match=message):
            submit(rt, tip)
    assert count(rt, Tip) == 0 and count(rt, Item) == 0 and count(rt, AuditEntry) == 0


def test_the_rate_limit_is_per_reporter(make_runtime) -> None:
    rt = make_runtime(SHEKTEU_TIP_RATE_LIMIT="3")
    for n in range(3):
        submit(rt, TipInput(channel="telegram", user_id="42", text=f"магазин {n}"))
    with pytest.raises(RateLimited):
        submit(rt, TipInput(channel="telegram", user_id="42", text="ещё"))
    submit(rt, TipInput(channel="telegram", user_id="43", text="другой человек"))
    assert count(rt, Tip) == 4


def test_duplicates_are_linked_and_the_reporter_told(rt: Runtime) -> None:
    first = submit(rt, TipInput(channel="web", user_id="a", text=SALE))
    second = submit(
        rt, TipInput(channel="telegram", user_id="7", contact="7", text=SALE + " (снова)", lang="en")
    )
    other = submit(rt, TipInput(channel="web", user_id="b", text="Подозрительный магазин @another_shop_bot"))
    results = {r.ticket: r for r in process_pending(rt, capture=False)}
    assert results[second.ticket].duplicate_of == first.ticket and results[other.ticket].duplicate_of is None
    assert results[first.ticket].score is not None and results[first.ticket].score > 0.5
    with rt.db.read() as s:
        rows = {r["ticket"]: r for r in list_tips(s)}
        (note,) = s.scalars(select(Notification))
    assert rows[second.ticket]["duplicate_of"] == first.ticket
    assert {"type": "telegram_bot", "normalized": "@zakladki_almaty_bot"} in rows[first.ticket]["indicators"]
    assert "already reported" in note.text and first.ticket in note.text
    assert process_pending(rt) == []  # nothing left to do


def test_graffiti_duplicates_need_the_same_handle_within_30_metres(rt: Runtime) -> None:
    wall = "Надпись на стене: @snow_shop_kz клады"
    first = submit(
        rt, TipInput(channel="web", user_id="a", kind="graffiti", text=wall, lat=43.2389, lon=76.8897)
    )
    near = submit(
        rt, TipInput(channel="web", user_id="b", kind="graffiti", text=wall, lat=43.23905, lon=76.8898)
    )
    far = submit(
        rt, TipInput(channel="web", user_id="c", kind="graffiti", text=wall, lat=43.2420, lon=76.8897)
    )
    assert 10 < metres((43.2389, 76.8897), (43.23905, 76.8898)) < 30
    results = {r.ticket: r.duplicate_of for r in process_pending(rt, capture=False)}
    assert results == {first.ticket: None, near.ticket: first.ticket, far.ticket: None}


def test_status_changes_notify_and_closing_erases_the_contact(rt: Runtime) -> None:
    make_staff(rt)
    receipt = submit(rt, TipInput(channel="telegram", user_id="99", contact="chat:99", text=SALE, lang="ru"))
    with rt.db.write() as s:
        set_status(s, receipt.ticket, "in_review", actor="aliya", reason="triage")
        set_status(
            s, receipt.ticket, "actioned", actor="aliya", reason="bot blocked", public_text="Бот заблокирован"
        )
    with pytest.raises(TipStatusError, match=r"can become"):
        with rt.db.write() as s:
            set_status(s, receipt.ticket, "received", actor="aliya", reason="x")
    sent: list[tuple[str, str]] = []
    flaky = iter([DeliveryError("Telegram said 502"), None])

    def send(address: str, text: str) -> None:
        error = next(flaky, None)
        if error:
            raise error
        sent.append((address, text))

    first = deliver(rt, "telegram", send)
    assert (first.sent, first.failed) == (0, 1)  # the second message waits behind the failed first
    with rt.db.write() as s:
        set_status(s, receipt.ticket, "closed", actor="aliya", reason="done")
        assert s.scalars(select(Tip)).one().contact_sealed is None
    assert deliver(rt, "telegram", send).sent == 3
    assert [a for a, _ in sent] == ["chat:99"] * 3
    assert "на проверке" in sent[0][1] and "Бот заблокирован" in sent[1][1] and "закрыто" in sent[2][1]
    with rt.db.read() as s:
        assert all(n.contact_sealed is None and n.status == "sent" for n in s.scalars(select(Notification)))


def test_cli_tips_list_contract(env: dict[str, str], make_runtime) -> None:
    rt = make_runtime()
    receipt = submit(rt, TipInput(channel="web", user_id="a", text=SALE, lat=43.25, lon=76.9))
    result = run(env, "tips", "list", "--json")
    assert result.returncode == 0, result.stderr
    (row,) = lines(result.stdout)
    assert list(row) == ["ticket", "kind", "channel", "status", "created_at", "lat", "lon", "text", "indicators",
                         "score", "duplicate_of"]  # fmt: skip
    assert row["ticket"] == receipt.ticket and row["lat"] == 43.25
    bad = run(env, "tips", "status", "KZ-2222-2222", "closed", "--reason", "x")
    assert bad.returncode == 2 and "no ticket" in bad.stderr


def test_a_verified_block_tells_its_reporters(rt: Runtime) -> None:
    from shekteu.analysis import analyse_pending
    from shekteu.takedown import lifecycle
    from shekteu.users import add_user

    receipt = submit(rt, TipInput(channel="telegram", user_id="5", contact="5", text=SALE, lang="kk"))
    analyse_pending(rt)
    with rt.db.write() as s:
        add_user(s, "aliya", ["analyst"], actor="test")
        add_user(s, "bolat", ["approver"], actor="test")
        td = lifecycle.propose(
            s, "telegram_bot", "@zakladki_almaty_bot", actor="aliya", reason="from a tip"
        ).takedown
        assert td.shop_id is not None
        lifecycle.approve(s, td.id, actor="bolat", reason="ok")
        lifecycle.mark(s, td.id, "sent", actor="aliya", reason="sent")
        lifecycle.mark(s, td.id, "blocked", actor="aliya", reason="bot gone")
    with rt.db.read() as s:  # one check is not yet a verified block: nobody is told
        assert s.scalars(select(Tip)).one().status == "received"
    with rt.db.write() as s:
        lifecycle.mark(s, td.id, "verified", actor="aliya", reason="gone for a week")
    with rt.db.read() as s:
        tip = s.scalars(select(Tip)).one()
        (note,) = s.scalars(select(Notification))
    assert tip.ticket == receipt.ticket and tip.status == "actioned" and "бұғатталды" in tip.public_status
    assert receipt.ticket in note.text


def test_the_same_photo_sent_twice_is_a_duplicate(rt: Runtime) -> None:
    from tests.test_telegram_export import photo as picture

    first = submit(rt, TipInput(channel="web", user_id="a", photos=[picture(7)], lat=43.2, lon=76.9))
    again = submit(rt, TipInput(channel="web", user_id="b", photos=[picture(7, (640, 480), quality=50)]))
    other = submit(rt, TipInput(channel="web", user_id="c", photos=[picture(2)]))
    results = {r.ticket: r.duplicate_of for r in process_pending(rt, capture=False)}
    assert results == {first.ticket: None, again.ticket: first.ticket, other.ticket: None}


def test_a_later_tip_processed_first_is_found_a_duplicate_when_the_earlier_one_is(rt: Runtime) -> None:
    """Two workers, or a retry, can finish the later of two repeats first: the earlier one, processed
    after it, still marks it (and its reporter hears it was already known)."""
    from shekteu.tips.process import process_tip

    first = submit(rt, TipInput(channel="telegram", user_id="u1", contact="1001",
                                text="Меф, клады. Бот @repeat_shop_bot")).ticket  # fmt: skip
    second = submit(rt, TipInput(channel="telegram", user_id="u2", contact="1002",
                                 text="Тут продают: @repeat_shop_bot")).ticket  # fmt: skip
    with rt.db.read() as s:
        ids = {t.ticket: t.id for t in s.scalars(select(Tip))}
    assert process_tip(rt, ids[second], capture=False).duplicate_of is None  # nothing earlier is known yet
    assert process_tip(rt, ids[first], capture=False).duplicate_of is None
    with rt.db.read() as s:
        assert s.get(Tip, ids[second]).duplicate_of == ids[first]
        told = s.scalars(select(Notification.text).where(Notification.tip_id == ids[second])).all()
    assert any(first in t for t in told)


def test_a_high_score_tip_reaches_the_staff_chat_once_with_no_bot_running(make_runtime) -> None:
    """The staff alert is a queued job (tips/staff_alert.py): sent by any worker in webhook mode too,
    once, and a failed send is retried instead of lost (the bot's pump marked the tip before sending,
    and ran only in a polling bot)."""
    import socket

    from sqlalchemy import update

    from shekteu.db.ops_tables import Job
    from shekteu.queue.worker import drain
    from tests.fake_telegram import TOKEN, FakeBotAPI

    with socket.socket() as sock:  # a port nobody listens on: Telegram unreachable at first
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    chat = {"SHEKTEU_TELEGRAM_TOKEN": TOKEN, "SHEKTEU_TELEGRAM_STAFF_CHAT": "-100777", "SHEKTEU_TIP_ALERT_SCORE": "0.5"}
    down = make_runtime(**chat, SHEKTEU_TELEGRAM_API_BASE=dead)
    ticket = submit(down, TipInput(channel="web", user_id="alerting", text=SALE)).ticket
    calm = submit(down, TipInput(channel="web", user_id="calm", text="Во дворе шумят по ночам")).ticket
    process_pending(down, capture=False)
    drain(down)
    with down.db.read() as s:
        job = s.scalars(select(Job).where(Job.stage == "tip_alert")).one()  # the calm tip queued none
        assert job.state == "failed" and "could not be reached" in job.last_error
        assert s.scalar(select(Tip.staff_alerted_at).where(Tip.ticket == ticket)) is None
    api = FakeBotAPI()
    try:
        up = make_runtime(**chat, SHEKTEU_TELEGRAM_API_BASE=api.base)
        with up.db.write() as s:
            s.execute(update(Job).where(Job.id == job.id).values(run_after=job.created_at))  # due again now
        drain(up)
        drain(up)
        (sent,) = api.wait_sent(1)
        assert str(sent["chat_id"]) == "-100777" and ticket in sent["text"] and calm not in sent["text"]
        assert "@zakladki_almaty_bot" in sent["text"] and "веб-форма" in sent["text"]  # words, not codes
        process_pending(up, capture=False)
        drain(up)
        assert len(api.sent) == 1
    finally:
        api.close()


def test_a_high_score_tip_processed_with_no_alert_job_gets_one_from_the_upkeep(make_runtime) -> None:
    """Tips processed before staff alerts were jobs (the bot's pump would have sent them) had none
    queued: the queue's upkeep queues it, once, for the last week's tips only, and never again for a
    tip whose alert job ended in quarantine."""
    from datetime import timedelta

    from sqlalchemy import delete, update

    from shekteu.db.ops_tables import Job
    from shekteu.db.tables import utcnow
    from shekteu.queue.maintain import maintain_job

    rt = make_runtime(SHEKTEU_TELEGRAM_STAFF_CHAT="-100777", SHEKTEU_TIP_ALERT_SCORE="0.5")
    fresh = submit(rt, TipInput(channel="web", user_id="fresh", text=SALE)).ticket
    old = submit(rt, TipInput(channel="web", user_id="old", text=SALE + " и @second_shop_bot")).ticket
    submit(rt, TipInput(channel="web", user_id="calm", text="Во дворе шумят по ночам"))
    process_pending(rt, capture=False)
    with rt.db.write() as s:  # as an earlier version left them: processed, scored high, no job
        s.execute(delete(Job).where(Job.stage == "tip_alert"))
        s.execute(update(Tip).where(Tip.ticket == old).values(created_at=utcnow() - timedelta(days=8)))
    assert maintain_job(rt, {})["alerts"] == 1
    with rt.db.read() as s:
        (job,) = s.scalars(select(Job).where(Job.stage == "tip_alert")).all()
        assert job.subject == f"tip:{fresh}" and job.state == "pending"
    assert maintain_job(rt, {})["alerts"] == 0  # queued already
    with rt.db.write() as s:
        s.execute(update(Job).where(Job.id == job.id).values(state="quarantined"))
    assert maintain_job(rt, {})["alerts"] == 0  # an alert that could not be sent is for an admin to retry


def test_a_photo_that_cannot_be_read_back_leaves_the_tip_processed_without_a_display_copy(rt: Runtime) -> None:
    """The display copy is the tip job's (intake decodes at reduced scale): an original gone from the
    evidence store must not hold the tip's processing up; the photo keeps its reason."""
    original = gps_photo(43.238949, 76.889709)
    submit(rt, TipInput(channel="web", user_id="gone", photos=[original]))
    with rt.db.read() as s:
        (entry,) = s.scalars(select(Tip)).one().photos
    rt.store.blob_path(entry["sha256"]).with_suffix(".sealed").unlink()
    process_pending(rt, capture=False)
    with rt.db.read() as s:
        tip = s.scalars(select(Tip)).one()
    assert tip.processed_at is not None and tip.process_error is None
    assert "display_sha256" not in tip.photos[0] and tip.photos[0]["display_error"]
