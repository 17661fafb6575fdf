"""Fetching over real sockets: redirects, limits, refusals at connect time."""

from __future__ import annotations

import gzip

import pytest

from shekteu.capture.fetch import Fetcher
from shekteu.settings import load_settings
from tests.servers import LocalServer, Reply


def fetcher(**env: str) -> Fetcher:
    base = {"SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "SHEKTEU_FETCH_TIMEOUT": "3"}
    return Fetcher(load_settings({**base, **env}))


def test_it_follows_redirects_and_records_each_hop(web: LocalServer) -> None:
    web.route("/a", Reply(301, headers={"Location": "/b"}))
    web.route("/b", Reply(302, headers={"Location": web.url("/c")}))
    web.route("/c", Reply(200, "готово".encode()))
    with fetcher() as f:
        r = f.fetch(web.url("/a"))
    assert r.error is None
    assert r.final_url == web.url("/c")
    assert [h["status"] for h in r.redirects] == [301, 302]
    assert r.body.decode() == "готово"
    assert r.ip == "127.0.0.1"


def test_a_redirect_to_a_refused_address_is_never_followed(web: LocalServer, web2: LocalServer) -> None:
    web2.route("/secret", Reply(200, b"internal"))
    web.route("/go", Reply(302, headers={"Location": web2.url("/secret")}))
    web.route("/go-mapped", Reply(302, headers={"Location": f"http://[::ffff:127.0.0.2]:{web2.port}/secret"}))
    web.route("/go-decimal", Reply(302, headers={"Location": f"http://2130706434:{web2.port}/secret"}))
    with fetcher() as f:
        for path in ("/go", "/go-mapped", "/go-decimal"):
            r = f.fetch(web.url(path))
            assert r.refused, path
            assert r.error and r.error.startswith("refused:")
            assert r.redirects and r.redirects[0]["status"] == 302
    assert web2.hits == []


def test_a_name_resolving_to_a_refused_address_is_refused_at_connect(web: LocalServer) -> None:
    web.route("/", Reply(200, b"hi"))
    with fetcher(SHEKTEU_FETCH_ALLOW_NETWORKS="") as f:
        r = f.fetch(f"http://localhost:{web.port}/")
    assert r.refused and "loopback" in (r.error or "")
    assert web.hits == []


def test_too_many_redirects_stop(web: LocalServer) -> None:
    web.route("/loop", Reply(302, headers={"Location": "/loop"}))
    with fetcher() as f:
        r = f.fetch(web.url("/loop"))
    assert r.error == "too many redirects (more than 5)"
    assert len(web.hits) == 6


def test_a_huge_body_is_truncated_and_marked(web: LocalServer) -> None:
    web.route("/huge", Reply(200, b"x" * 300_000, headers={"Content-Type": "application/octet-stream"}))
    with fetcher(SHEKTEU_FETCH_MAX_BYTES="100000") as f:
        r = f.fetch(web.url("/huge"))
    assert r.error is None and r.truncated and len(r.body) == 100_000


def test_a_compression_bomb_stops_at_the_size_limit(web: LocalServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    web.route("/bomb", Reply(200, bomb, headers={"Content-Encoding": "gzip"}))
    with fetcher(SHEKTEU_FETCH_MAX_BYTES="1000000") as f:
        r = f.fetch(web.url("/bomb"))
    assert r.truncated and len(r.body) == 1_000_000


def test_a_slow_body_hits_the_total_time_limit(web: LocalServer) -> None:
    web.route("/slow", Reply(200, (b"x" * 10 for _ in range(100)), delay=0.1))
    with fetcher(SHEKTEU_FETCH_TIMEOUT="1") as f:
        r = f.fetch(web.url("/slow"))
    assert r.error and r.error.startswith("timed out")
    assert r.elapsed < 3


@pytest.mark.parametrize(("status", "phrase"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_http_errors_keep_the_response_and_name_the_status(
    web: LocalServer, status: int, phrase: str
) -> None:
    web.route("/e", Reply(status, b"<h1>gone</h1>"))
    with fetcher() as f:
        r = f.fetch(web.url("/e"))
    assert r.status == status and r.error == f"HTTP {status} {phrase}" and r.body == b"<h1>gone</h1>"


def test_unreachable_hosts_fail_with_a_reason() -> None:
    with fetcher() as f:
        closed = f.fetch("http://127.0.0.1:1/")
        unknown = f.fetch("http://no-such-host.invalid/")
    assert closed.error and closed.error.startswith("connection failed")
    assert unknown.error and "cannot resolve" in unknown.error
    assert not closed.refused and not unknown.refused


def test_tls_errors_are_named(web: LocalServer) -> None:
    web.route("/", Reply(200, b"plain http"))
    with fetcher() as f:
        r = f.fetch(f"https://127.0.0.1:{web.port}/")
    assert r.error and r.error.startswith(("TLS error", "connection failed"))
