"""Hostile files: Telegram exports, zone files, photos given to the CLI. Each is a clear one-line
error (or a clean import), never a traceback, and a bad file writes nothing half-done."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shekteu.capture.telegram_export import import_export
from shekteu.db.tables import Item, Zone
from shekteu.geo.geojson import BoundaryError
from shekteu.runtime import Runtime
from shekteu.street.zones import import_zones
from tests.test_cli import lines, run
from tests.test_shops import live_shops, sale
from tests.test_telegram_export import export, message, write

DEEP = "[" * 200_000 + "]" * 200_000


def test_hostile_exports_import_what_they_can_and_never_crash(rt: Runtime, tmp_path: Path) -> None:
    cases = {
        "big_unixtime": [message(1, date_unixtime="99999999999999999999"), message(2)],
        "huge_id": [message(2**63), message(2**64 + 5), message(3)],
        "nul_text": [message(4, text="клады\u0000 в наличии"), message(5, text=["a\u0000", {"type": "bold", "text": "b"}])],
        "nul_photo": [message(6, photo="photos/\u0000evil.jpg"), message(7, photo="\ud800.jpg")],
        "surrogate": [message(8, text="\ud800 меф \udfff"),
                      message(9, text=[{"type": "text_link", "text": "x", "href": "\ud83d"}])],
    }  # fmt: skip
    for name, messages in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(export(messages)))  # escaped, as JSON carries lone surrogates
        summary = import_export(rt, path, channel="hostile_shop")
        assert summary.items + summary.skipped == len(messages), name
    with rt.db.read() as s:
        texts = dict(s.execute(select(Item.post_id, Item.text)).all())
        dates = dict(s.execute(select(Item.post_id, Item.published_at)).all())
    assert texts[4] == "клады в наличии" and texts[8] == "\ufffd меф \ufffd"
    assert dates[1] is not None and dates[1].isoformat() == "2026-03-01T10:00:00+00:00"  # "date" stands in
    assert 2**63 not in texts and 3 in texts


def test_exports_that_are_not_exports_are_one_line_errors(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "list.json").write_text(json.dumps([1, 2, 3]))
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    for name, expected in (("deep", "nested too deeply"), ("list", "not a Telegram Desktop export"),
                           ("bin", "not UTF-8")):  # fmt: skip
        done = run(env, "import", "telegram-export", str(tmp_path / f"{name}.json"))
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_channel_known_only_by_its_id_is_one_shop(rt: Runtime, tmp_path: Path) -> None:
    posts = [message(1, text=sale("@first_kz_bot")), message(2, text=sale("@second_kz_bot"))]
    import_export(rt, write(tmp_path, export(posts)))  # no --channel: posts are keyed c/<id>
    shops = live_shops(rt)
    assert len(shops) == 1, shops
    kinds = {i["type"] for i in shops[0]["indicators"]}
    assert {"telegram_chat", "telegram_bot"} <= kinds


def _zone_file(tmp_path: Path, name: str, data: str | dict) -> Path:
    path = tmp_path / f"{name}.geojson"
    path.write_text(data if isinstance(data, str) else json.dumps(data, allow_nan=True))
    return path


def _square(value: float) -> dict:
    ring = [[76.9, 43.2], [value, 43.2], [76.91, 43.21], [76.9, 43.21], [76.9, 43.2]]
    return {"type": "Feature", "properties": {"name": "ОСИ"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


ZONE_CASES = {
    "list_feature": ({"type": "FeatureCollection", "features": [[1, 2]]}, "not an object"),
    "string_feature": ({"type": "FeatureCollection", "features": ["x"]}, "not an object"),
    "geometry_list": ({"type": "FeatureCollection", "features": [{"geometry": [1]}]}, "not a polygon"),
    "deep": ('{"type": "FeatureCollection", "features": ' + DEEP + "}", "nested too deeply"),
    "nan": ({"type": "FeatureCollection", "features": [_square(float("nan"))]}, "not a number GeoJSON allows"),
    "infinity": ({"type": "FeatureCollection", "features": [_square(float("inf"))]}, "not a number GeoJSON allows"),
    "off_globe": ({"type": "FeatureCollection", "features": [_square(500.0)]}, "off the globe"),
    "strings": ({"type": "FeatureCollection", "features": [_square(0) | {"geometry": {"type": "Polygon",
                 "coordinates": [[["a", "b"]] * 4]}}]}, "not numbers"),
}


def test_hostile_zone_files_are_clear_errors_and_store_nothing(rt: Runtime, tmp_path: Path) -> None:
    for name, (data, expected) in ZONE_CASES.items():
        with rt.db.write() as s, pytest.raises(BoundaryError, match=expected):
            import_zones(s, _zone_file(tmp_path, name, data), kind="osi", name_property="name", actor="cli:test")
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Zone)) == 0


def test_the_zones_command_names_the_problem(env: dict[str, str], tmp_path: Path) -> None:
    for name in ("list_feature", "deep", "nan"):
        data, expected = ZONE_CASES[name]
        done = run(env, "zones", "import", str(_zone_file(tmp_path, name, data)), "--kind", "ksk")
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_photo_command_gives_every_file_its_line(env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("zxingcpp")
    from PIL import Image

    files = []
    for name, size, fmt in (("flat.jpg", (800, 600), "JPEG"), ("one.webp", (1, 1), "WEBP"),
                            ("one.png", (1, 1), "PNG"), ("line.png", (40, 1), "PNG")):  # fmt: skip
        buf = io.BytesIO()
        Image.new("RGB", size, (90, 90, 90)).save(buf, fmt)
        (tmp_path / name).write_bytes(buf.getvalue())
        files.append(tmp_path / name)
    (tmp_path / "evil.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    files.append(tmp_path / "evil.eps")
    done = run(env, "photo", *map(str, files), "--json", "--no-ocr")
    assert "Traceback" not in done.stderr, done.stderr
    rows = lines(done.stdout)
    assert [Path(r["file"]).name for r in rows] == [f.name for f in files]
    assert all(r["error"] is None for r in rows[:4]), rows
    assert "accepted format" in rows[4]["error"]
