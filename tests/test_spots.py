"""Graffiti spots: tips feed them, zones and districts route them, after-photos prove the painting."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select, update

from shekteu.db.tables import Spot, utcnow
from shekteu.runtime import Runtime
from shekteu.street import spots
from shekteu.street.exports import hotspots, render
from shekteu.street.photo import analyse_bytes
from shekteu.street.zones import import_zones
from shekteu.tips.intake import TipInput, submit
from shekteu.tips.process import process_pending
from tests.people import make_staff
from tests.test_cli import lines, run
from tests.wallphotos import gps_exif, jpeg, qr_on_wall, wall

WALL = (43.238949, 76.889709)  # Almaty, Almaly district
QR = "https://t.me/snow_almaty_bot"


def zone_file(tmp_path: Path) -> Path:
    lat, lon = WALL
    square = [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01],
              [lon - 0.01, lat - 0.01]]  # fmt: skip
    feature = {"type": "Feature", "properties": {"name": "ОСИ Абая 10"},
               "geometry": {"type": "Polygon", "coordinates": [square]}}  # fmt: skip
    data = {"type": "FeatureCollection", "features": [feature]}
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def report(rt: Runtime, lat: float, lon: float, payload: str | None = QR, user: str = "a") -> None:
    image = qr_on_wall(payload) if payload else wall()
    submit(
        rt, TipInput(channel="web", user_id=user, kind="graffiti", photos=[jpeg(image, gps_exif(lat, lon))])
    )
    process_pending(rt, capture=False)


def after_photo(lat: float, lon: float, *, payload: str | None = None, taken: str | None = None) -> dict:
    stamp = taken or (utcnow() + timedelta(hours=5)).strftime("%Y:%m:%d %H:%M:%S")
    image = qr_on_wall(payload) if payload else wall(seed=3)
    return analyse_bytes(
        "after.jpg", jpeg(image, gps_exif(lat, lon, taken=stamp, offset="+05:00")), run_ocr=False
    ).as_json()


def all_spots(rt: Runtime) -> list[dict]:
    with rt.db.read() as s:
        return spots.list_spots(s)


def test_tips_make_spots_in_their_zone_and_district_and_join_by_handle(rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    with rt.db.write() as s:
        import_zones(s, zone_file(tmp_path), kind="osi", name_property="name", actor="coord")
    report(rt, *WALL)
    (spot,) = all_spots(rt)
    assert spot["zone"] == "ОСИ Абая 10" and spot["kato"] == "751110000" and spot["district"] == "Алмалинский"
    assert "@snow_almaty_bot" in spot["indicators"]
    report(rt, WALL[0] + 0.0001, WALL[1] + 0.0001, user="b")  # ~14 m away, same QR: the same spot
    report(rt, WALL[0] + 0.002, WALL[1], user="c")  # ~220 m away: a new spot
    rows = all_spots(rt)
    assert [r["reports"] for r in rows] == [2, 1]


def test_the_lifecycle_needs_a_real_after_photo_and_a_new_report_reopens(rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    with rt.db.write() as s:
        import_zones(s, zone_file(tmp_path), kind="osi", name_property="name", actor="coord")
    report(rt, *WALL)
    spot_id = all_spots(rt)[0]["id"]
    with rt.db.write() as s:
        with pytest.raises(spots.SpotError, match="can become verified"):
            spots.assign(s, spot_id, actor="coord", reason="x")
        spots.verify(s, spot_id, actor="coord", reason="drug ad")
        assert spots.assign(s, spot_id, actor="coord", reason="to the OSI").assigned_to == "ОСИ Абая 10"
    refusals = [
        (after_photo(WALL[0] + 0.001, WALL[1]), "m from the spot"),
        (after_photo(*WALL, payload=QR), "can still be read"),
        (after_photo(*WALL, taken="2020:01:01 10:00:00"), "not after the report"),
    ]
    for photo, message in refusals:
        with pytest.raises(spots.SpotError, match=message), rt.db.write() as s:
            spots.paint(s, spot_id, photo, actor="volunteer", reason="done")
    with rt.db.write() as s:
        spots.paint(s, spot_id, after_photo(*WALL), actor="volunteer", reason="painted over")
        spots.confirm(s, spot_id, actor="coord", reason="checked the photo")
    assert all_spots(rt)[0]["status"] == "confirmed"
    report(rt, *WALL, user="z")  # the ad is back
    (row,) = all_spots(rt)
    assert (row["status"], row["reopened"], row["reports"]) == ("reported", 1, 2)


def test_overdue_exports_and_hotspots(rt: Runtime) -> None:
    make_staff(rt)
    report(rt, *WALL)
    report(rt, WALL[0] + 0.01, WALL[1], user="b")
    ids = [r["id"] for r in all_spots(rt)]
    with rt.db.write() as s:
        spots.verify(s, ids[0], actor="aliya", reason="x")
        spots.assign(s, ids[0], actor="aliya", reason="x", team="Volunteers Almaly", days=3)
        s.execute(update(Spot).where(Spot.id == ids[0]).values(due_at=utcnow() - timedelta(days=1)))
    with rt.db.read() as s:
        overdue = spots.list_spots(s, overdue=True)
        public = spots.list_spots(s, public=True)
    assert [r["id"] for r in overdue] == [ids[0]]
    assert public[0]["lat"] == round(WALL[0], 3) and "assigned_to" not in public[0]
    collection = json.loads(render(public, "geojson"))
    assert collection["features"][0]["geometry"]["coordinates"] == [round(WALL[1], 3), round(WALL[0], 3)]
    kml = ET.fromstring(render(public, "kml"))
    assert len(kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")) == 2
    assert render(public, "csv").splitlines()[0].startswith("id,lat,lon,status")
    cells = hotspots(all_spots(rt), 7)
    assert sum(c["spots"] for c in cells) == 2


def test_cli_spots(env: dict[str, str], make_runtime, tmp_path: Path) -> None:
    rt = make_runtime()
    report(rt, *WALL)
    rows = lines(run(env, "spots", "list", "--json").stdout)
    assert len(rows) == 1 and rows[0]["status"] == "reported"
    bad = run(env, "spots", "verify", "99", "--reason", "x")
    assert bad.returncode == 2 and "no spot with id 99" in bad.stderr
    bad_zone = tmp_path / "bad.geojson"
    bad_zone.write_text(
        '{"type": "FeatureCollection", "features": [{"geometry": {"type": "Point", "coordinates": [1, 2]}}]}'
    )
    result = run(env, "zones", "import", str(bad_zone), "--kind", "ksk")
    assert result.returncode == 2 and "not a polygon" in result.stderr
    exported = run(env, "spots", "export", "--format", "kml", "--public")
    assert exported.returncode == 0 and "<Placemark>" in exported.stdout
    with rt.db.read() as s:
        assert s.scalars(select(Spot)).one().status == "reported"
