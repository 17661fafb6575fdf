"""Telegram Desktop export import: formats, text entities, idempotence, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from shekteu.capture.telegram_export import ExportError, flatten_text, import_export
from shekteu.db.tables import Item
from shekteu.runtime import Runtime


def export(messages: list[dict], **chat: object) -> dict:
    return {"name": "Снежок", "type": "public_channel", "id": 1234567890, "messages": messages, **chat}


def message(i: int, text: object = "клады в наличии", **extra: object) -> dict:
    return {
        "id": i,
        "type": "message",
        "date": "2026-03-01T10:00:00",
        "date_unixtime": str(1772359200 + i),
        "from": "Снежок",
        "text": text,
        **extra,
    }


def write(tmp_path: Path, data: object, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_it_imports_posts_and_keeps_text_link_urls(rt: Runtime, tmp_path: Path) -> None:
    text = [
        "Заказ через ",
        {"type": "text_link", "text": "бота", "href": "https://t.me/sneg_bot"},
        ", сайт ",
        {"type": "link", "text": "https://sneg.example"},
        " ",
        {"type": "bold", "text": "24/7"},
    ]
    msgs = [
        message(1),
        message(2, text, photo="photos/photo_2.jpg"),
        {"id": 3, "type": "service", "action": "pin"},
    ]
    summary = import_export(rt, write(tmp_path, export(msgs)), channel="@SnegShop")
    assert summary.as_json() | {"flagged": None} == {
        "items": 2,
        "new": 2,
        "duplicates": 0,
        "skipped": 0,
        "flagged": None,
    }
    with rt.db.read() as s:
        item = s.scalars(select(Item).where(Item.key == "snegshop/2")).one()
    assert item.url == "https://t.me/snegshop/2"
    assert item.text == "Заказ через бота, сайт https://sneg.example 24/7"
    assert item.links == ["https://t.me/sneg_bot", "https://sneg.example"]
    assert item.media == [
        {"path": "photos/photo_2.jpg", "sha256": None, "error": "file missing from the export"}
    ]
    assert item.published_at is not None and item.published_at.timestamp() == 1772359202


def test_without_a_channel_name_posts_use_private_links(rt: Runtime, tmp_path: Path) -> None:
    import_export(rt, write(tmp_path, export([message(7)])))
    with rt.db.read() as s:
        item = s.scalars(select(Item)).one()
    assert (item.channel, item.url) == ("c/1234567890", "https://t.me/c/1234567890/7")


def test_a_rerun_and_a_resumed_run_duplicate_nothing(rt: Runtime, tmp_path: Path) -> None:
    msgs = [message(i) for i in range(1, 1201)]
    partial = write(tmp_path, export(msgs[:700]), "partial.json")  # as if the first run was cut short
    full = write(tmp_path, export(msgs))
    first = import_export(rt, partial, channel="snegshop")
    second = import_export(rt, full, channel="snegshop")
    third = import_export(rt, full, channel="snegshop")
    assert (first.new, second.new, second.duplicates) == (700, 500, 700)
    assert third.as_json() == {"items": 1200, "new": 0, "duplicates": 1200, "skipped": 0, "flagged": 0}


def test_a_full_account_export_is_read_chat_by_chat(rt: Runtime, tmp_path: Path) -> None:
    data = {"chats": {"list": [export([message(1)], id=11), export([message(1), message(2)], id=22)]}}
    summary = import_export(rt, write(tmp_path, data))
    assert summary.new == 3


def test_malformed_messages_are_skipped_and_counted(rt: Runtime, tmp_path: Path) -> None:
    msgs = [message(1), {"type": "message", "text": "no id"}, message(0), "junk", message(2, text={"odd": 1})]
    summary = import_export(rt, write(tmp_path, export(msgs)), channel="snegshop")
    assert (summary.new, summary.skipped) == (2, 2)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"messages": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"name": "x"}', "not a Telegram Desktop export"),
        (b"[1, 2, 3]", "not a Telegram Desktop export"),
    ],
)
def test_bad_files_fail_with_a_clear_reason_and_write_nothing(
    rt: Runtime, tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ExportError, match=fragment):
        import_export(rt, path)
    with rt.db.read() as s:
        assert s.scalars(select(Item)).first() is None


def test_a_folder_is_read_as_its_result_json(rt: Runtime, tmp_path: Path) -> None:
    write(tmp_path, export([message(1)]))
    assert import_export(rt, tmp_path, channel="snegshop").new == 1
    with pytest.raises(ExportError, match="cannot read"):
        import_export(rt, tmp_path / "missing")


def test_flatten_text_handles_every_shape() -> None:
    assert flatten_text("plain") == ("plain", [])
    assert flatten_text(None) == ("", [])
    assert flatten_text(["a", {"type": "mention", "text": "@x"}, 5]) == ("a@x", [])


def photo(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "JPEG", quality: int = 90) -> bytes:
    """A real picture: bands and a disc that differ by seed; re-encoding keeps its perceptual hash."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (30 * seed % 255, 80, 140))
    draw = ImageDraw.Draw(image)
    for k in range(6):
        draw.rectangle([k * 53, (seed * 37 + k * 41) % 200, k * 53 + 40, 240], fill=(200, 40 * k % 255, 90))
    draw.ellipse([60 + seed * 13 % 100, 40, 200, 180], fill=(250, 250, 250))
    buf = io.BytesIO()
    image.resize(size).save(buf, fmt, quality=quality)
    return buf.getvalue()


