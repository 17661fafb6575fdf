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
    assert item.media == ["photos/photo_2.jpg"]
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
