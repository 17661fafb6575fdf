"""What the page looked like: requisites stored with the page, and a screenshot Chromium draws from the
captured records alone — a hostile page's own requests never leave the machine."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from shekteu.capture.requisites import MAX_REQUISITES
from shekteu.capture.screenshot import chromium
from shekteu.capture.web import capture_urls
from shekteu.db.tables import AuditEntry, Capture
from shekteu.evidence import timestamps
from shekteu.evidence.store import REQUISITE_HEADER
from shekteu.evidence.verify import verify_path
from shekteu.evidence.wacz import build as build_wacz
from shekteu.evidence.wacz import select_captures
from shekteu.queue.worker import drain
from shekteu.runtime import Runtime
from shekteu.settings import load_settings
from tests.servers import LocalServer, Reply
from tests.tsa import LocalTSA

if chromium() is None:
    if os.environ.get("SHEKTEU_REQUIRE_BROWSER"):
        raise RuntimeError("Chromium or Playwright is missing: apt-get install chromium; pip install playwright")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (4, 4)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def hostile_page(web: LocalServer, web2: LocalServer, background: str = "#ffdddd") -> None:
    """A page whose look comes from its style sheet and image, and which tries every way of reaching
    another server: images, frames, scripts, imports, prefetch, refresh, CSS backgrounds."""
    other = web2.url
    web.route("/style.css", Reply(200, f"@import '{other('/import.css')}'; body{{background:{background}}} "
                                       f".bg{{background:url({other('/bg.png')})}}".encode(),
                                  {"Content-Type": "text/css"}))  # fmt: skip
    web.route("/logo.png", Reply(200, _png((200, 0, 0), (200, 100)), {"Content-Type": "image/png"}))
    html = f"""<!doctype html><html><head><title>Клады 24/7</title>
