"""Capturing pages into evidence: WARC + hash, text, language, history, failures — on each database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from shekteu import audit
from shekteu.capture.web import capture_urls, normalise_url
from shekteu.db.tables import Capture, Item
from shekteu.runtime import Runtime
from tests.pages import KK_PAGE, RU_PAGE
from tests.servers import LocalServer, Reply


def warcio_check(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", path], capture_output=True, text=True, check=False
    )


def test_it_captures_russian_and_kazakh_pages_with_text_and_language(rt: Runtime, web: LocalServer) -> None:
    web.route("/ru", Reply(200, RU_PAGE.encode()))
    web.route("/kk", Reply(200, KK_PAGE.encode()))
    ru, kk = capture_urls(rt, [web.url("/ru"), web.url("/kk")])
    assert ru.error is None and ru.status == 200
    assert ru.title == "Магазин «Снежок» — закладки"
    assert ru.lang == "ru" and kk.lang == "kk"
    assert kk.title == "Жаңалықтар"
    with rt.db.read() as s:
        row = s.get(Capture, ru.id)
        assert row is not None
        assert "Клады в наличии" in (row.text or "")
        assert "tracking" not in (row.text or "")  # scripts are not text
        item = s.scalars(select(Item).where(Item.capture_id == ru.id)).one()
        assert "https://t.me/sneg_operator" in item.links
        assert "tg://resolve?domain=sneg_bot" in item.links
        assert "http://sneg-mirror.example/" in item.links


def test_the_warc_holds_the_exact_body_and_passes_warcio_check(rt: Runtime, web: LocalServer) -> None:
    web.route("/ru", Reply(200, RU_PAGE.encode()))
    (o,) = capture_urls(rt, [web.url("/ru")])
    assert o.warc and o.sha256
    check = warcio_check(o.warc)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    with open(o.warc, "rb") as fh:
        fh.seek(o.warc_offset or 0)
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == web.url("/ru")
        assert record.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert record.content_stream().read() == RU_PAGE.encode()
    assert rt.store.get_blob(o.sha256) == RU_PAGE.encode()


def test_capturing_again_links_snapshots_and_marks_change(rt: Runtime, web: LocalServer) -> None:
    web.route("/p", Reply(200, RU_PAGE.encode()))
    (first,) = capture_urls(rt, [web.url("/p")])
    (same,) = capture_urls(rt, [web.url("/p")])
    web.route("/p", Reply(200, KK_PAGE.encode()))
    (edited,) = capture_urls(rt, [web.url("/p")])
    web.route("/p", Reply(404, b"removed"))
    (gone,) = capture_urls(rt, [web.url("/p")])
    assert first.previous_id is None and first.changed is None
    assert (same.previous_id, same.changed) == (first.id, False)
    assert (edited.previous_id, edited.changed) == (same.id, True)
    assert (gone.previous_id, gone.changed, gone.error) == (edited.id, True, "HTTP 404 Not Found")
    with rt.db.read() as s:
        items = s.scalars(select(Item).where(Item.key == normalise_url(web.url("/p")))).all()
        assert len(items) == 1  # one page, its content following the latest good snapshot
        assert items[0].title == "Жаңалықтар"


def test_refusals_and_failures_are_stored_and_the_batch_goes_on(rt: Runtime, web: LocalServer) -> None:
    web.route("/ok", Reply(200, RU_PAGE.encode()))
    urls = [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/",
        web.url("/ok"),
        "http://127.0.0.1:1/",
        "ftp://x/",
    ]
    outcomes = capture_urls(rt, urls)
    assert [o.url for o in outcomes] == [normalise_url(u) for u in urls]
    assert outcomes[2].error is None
    errors = [o.error or "" for o in outcomes]
    assert errors[0].startswith("refused:") and "private" in errors[0]
    assert "metadata" in errors[1]
    assert errors[3].startswith("connection failed")
    assert errors[4].startswith("refused:")
    with rt.db.read() as s:
        rows = s.scalars(select(Capture).order_by(Capture.id)).all()
        assert len(rows) == 5
        assert sum(r.error is not None for r in rows) == 4
        assert all(r.warc_file is None for r in rows if r.status is None)
        assert audit.verify_chain(s) == []


def test_non_html_is_stored_raw_without_text(rt: Runtime, web: LocalServer) -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    web.route("/doc.pdf", Reply(200, pdf, headers={"Content-Type": "application/pdf"}))
    web.route("/img", Reply(200, png, headers={"Content-Type": "image/png"}))
    doc, img = capture_urls(rt, [web.url("/doc.pdf"), web.url("/img")])
    for o, body in ((doc, pdf), (img, png)):
        assert o.error is None and o.text_chars == 0 and o.lang is None
        assert rt.store.get_blob(o.sha256 or "") == body


def test_wrong_missing_and_broken_charsets_still_give_readable_text(rt: Runtime, web: LocalServer) -> None:
    cp1251 = RU_PAGE.replace('<meta charset="utf-8">', "").encode("cp1251", "replace")
    web.route("/lies", Reply(200, cp1251, headers={"Content-Type": "text/html; charset=utf-8"}))
    web.route("/none", Reply(200, cp1251, headers={"Content-Type": "text/html"}))
    broken = RU_PAGE.encode().replace("Клады".encode(), b"\xff\xfe\xd0")
    web.route("/broken", Reply(200, broken))
    outcomes = capture_urls(rt, [web.url("/lies"), web.url("/none"), web.url("/broken")])
    assert all(o.error is None for o in outcomes)
    with rt.db.read() as s:
        texts = [s.get(Capture, o.id).text or "" for o in outcomes]
    assert "Мефедрон" in texts[0] and "Мефедрон" in texts[1]
    assert "в наличии" in texts[2]
    assert [o.lang for o in outcomes] == ["ru", "ru", "ru"]


def test_a_truncated_body_is_marked_in_row_and_warc(make_runtime, web: LocalServer) -> None:
    rt = make_runtime(SHEKTEU_FETCH_MAX_BYTES="2000")
    web.route("/big", Reply(200, RU_PAGE.encode() * 10))
    (o,) = capture_urls(rt, [web.url("/big")])
    assert o.truncated and o.error is None
    with open(o.warc or "", "rb") as fh:
        fh.seek(o.warc_offset or 0)
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_headers.get_header("WARC-Truncated") == "length"
        assert len(record.content_stream().read()) == 2000


def test_a_rerun_never_duplicates_items(rt: Runtime, web: LocalServer) -> None:
    web.route("/a", Reply(200, RU_PAGE.encode()))
    for _ in range(3):
        capture_urls(rt, [web.url("/a"), web.url("/a")])
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 1
        assert s.scalar(select(func.count()).select_from(Capture)) == 6


def test_normalise_url_makes_one_key_per_page() -> None:
    assert normalise_url(" HTTP://Example.COM:80/a?b=1#frag ") == "http://example.com/a?b=1"
    assert normalise_url("example.com") == "https://example.com/"
    assert normalise_url("https://[::1]:443/x") == "https://[::1]/x"


def test_concurrent_captures_write_one_valid_warc(make_runtime, web: LocalServer, tmp_path: Path) -> None:
    web.route("/a", Reply(200, RU_PAGE.encode()))
    web.route("/b", Reply(200, KK_PAGE.encode()))
    rt = make_runtime(SHEKTEU_CAPTURE_WORKERS="8")
    outcomes = capture_urls(rt, [web.url("/a"), web.url("/b")] * 20)
    assert len({o.warc for o in outcomes}) == 1
    check = warcio_check(outcomes[0].warc or "")
    assert check.returncode == 0
    assert check.stdout.count("digest pass") == 1 + 3 * 40  # warcinfo + 3 records per capture


def test_captures_share_the_runtimes_worker_processes(make_runtime, web: LocalServer) -> None:
    # Starting extraction processes costs about 1.5 s of CPU each: a second capture reuses them.
    rt = make_runtime(SHEKTEU_CAPTURE_PROCESSES="2")
    web.route("/p", Reply(200, RU_PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"}))
    first = capture_urls(rt, [web.url(f"/p?a{i}") for i in range(16)])
    pool = rt.processes.get()
    assert pool is not None
    workers = set(pool._processes)
    second = capture_urls(rt, [web.url(f"/p?b{i}") for i in range(16)])
    assert rt.processes.get() is pool and set(pool._processes) == workers and len(workers) == 2
    assert all(o.text_chars > 100 and o.lang == "ru" for o in first + second)
    rt.close()
    assert pool._shutdown_thread
