"""Responses built to exhaust us: stacked compression, brotli and zstd bombs, headers that trickle,
pages nested 200,000 deep. The fetch keeps its size and time limits whatever the server does."""

from __future__ import annotations

import gzip
import resource
import socket
import threading
import time
import zlib
from collections.abc import Iterator

import pytest

from shekteu.capture.decoding import DecodingError, decoded
from shekteu.capture.web import capture_urls
from shekteu.runtime import Runtime
from tests.servers import LocalServer, Reply
from tests.test_fetch import fetcher

LIMIT = 1_000_000


def _bomb(layers: int, size: int = 1 << 30) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times, built in a stream (never all in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"\x00" * (1 << 20)
    data = b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_stacked_gzip_stops_at_the_size_limit(web: LocalServer) -> None:
    bomb = _bomb(2)
    assert len(bomb) < 20_000
    web.route("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip, gzip", "Content-Type": "text/plain"}))
    web.route("/three", Reply(200, gzip.compress(bomb), {"Content-Encoding": "gzip, gzip, gzip"}))
    before = _peak_mb()
    with fetcher(SHEKTEU_FETCH_MAX_BYTES=str(LIMIT)) as f:
        r = f.fetch(web.url("/bomb"))
        assert r.truncated and len(r.body) == LIMIT and r.error is None
        assert _peak_mb() - before < 200  # a gigabyte was never held
        three = f.fetch(web.url("/three"))
    assert three.error and "3 content encodings" in three.error and not three.body


def test_brotli_and_zstd_bombs_stop_at_the_size_limit() -> None:
    import brotli
    import zstandard

    zeros = b"\x00" * (64 << 20)
    for header, packed in (("br", brotli.compress(zeros, quality=5)), ("zstd", zstandard.compress(zeros, 19))):
        assert len(packed) < 100_000
        body = decoded(iter([packed[i : i + 4096] for i in range(0, len(packed), 4096)]), header)
        got = 0
        while chunk := body.read(65_536):
            assert len(chunk) <= 65_536
            got += len(chunk)
        assert got == len(zeros), header


def test_broken_and_unknown_encodings_are_clear_errors(web: LocalServer) -> None:
    web.route("/junk", Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    web.route("/weird", Reply(200, b"x", {"Content-Encoding": "compress"}))
    web.route("/raw-deflate", Reply(200, zlib.compress(b"deflated", 9)[2:-4], {"Content-Encoding": "deflate"}))
    with fetcher() as f:
        assert "not valid gzip" in f.fetch(web.url("/junk")).error
        assert "unknown content encoding 'compress'" in f.fetch(web.url("/weird")).error
        raw = f.fetch(web.url("/raw-deflate"))
    assert raw.error is None and raw.body == b"deflated"
    with pytest.raises(DecodingError):
        body = decoded(iter([b"\x1f\x8b" + b"\x00" * 30]), "gzip")
        while body.read(10):
            pass


@pytest.fixture
def trickle() -> Iterator[str]:
    """A server that sends a status line, then one header line every 0.3 s, for up to 60 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for n in range(200):
                    if stop.wait(0.3):
                        break
                    try:
                        conn.sendall(f"X-Slow-{n}: {n}\r\n".encode())
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join(5)
    server.close()


def test_headers_that_trickle_end_at_the_total_deadline(trickle: str) -> None:
    with fetcher(SHEKTEU_FETCH_TIMEOUT="2") as f:
        started = time.monotonic()
        r = f.fetch(trickle)
        took = time.monotonic() - started
    assert r.error and "timed out" in r.error
    assert took < 15  # the deadline held (the server would go on for a minute)


def test_a_page_nested_200000_deep_is_captured_as_text(rt: Runtime, web: LocalServer) -> None:
    depth = 200_000
    page = ("<html><head><title>Магазин</title></head><body>" + "<div>" * depth +
            "Меф в наличии @snegkz_bot" + "</div>" * depth + "</body></html>").encode()  # fmt: skip
    web.route("/deep", Reply(200, page))
    (outcome,) = capture_urls(rt, [web.url("/deep")])
    assert outcome.error is None, outcome.error
    with rt.db.read() as s:
        from shekteu.db.tables import Capture

        capture = s.get(Capture, outcome.id)
        assert capture.title == "Магазин" and "@snegkz_bot" in capture.text


def test_the_bad_input_of_capture_is_one_error_per_url_and_a_rerun_adds_nothing(make_runtime, web: LocalServer) -> None:
    """Issue #2's list in one batch: unreachable, TLS to a plain port, 404, 500, PDF, oversized,
    mislabelled charset, invalid UTF-8."""
    from sqlalchemy import func, select

    rt = make_runtime(SHEKTEU_FETCH_MAX_BYTES="1000000")
    from shekteu.db.tables import Capture, Item

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    web.route("/404", Reply(404, b"gone"))
    web.route("/500", Reply(500, b"boom"))
    web.route("/pdf", Reply(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", {"Content-Type": "application/pdf"}))
    web.route("/big", Reply(200, b"<p>" + b"x" * 3_000_000 + b"</p>"))
    web.route("/cp1251", Reply(200, "<p>Закладки в наличии</p>".encode("cp1251"), {"Content-Type": "text/html; charset=utf-8"}))
    web.route("/bad-utf8", Reply(200, b"<p>\xff\xfe\xfa broken \xc3</p>"))
    web.route("/ok", Reply(200, "<p>Меф в наличии</p>".encode()))
    urls = [f"http://127.0.0.1:{port}/", f"https://127.0.0.1:{web.port}/tls", *(web.url(p) for p in
            ("/404", "/500", "/pdf", "/big", "/cp1251", "/bad-utf8", "/ok"))]  # fmt: skip
    outcomes = {o.url: o for o in capture_urls(rt, urls)}
    assert len(outcomes) == len(urls)
    assert "connection failed" in outcomes[urls[0]].error
    assert outcomes[urls[1]].error  # TLS spoken to a plain HTTP port
    assert outcomes[web.url("/404")].error.startswith("HTTP 404") and outcomes[web.url("/404")].sha256
    assert outcomes[web.url("/500")].error.startswith("HTTP 500")
    assert outcomes[web.url("/pdf")].error is None and outcomes[web.url("/pdf")].text_chars == 0
    assert outcomes[web.url("/big")].truncated
    with rt.db.read() as s:
        texts = dict(s.execute(select(Capture.url, Capture.text)).all())
        items = s.scalar(select(func.count()).select_from(Item))
    assert "Закладки в наличии" in texts[web.url("/cp1251")]
    assert "broken" in texts[web.url("/bad-utf8")] and texts[web.url("/ok")] == "Меф в наличии"
    capture_urls(rt, urls)  # a rerun: new captures (history), no new items
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == items