def test_media_files_go_to_the_evidence_store_safely(rt: Runtime, tmp_path: Path) -> None:
    import hashlib
    import struct
    import zlib

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(photo(1))
    (tmp_path / "photos" / "fake.jpg").write_bytes(b"not a picture at all")

    # A PNG whose header claims 100000 x 100000 pixels: refused before decoding.
    def png_chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def bomb(side: int) -> bytes:
        header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
        body = (
            png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b"")
        )
        return b"\x89PNG\r\n\x1a\n" + body

    (tmp_path / "photos" / "big.png").write_bytes(bomb(8_000))  # 64 Mpx: over our limit, under Pillow's
    (tmp_path / "photos" / "bomb.png").write_bytes(bomb(100_000))
    (tmp_path.parent / "secret.jpg").write_bytes(b"outside")
    msgs = [
        message(1, photo="photos/a.jpg"),
        message(2, photo="photos/fake.jpg"),
        message(3, photo="photos/bomb.png"),
        message(4, photo="../secret.jpg"),
        message(5, photo="(File not included. Change data exporting settings to download.)"),
        message(6, photo="photos/big.png"),
    ]
    import_export(rt, write(tmp_path, export(msgs)), channel="media_shop")
    with rt.db.read() as s:
        media = {i.post_id: i.media[0] for i in s.scalars(select(Item))}
    good = media[1]
    assert good["sha256"] == hashlib.sha256(photo(1)).hexdigest() and len(good["dhash"]) == 16
    assert rt.store.get_blob(good["sha256"]) == photo(1)
    assert media[2]["error"].startswith("not an image in an accepted format") and media[2]["sha256"]  # kept as evidence
    assert "decompression bomb refused" in media[3]["error"] and "pixel limit" in media[6]["error"]
    assert media[4] == {"path": "../secret.jpg", "sha256": None, "error": "path leaves the export folder"}
    assert media[5]["error"] == "not included in the export"


def test_each_imported_batch_leaves_its_own_audit_entry(rt: Runtime, tmp_path: Path) -> None:
    from shekteu.capture.telegram_export import BATCH
    from shekteu.db.tables import AuditEntry

    path = write(tmp_path, export([message(i, f"пост номер {i}") for i in range(1, BATCH + 2)]))
    import_export(rt, path, channel="snow_shop")
    with rt.db.read() as s:
        batches = [e.detail for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "telegram.import_batch")
                                               .order_by(AuditEntry.id))]  # fmt: skip
    assert [(b["items"], b["new"]) for b in batches] == [(BATCH, BATCH), (1, 1)]
    assert batches[0]["item_ids"][1] < batches[1]["item_ids"][0]
