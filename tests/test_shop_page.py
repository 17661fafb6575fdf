"""The shop page as an analyst uses it: the case file and the WACZ one click away (audited), a takedown
proposed straight from an indicator, graph labels shown whole."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import select

from shekteu.capture.web import capture_urls
from shekteu.db.tables import AuditEntry, Takedown
from shekteu.web.i18n import translator
from tests.dashboard import Dash, csrf, dash
from tests.servers import LocalServer, Reply
from tests.test_takedown import SHOP_PAGE

__all__ = ["dash"]


def _shop_with_capture(dash: Dash, web: LocalServer) -> int:
    web.route("/shop", Reply(200, SHOP_PAGE.encode()))
    capture_urls(dash.rt, [web.url("/shop")])
    from shekteu.shops.query import list_shops

    with dash.rt.db.read() as s:
        return next(x["id"] for x in list_shops(s) if x["name"] == "@web_op_bot")


def test_the_case_file_and_the_wacz_download_from_the_shop_page(dash: Dash, web: LocalServer) -> None:
    shop = _shop_with_capture(dash, web)
    ann = dash.login("ann")
    page = ann.get(f"/dash/shops/{shop}").text
    assert f'href="/dash/shops/{shop}/dossier.zip"' in page and f'href="/dash/shops/{shop}/evidence.wacz"' in page
    dossier = ann.get(f"/dash/shops/{shop}/dossier.zip")
    assert dossier.status_code == 200 and dossier.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(dossier.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert "evidence.wacz" in zf.namelist() and manifest["shop_id"] == shop
    wacz = ann.get(f"/dash/shops/{shop}/evidence.wacz")
    assert wacz.status_code == 200 and zipfile.is_zipfile(io.BytesIO(wacz.content))
    with dash.rt.db.read() as s:
        actions = [(a.action, a.actor) for a in s.scalars(select(AuditEntry).where(AuditEntry.target == f"shop:{shop}"))]
    assert ("dossier.export", "ann") in actions and ("evidence.export", "ann") in actions
    assert dash.login("cora").get(f"/dash/shops/{shop}/dossier.zip").status_code == 403
    assert "dossier.zip" not in dash.login("cora").get(f"/dash/shops/{shop}").text


def test_a_takedown_is_proposed_from_an_indicator_in_one_click(dash: Dash, web: LocalServer) -> None:
    shop = _shop_with_capture(dash, web)
    ann = dash.login("ann")
    page = ann.get(f"/dash/shops/{shop}").text
    forms = re.findall(r'<form method="post" action="/dash/shops/\d+/takedown" id="(propose-\d+)" hidden>\s*'
                       r'<input type="hidden" name="csrf" value="[^"]+">'
                       r'<input type="hidden" name="target_type" value="([a-z_]+)">\s*'
                       r'<input type="hidden" name="target" value="([^"]+)">', page)  # fmt: skip
    bot = next(f for f in forms if f[2] == "@web_op_bot")
    assert bot[1] == "telegram_bot" and f'form="{bot[0]}"' in page  # the row's button submits it
    done = ann.post(f"/dash/shops/{shop}/takedown", data={"csrf": csrf(ann, f"/dash/shops/{shop}"), "target_type": bot[1],
                                                        "target": bot[2], "reason": f"identifier of shop {shop}"},
                    follow_redirects=True)  # fmt: skip
    assert done.status_code == 200
    with dash.rt.db.read() as s:
        td = s.scalars(select(Takedown).where(Takedown.target == "@web_op_bot")).one()
        assert td.state == "proposed" and td.shop_id == shop and td.proposed_by == "ann"
    assert "telegram_bot:@web_op_bot</text>" in page and "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t</text>" in page  # whole


def test_the_takedowns_list_names_the_shop_and_shows_dates_checks_and_evidence(dash: Dash, web: LocalServer) -> None:
    from shekteu.takedown import lifecycle

    shop = _shop_with_capture(dash, web)
    with dash.rt.db.write() as s:
        td = lifecycle.propose(s, "telegram_bot", "@web_op_bot", actor="ann", reason="shop bot").takedown
        lifecycle.approve(s, td.id, actor="bob", reason="ok")
        lifecycle.mark(s, td.id, "sent", actor="ann", reason="sent by hand", captures=[1])
    page = dash.login("ann").get("/dash/takedowns").text
    row = page[page.index(f'id="td-{td.id}"'):]
    row = row[: row.index("</tr>")]
    assert f'<a href="/dash/shops/{shop}">@web_op_bot</a>' in row  # the shop by name
    assert "proposed" in row and "sent" in row and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    assert 'href="/dash/captures/1"' in row  # the evidence behind its steps


def test_settings_edit_zones_and_users_with_reasons(dash: Dash, tmp_path) -> None:
    from shekteu.db.tables import User, Zone
    from tests.test_spots import zone_file

    cora, adm = dash.login("cora"), dash.login("adm")
    token = csrf(cora, "/dash/settings")
    with zone_file(tmp_path).open("rb") as fh:
        cora.post("/dash/settings/zones", data={"csrf": token, "kind": "osi", "name_property": "name"},
                  files={"file": ("zones.geojson", fh, "application/geo+json")})  # fmt: skip
    with dash.rt.db.read() as s:
        zone = s.scalars(select(Zone)).one()
    page = cora.get("/dash/settings").text
    assert f'id="zone-{zone.id}"' in page and "ОСИ Абая 10" in page
    done = cora.post(f"/dash/settings/zones/{zone.id}", data={"csrf": token, "name": "ОСИ «Абая 10»",
                                                              "contact": "+7 727 000 00 00", "reason": "their letter"},
                     follow_redirects=True)  # fmt: skip
    assert "ОСИ «Абая 10»" in done.text
    assert "needs a reason" in cora.post(f"/dash/settings/zones/{zone.id}", data={"csrf": token, "name": "x"},
                                         follow_redirects=True).text  # fmt: skip
    token = csrf(adm, "/dash/settings")
    assert adm.post("/dash/settings/users/ann", data={"csrf": token, "do": "roles", "role": ["analyst", "approver"],
                                                      "reason": "acting head"}).status_code == 303  # fmt: skip
    refused = adm.post("/dash/settings/users/adm", data={"csrf": token, "do": "disable", "reason": "x"},
                       follow_redirects=True)  # fmt: skip
    assert "cannot disable yourself" in refused.text
    demote = {"csrf": token, "do": "roles", "role": ["analyst"], "reason": "x"}
    assert "last active admin" in adm.post("/dash/settings/users/adm", data=demote, follow_redirects=True).text
    bob = dash.login("bob")
    gone = {"csrf": token, "do": "disable", "reason": "left the unit"}
    assert adm.post("/dash/settings/users/bob", data=gone).status_code == 303
    assert bob.get("/dash", follow_redirects=False).status_code in (302, 303, 401)  # signed out at once
    with dash.rt.db.read() as s:
        assert s.scalars(select(User).where(User.name == "ann")).one().roles == ["analyst", "approver"]
        assert s.scalars(select(User).where(User.name == "bob")).one().disabled
        actions = {(a.action, a.reason) for a in s.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ("zone.edit", "user.roles", "user.disable"))))}  # fmt: skip
    assert actions == {("zone.edit", "their letter"), ("user.roles", "acting head"), ("user.disable", "left the unit")}
    assert 'action="/dash/settings/users/ann"' not in cora.get("/dash/settings").text  # coordinators manage no users


def test_the_field_page_shows_hectares_per_district_and_status_changes(make_runtime) -> None:
    from shekteu.demo.load import load
    from tests.dashboard import serve

    rt = make_runtime()
    summary = load(rt)
    for base in serve(rt):
        dash = Dash(rt, base, "")
        analyst = dash.login("demo-analyst", summary.users["demo-analyst"])
        page = analyst.get("/dash/field").text
        assert 'id="field-districts"' in page and 'id="field-sites"' in page and 'href="/dash/field"' in page
        rows = re.findall(r'<tr id="site-(\d+)" data-status="(\w+)">', page)
        assert len(rows) == 5 and {s for _, s in rows} == {"suspected", "confirmed", "destroyed", "dismissed"}
        suspected = next(i for i, st in rows if st == "suspected")
        token = csrf(analyst, "/dash/field")
        moved = analyst.post(f"/dash/field/sites/{suspected}/confirmed", data={"csrf": token, "reason": "drone flight 12"},
                             follow_redirects=True, headers={"Accept-Language": "kk"})  # fmt: skip
        confirmed = translator("kk")("confirmed")
        assert f"{suspected} учаске: {confirmed}" in moved.text and confirmed != "confirmed"  # the flash in Kazakh
        changes = moved.text[moved.text.index('id="field-changes"'):]
        assert "drone flight 12" in changes and "demo-analyst" in changes
        ru = analyst.get("/dash/field", headers={"Accept-Language": "ru"}).text
        assert ("Гектары по районам" in ru and "Жамбыл" in ru) or "Шу" in ru or "район" in ru.lower()
        assert "снова зеленеет" not in ru
        from shekteu.field.registry import list_sites, site_feature, store

        with rt.db.write() as s:  # the next season's pass maps the destroyed plot green again
            (gone,) = list_sites(s, status="destroyed")
            again = site_feature(gone)
            again["properties"] |= {"date": "2027-07-01", "hectares_dense": 1.5, "hectares_sparse": 0.5}
            assert store(s, [again], actor="demo-analyst") == (1, 0)
        ru = analyst.get("/dash/field", headers={"Accept-Language": "ru"}).text
        assert f'снова зеленеет на уничтоженном участке <a href="#site-{gone.id}">#{gone.id}</a>' in ru
        assert "густые 1.5 · редкие 0.5" in ru


def test_the_board_names_its_columns_flags_overdue_and_shows_after_photos(dash: Dash) -> None:
    from datetime import timedelta

    from shekteu.db.tables import Spot, utcnow
    from shekteu.street import spots
    from tests.test_spots import WALL, after_photo, report
    from tests.wallphotos import gps_exif, jpeg, wall

    report(dash.rt, *WALL)
    report(dash.rt, WALL[0] + 0.01, WALL[1], payload=None, user="b")
    data = jpeg(wall(seed=3), gps_exif(*WALL, taken=(utcnow() + timedelta(hours=5)).strftime("%Y:%m:%d %H:%M:%S"),
                                       offset="+05:00"))  # fmt: skip
    with dash.rt.db.write() as s:
        first, second = [x.id for x in s.scalars(select(Spot).order_by(Spot.id))]
        for sid in (first, second):
            spots.verify(s, sid, actor="cora", reason="seen")
            spots.assign(s, sid, actor="cora", reason="crew", team="crew A", days=1)
        after = after_photo(*WALL)
        after["sha256"] = dash.rt.store.put_blob(data)
        spots.paint(s, first, after, actor="cora", reason="done")
        s.get(Spot, second).due_at = utcnow() - timedelta(days=1)
    cora = dash.login("cora")
    page = cora.get("/dash/board", headers={"Accept-Language": "ru"}).text
    assert "Сообщили жители" in page and "У команды на закраску" in page and "Подтверждено: чисто" in page
    assert re.search(rf'class="card overdue" id="spot-{second}"', page)
    assert f'src="/dash/spots/{first}/after.jpg"' in page
    shown = cora.get(f"/dash/spots/{first}/after.jpg")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg" and shown.content[:2] == b"\xff\xd8"
    assert cora.get(f"/dash/spots/{second}/after.jpg").status_code == 404


def test_the_dossier_pdf_quotes_the_ads_lists_capture_hashes_numbers_pages_and_speaks_kazakh(
    dash: Dash, web: LocalServer
) -> None:
    from pypdf import PdfReader

    from shekteu.dossier.build import build_dossier
    from shekteu.shops.query import list_shops

    def pdf_text(path) -> tuple[str, int]:
        with zipfile.ZipFile(path) as zf:
            reader = PdfReader(io.BytesIO(zf.read("summary.pdf")))
            return " ".join(" ".join(p.extract_text().split()) for p in reader.pages), len(reader.pages)

    with dash.rt.db.read() as s:
        imported = next(x["id"] for x in list_shops(s) if x["name"] == "@fe_op_bot")  # from an export: no captures
    build_dossier(dash.rt, imported, dash.rt.settings.data_dir / "a.zip")
    text, pages = pdf_text(dash.rt.settings.data_dir / "a.zip")
    assert "нет сохранённых страниц" in text and "Тексты объявлений" in text and "@fe_op_bot" in text
    assert f"1/{pages}" in text  # numbered pages
    shop = _shop_with_capture(dash, web)
    build_dossier(dash.rt, shop, dash.rt.settings.data_dir / "b.zip", lang="kk")
    text, _ = pdf_text(dash.rt.settings.data_dir / "b.zip")
    with dash.rt.db.read() as s:
        from shekteu.db.tables import Capture

        digest = s.scalars(select(Capture.sha256)).first()
    assert "Есірткі интернет-дүкені бойынша досье" in text and "Сақталған беттер" in text
    assert digest[:32] in text.replace(" ", "") and "сохранённых" not in text