<link rel="stylesheet" href="/style.css"><link rel="prefetch" href="{other('/prefetch')}">
<link rel="dns-prefetch" href="//leak.example"><meta http-equiv="refresh" content="0;url={other('/refresh')}">
</head><body><h1>Клады 24/7</h1><img id="logo" src="/logo.png" width="200" height="100">
<img src="{other('/pixel.gif')}"><iframe src="{other('/frame')}"></iframe><div class="bg">x</div>
<script>fetch("{other('/js')}"); new Image().src = "{other('/js-img')}";</script>
<video poster="{other('/poster.jpg')}"></video></body></html>"""
    web.route("/page", Reply(200, html.encode()))


def test_the_screenshot_is_drawn_from_the_capture_and_nothing_leaves(rt: Runtime, web: LocalServer,
                                                                     web2: LocalServer) -> None:  # fmt: skip
    hostile_page(web, web2)
    (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=True)
    assert outcome.error is None
    assert web2.hits == []  # neither the requisite fetcher (not allowed) nor the browser (answered from records)
    with rt.db.read() as s:
        c = s.get(Capture, outcome.id)
        assert c.requisites == 2 and c.screenshot_sha256
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"capture:{c.id}")))
        assert {"capture.create", "capture.screenshot"} <= actions
        shot = rt.store.get_blob(c.screenshot_sha256)
        warc_path, offset = rt.settings.data_dir / c.warc_file, c.warc_offset
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    assert image.size == (1280, 1600)
    assert image.getpixel((1000, 1000)) == (255, 221, 221)  # the captured style sheet's background
    assert any(image.getpixel((x, y)) == (200, 0, 0) for x in range(0, 300, 5) for y in range(0, 300, 5))  # the logo
    with open(warc_path, "rb") as fh:
        fh.seek(offset)
        kinds = []
        for record in ArchiveIterator(fh):
            kinds.append((record.rec_type, record.rec_headers.get_header(REQUISITE_HEADER) is not None,
                          record.rec_headers.get_header("WARC-Target-URI")))  # fmt: skip
    assert kinds[:3] == [("response", False, web.url("/page")), ("request", False, web.url("/page")),
                         ("metadata", False, web.url("/page"))]  # fmt: skip
    assert {(k, u) for k, marked, u in kinds[3:7] if marked} == {("response", web.url("/style.css")),
                                                                ("response", web.url("/logo.png"))}  # fmt: skip
    assert ("resource", False, f"urn:screenshot:{web.url('/page')}") in kinds


def test_a_page_changed_after_capture_still_draws_as_captured(rt: Runtime, web: LocalServer, web2: LocalServer) -> None:
    hostile_page(web, web2)
    (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=True, wait=False)
    hostile_page(web, web2, background="#0000ff")  # the shop changes its site before the screenshot job runs
    hits = len(web.hits)
    drain(rt)
    assert len(web.hits) == hits  # rendering asked the live server nothing
    with rt.db.read() as s:
        c = s.get(Capture, outcome.id)
        image = Image.open(io.BytesIO(rt.store.get_blob(c.screenshot_sha256))).convert("RGB")
    assert image.getpixel((1000, 1000)) == (255, 221, 221)


def test_requisites_stay_within_their_limits(rt: Runtime, web: LocalServer) -> None:
    images = "".join(f'<img src="/i{n}.png">' for n in range(MAX_REQUISITES + 30))
    for n in range(MAX_REQUISITES + 30):
        web.route(f"/i{n}.png", Reply(200, _png((n, 0, 0)), {"Content-Type": "image/png"}))
    web.route("/big.png", Reply(200, b"\x89PNG" + b"0" * 5_000_000, {"Content-Type": "image/png"}))
    web.route("/page", Reply(200, f'<html><body><img src="/big.png">{images}</body></html>'.encode()))
    (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=True)
    with rt.db.read() as s:
        c = s.get(Capture, outcome.id)
        assert c.requisites == MAX_REQUISITES and c.screenshot_sha256
        path, offset = rt.settings.data_dir / c.warc_file, c.warc_offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        sizes = {r.rec_headers.get_header("WARC-Target-URI"): len(r.content_stream().read())
                 for r in ArchiveIterator(fh) if r.rec_type == "response"}  # fmt: skip
    assert sizes[web.url("/big.png")] == 3_000_000  # cut at the per-requisite limit, marked truncated


def test_screenshots_travel_in_wacz_and_timestamps(make_runtime, web: LocalServer, web2: LocalServer,
                                                   tmp_path: Path) -> None:  # fmt: skip
    tsa = LocalTSA(tmp_path / "tsa")
    try:
        rt = make_runtime(SHEKTEU_TSA_URL=tsa.url, SHEKTEU_TSA_CA_FILE=str(tsa.ca_file))
        hostile_page(web, web2)
        (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=False)  # first without: stamped alone
        timestamps.stamp(rt)
        (again,) = capture_urls(rt, [web.url("/page")], screenshot=True)
        stamped = timestamps.stamp(rt)
        assert stamped is not None
        claims = timestamps.parse_statement(stamped.files[0].read_text())
        assert again.id in claims["captures"] and again.id in claims["screenshots"]
        with rt.db.read() as s:
            captures = select_captures(s, ids=[outcome.id, again.id])
        summary = build_wacz(rt.settings.data_dir, captures, tmp_path / "p.wacz", title="page")
        with zipfile.ZipFile(summary.path) as zf:
            index = zf.read("indexes/index.cdxj").decode()
        assert "urn:screenshot:" in index and '"mime": "image/png"' in index
        report = verify_path(summary.path, tsa_ca=tsa.ca_file, stamp_dirs=[rt.settings.data_dir / "timestamps"])
        assert report.ok, report.problems
    finally:
        tsa.close()


def test_the_capture_page_shows_the_screenshot(make_runtime, web: LocalServer, web2: LocalServer,
                                               tmp_path: Path) -> None:  # fmt: skip
    from tests.dashboard import Dash, seed, serve

    rt = make_runtime()
    ticket = seed(rt, tmp_path)
    hostile_page(web, web2)
    (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=True)
    for base in serve(rt):
        client = Dash(rt, base, ticket).login("ann")
        page = client.get(f"/dash/captures/{outcome.id}").text
        assert f'src="/dash/captures/{outcome.id}/screenshot.png"' in page and "What the page looked like" in page
        png = client.get(f"/dash/captures/{outcome.id}/screenshot.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (1280, 1600)


def test_screenshots_work_beside_a_running_event_loop(rt: Runtime, web: LocalServer, web2: LocalServer) -> None:
    """Before the fix, a screenshot job run from a thread with a running asyncio loop (the bot's, a test
    runner's Playwright session) failed: Playwright's sync API refuses such a thread."""
    import asyncio

    hostile_page(web, web2)

    async def inside_a_loop() -> int:
        (outcome,) = capture_urls(rt, [web.url("/page")], screenshot=True)
        return outcome.id

    # A thread of its own runs the loop (the test runner's main thread may hold one already).
    got: list[int] = []
    runner = threading.Thread(target=lambda: got.append(asyncio.run(inside_a_loop())))
    runner.start()
    runner.join(300)
    (cid,) = got
    with rt.db.read() as s:
        assert s.get(Capture, cid).screenshot_sha256


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_capture_command_draws_by_default_unless_screenshots_are_off(env: dict[str, str], web: LocalServer,
                                                                          web2: LocalServer) -> None:  # fmt: skip
    from tests.test_cli import lines, run

    hostile_page(web, web2)
    default = {k: v for k, v in env.items() if k != "SHEKTEU_SCREENSHOTS"}
    drawn = run(default, "capture", "--json", web.url("/page"))
    off = run({**env, "SHEKTEU_SCREENSHOTS": "false"}, "capture", "--json", web.url("/page"))
    asked = run({**env, "SHEKTEU_SCREENSHOTS": "false"}, "capture", "--screenshot", "--json", web.url("/page"))
    bad = run({**env, "SHEKTEU_SCREENSHOTS": "sometimes"}, "capture", web.url("/page"))
    assert [p.returncode for p in (drawn, off, asked)] == [0, 0, 0], (drawn.stderr, off.stderr, asked.stderr)
    assert bad.returncode != 0 and "SHEKTEU_SCREENSHOTS" in bad.stderr and "Traceback" not in bad.stderr
    rt = Runtime(load_settings(env))
    try:
        with rt.db.read() as s:
            shots = [bool(s.get(Capture, lines(p.stdout)[0]["id"]).screenshot_sha256) for p in (drawn, off, asked)]
    finally:
        rt.close()
    assert shots == [True, False, True]


def test_the_chromium_path_setting_is_a_setting_and_is_used(tmp_path: Path) -> None:
    """SHEKTEU_CHROMIUM_PATH was read past the settings object, which refused it as unknown."""
    import shutil

    found = chromium()
    own = tmp_path / "my-chromium"
    shutil.copy(found, own)
    settings = load_settings({"SHEKTEU_DATA_DIR": str(tmp_path), "SHEKTEU_CHROMIUM_PATH": str(own)})
    assert chromium(settings.chromium_path) == str(own)
    missing = load_settings({"SHEKTEU_DATA_DIR": str(tmp_path), "SHEKTEU_CHROMIUM_PATH": str(tmp_path / "none")})
    assert chromium(missing.chromium_path) == found  # not there: the usual places
