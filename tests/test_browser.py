"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): two analysts' four-eyes
takedown, tip triage with HTMX, a coordinator painting a spot with an after-photo, the marker on the map.
A screenshot of each page is saved under test-artifacts/screenshots/.

Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it and sets
SHEKTEU_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shekteu.db.tables import utcnow
from shekteu.field.registry import store
from tests.dashboard import PASSWORD, Dash, seed, serve
from tests.fieldrasters import square_site
from tests.test_spots import WALL, report
from tests.wallphotos import gps_exif, jpeg, wall

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
if not os.path.exists(CHROMIUM):
    if os.environ.get("SHEKTEU_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]  # fmt: skip
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": flags}


@pytest.fixture
def site(make_runtime, tmp_path: Path) -> Iterator[Dash]:
    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    report(rt, *WALL)  # a graffiti spot with a QR code for a shop bot
    with rt.db.write() as s:  # and a mapped hemp site near it
        store(s, [square_site(WALL[1] + 0.001, WALL[0], 0.001)], actor="test")
    for base in serve(rt):
        yield Dash(rt, base, ticket)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, site: Dash, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.base + "/dash")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.base + "/dash")


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("header form[action='/logout'] button")
    page.wait_for_url("**/login")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_analyst_approver_and_coordinator_in_the_browser(site: Dash, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_extra_http_headers({"Accept-Language": "en"})
    sign_in(page, site, "ann")
    assert (
        page.locator("table.sr tr[data-step=tips] td").inner_text() == "2"
    )  # the shop tip and the wall photo
    shot(page, "overview")

    page.goto(site.base + "/dash/tips")
    row = page.locator(f"#tip-{site.ticket}")
    row.locator("select[name=status]").select_option("in_review")
    row.locator("input[name=reason]").fill("a shop bot, checking")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#tip-{site.ticket}[data-status=in_review]")  # swapped in place by HTMX
    assert page.url.endswith("/dash/tips")
    shot(page, "tips")
    page.goto(site.base + f"/dash/tips/{site.ticket}")
    assert "<script>" in page.locator("pre.text").inner_text()  # shown as text, never run
    shot(page, "tip")

    page.goto(site.base + "/dash/shops")
    shot(page, "shops")
    page.click("#shops tbody tr a")
    form = page.locator("#propose")
    form.locator("select[name=target_type]").select_option("telegram_bot")
    form.locator("input[name=target]").fill("@fe_op_bot")
    form.locator("input[name=reason]").fill("sells mephedrone")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("p.flash.ok")
    assert "proposed" in page.locator("#takedowns").inner_text()
    shot(page, "shop")
    page.goto(site.base + "/dash/takedowns")
    assert page.locator("form[action$='/approve']").count() == 0  # the proposer sees no approve button
    sign_out(page)

    sign_in(page, site, "bob")
    page.goto(site.base + "/dash/takedowns")
    row = page.locator("#takedown-queue tbody tr").first
    row.locator("form[action$='/approve'] input[name=reason]").fill("evidence holds")
    row.locator("form[action$='/approve'] button").click()
    page.wait_for_selector("#takedown-queue tr[data-state=approved]")
    assert "ann" in row.inner_text() and "bob" in row.inner_text()
    shot(page, "takedowns")
    sign_out(page)

    sign_in(page, site, "cora")
    page.goto(site.base + "/dash/board")
    page.click("section[data-status=reported] .card button")
    page.wait_for_selector("section[data-status=verified] .card")
    page.fill("section[data-status=verified] .card input[name=team]", "Volunteers of Almaly")
    page.click("section[data-status=verified] .card button")
    page.wait_for_selector("section[data-status=assigned] .card")
    stamp = (utcnow() + timedelta(hours=6)).strftime("%Y:%m:%d %H:%M:%S")
    after = tmp_path / "after.jpg"
    after.write_bytes(jpeg(wall(seed=3), gps_exif(WALL[0] + 0.0001, WALL[1], taken=stamp, offset="+05:00")))
    page.set_input_files("section[data-status=assigned] .card input[type=file]", str(after))
    page.click("section[data-status=assigned] .card button")
    page.wait_for_selector("p.flash", timeout=60_000)
    assert "painted" in page.locator("p.flash").inner_text(), page.locator("p.flash").inner_text()
    page.wait_for_selector("section[data-status=painted] .card")
    shot(page, "board")

    from sqlalchemy import update

    from shekteu.db.tables import FieldSite

    with site.rt.db.write() as s:  # last season's plot, destroyed, is mapped green again this season
        store(s, [square_site(WALL[1] - 0.02, WALL[0], 0.001, date="2025-07-01")], actor="test")
        gone = s.scalar(update(FieldSite).where(FieldSite.observed_on == "2025-07-01")
                        .values(status="destroyed").returning(FieldSite.id))  # fmt: skip
        store(s, [square_site(WALL[1] - 0.0195, WALL[0], 0.001, date="2026-07-01", hectares_dense=0.4)], actor="test")
    page.goto(site.base + "/dash/map")
    page.wait_for_selector("path.spot-painted", timeout=20_000)
    assert page.locator("#map").get_attribute("data-loaded") == "1"
    page.wait_for_selector("path.district", state="attached")
    page.wait_for_selector("path.field-suspected", state="attached")
    assert page.locator("#map").get_attribute("data-field-loaded") == "3"
    page.wait_for_selector(".place-label", timeout=20_000)  # settlements named on the map
    assert page.locator("#map").get_attribute("data-places-loaded") == "26"
    assert set(page.locator(".place-label").all_inner_texts()) & {"Almaty", "Алматы"}
    west, south, east, north = map(float, page.locator("#map").get_attribute("data-view").split(","))
    assert west <= 46.5 and east >= 87.4 and south <= 40.5 and north >= 55.5  # the whole country in view
    legend = page.locator("#map-legend").inner_text()
    assert "Field sites" in legend or "Очаги" in legend or "Алқап" in legend
    shot(page, "map")
    page.locator("path.field-regrowth").dispatch_event("click")  # the regrown plot, outlined apart
    popup = page.locator(".leaflet-popup-content").inner_text(timeout=10_000)
    assert f"#{gone}" in popup and "0.4 ha" in popup, popup

    page.goto(site.base + "/dash/audit?action=spot.")
    actions = page.locator("#audit tbody tr td:nth-child(4)").all_inner_texts()
    assert actions[:3] == ["spot.painted", "spot.assigned", "spot.verified"]
    assert page.locator("#audit tbody tr td:nth-child(3)").all_inner_texts()[:3] == ["cora"] * 3
    shot(page, "audit")
    page.goto(site.base + "/dash/settings")
    shot(page, "settings")
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_analyst_disputes_a_verdict_in_the_browser(site: Dash, page) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: from a shop to one of its items, the verdict marked wrong, then in the disputed queue."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []  # the page's own requests (the browser's favicon probe is not one)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_extra_http_headers({"Accept-Language": "en"})
    sign_in(page, site, "ann")
    page.goto(site.base + "/dash/shops")
    page.click("#shops tbody tr a")
    page.locator("a[href^='/dash/items/']").first.click()
    page.wait_for_url("**/dash/items/*")
    assert page.locator("#verdict strong").inner_text() in ("sale", "recruit")
    form = page.locator("#correct")
    form.locator("select[name=label]").select_option("other")
    form.locator("input[name=reason]").fill("a test: pretend this is not an ad")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("p.flash.ok")
    assert "ann" in page.locator("#corrections").inner_text()
    shot(page, "item")
    page.goto(site.base + "/dash/verdicts")
    disputed = page.locator("#disputed tbody").inner_text()
    assert "other" in disputed and "ann" in disputed
    shot(page, "verdicts")
    assert failed == [] and not [e for e in errors if "Content Security Policy" in e], (failed, errors)


@pytest.fixture
def sensor_site(make_runtime, tmp_path: Path) -> Iterator[Dash]:
    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    from tests.test_seismic_dashboard import install

    install(rt)
    for base in serve(rt):
        yield Dash(rt, base, ticket)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sensor_map_and_timeline_in_the_browser(sensor_site: Dash, page) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("obspy")
    site = sensor_site
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []  # the page's own requests (the browser's favicon probe is not one)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_extra_http_headers({"Accept-Language": "ru"})
    sign_in(page, site, "ann")
    page.goto(site.base + "/dash/sensors")
    page.wait_for_selector("#map[data-loaded='3']", timeout=20_000)
    page.wait_for_selector("#seismic-alerts[data-polled='1']", timeout=20_000)
    page.wait_for_selector("path.alert-open", state="attached")  # the site's markers turn red
    assert "транспорт" in page.locator("#seismic-alerts").inner_text()
    shot(page, "sensors")
    page.click("#seismic-alerts tbody a")
    page.wait_for_selector("ol.timeline img")
    for _ in range(200):  # the page's CSP forbids wait_for_function's eval: poll the images instead
        widths = page.eval_on_selector_all("ol.timeline img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
        if widths and all(widths):
            break
        page.wait_for_timeout(100)
    assert widths and all(w == 900 for w in widths), widths
    shot(page, "sensor_site")
    assert failed == [] and not [e for e in errors if "Content Security Policy" in e], (failed, errors)


def _served(make_runtime, tmp_path: Path, install) -> Iterator[Dash]:  # type: ignore[no-untyped-def]
    """A seeded dashboard with ``install(rt)`` run on it, served on a local port."""
    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    install(rt)
    for base in serve(rt):
        yield Dash(rt, base, ticket)


@pytest.fixture
def posts_site(make_runtime, tmp_path: Path) -> Iterator[Dash]:
    from tests.test_posts_dashboard import install

    yield from _served(make_runtime, tmp_path, lambda rt: install(rt, tmp_path))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_checkpoint_plan_map_in_the_browser(posts_site: Dash, page) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("shapely")
    site = posts_site
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_extra_http_headers({"Accept-Language": "kk"})
    sign_in(page, site, "ann")
    page.goto(site.base + "/dash/posts")
    page.wait_for_selector("#map[data-loaded='2']", timeout=20_000)
    marks = page.locator(".post-mark")
    assert marks.count() == 2 and sorted(marks.all_inner_texts()) == ["1", "2"]
    assert page.locator("path.flow").count() >= 1
    assert "Бекеттер" in page.locator("h2").first.inner_text()
    shot(page, "posts")
    assert not [f for f in failed if "/favicon" not in f], failed
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.fixture
def stats_site(make_runtime, tmp_path: Path) -> Iterator[Dash]:
    from tests.test_stats_dashboard import install

    yield from _served(make_runtime, tmp_path, install)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_statistics_page_in_the_browser(stats_site: Dash, page) -> None:  # type: ignore[no-untyped-def]
    site = stats_site
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_extra_http_headers({"Accept-Language": "kk"})
    sign_in(page, site, "ann")
    page.goto(site.base + "/dash/stats?measure=drug_offences&by=region")
    assert "Жедел статистика" in page.locator("h1").inner_text()
    assert page.locator("#stats-table tbody tr").count() >= 3
    for _ in range(100):  # the choropleth is drawn on the server: wait for the image, no script needed
        width = page.eval_on_selector("#stats-map", "img => img.complete && img.naturalWidth")
        if width:
            break
        page.wait_for_timeout(100)
    assert width == 1400
    assert "дереккөздер сәйкес емес" in page.locator("#stats-issues").inner_text()
    shot(page, "stats")
    assert not [f for f in failed if "/favicon" not in f], failed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_working_day_triage_needs_you_and_the_field(site: Dash, page, lang: str) -> None:  # type: ignore[no-untyped-def]
    """An analyst in Kazakh, and one in Russian: the overview says what waits, the queue is filtered,
    a bulk change without a reason is refused in her language, two tips are moved together, and the
    field page and the map's field layer show the mapped site."""
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending
    from shekteu.web.i18n import translator

    _ = translator(lang)
    for n, text in enumerate(["Алматыда закладки, бот @kk_demo_one_bot", "Мефедрон сатылады @kk_demo_two_bot"]):
        submit(site.rt, TipInput(channel="web", user_id=f"kk-{n}", text=text, lat=43.25, lon=76.92))
    process_pending(site.rt, capture=False)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []  # the page's own requests (the browser's favicon probe is not one)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_extra_http_headers({"Accept-Language": lang})
    sign_in(page, site, "ann")
    needs = page.locator("#needs-you")
    assert _("What needs you now") != "What needs you now" and _("What needs you now") in needs.inner_text()
    waiting = int(needs.locator("[data-need=tips_to_triage] strong").inner_text())
    assert waiting >= 3
    shot(page, f"{lang}-overview")

    needs.locator("[data-need=tips_to_triage] a").click()
    page.wait_for_url("**/dash/tips?status=received")
    page.fill("#tip-filters input[name=q]", "kk_demo")
    page.click("#tip-filters button[type=submit]")
    page.wait_for_url("**q=*")
    rows = page.locator("#tips tbody tr")
    assert rows.count() == 2 and all("kk_demo" in t for t in rows.all_inner_texts())
    page.check("#tick-all")
    page.select_option("#bulk select[name=status]", "in_review")
    page.evaluate("document.querySelector('#bulk input[name=reason]').removeAttribute('required')")
    page.click("#bulk button[type=submit]")  # no reason: refused, in her language
    page.wait_for_selector("p.flash")
    assert _("a bulk change needs a reason") in page.locator("p.flash").inner_text()
    page.check("#tick-all")
    page.select_option("#bulk select[name=status]", "in_review")
    page.fill("#bulk input[name=reason]", "бірге тексерілді")
    page.click("#bulk button[type=submit]")
    page.wait_for_selector("p.flash")
    moved = _("{n} tips moved to: {status}").format(n=2, status=_("in_review"))
    assert moved in page.locator("p.flash").inner_text()  # in the user's language
    shot(page, f"{lang}-tips-bulk")

    page.goto(site.base + "/dash/field")
    assert _("Hectares per district") in page.locator("h2").all_inner_texts()
    assert page.locator("#field-sites tbody tr[data-status=suspected]").count() == 1
    shot(page, f"{lang}-field")
    page.goto(site.base + "/dash/map")
    page.wait_for_selector("path.field-suspected", state="attached", timeout=20_000)
    page.wait_for_selector(".place-label", timeout=20_000)
    assert "Алматы" in page.locator(".place-label").all_inner_texts()
    shot(page, f"{lang}-map")
    assert failed == [] and not [e for e in errors if "Content Security Policy" in e], (failed, errors)
