"""The SSRF policy on the address check itself: no socket is opened in this file."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from shekteu.capture.addresses import check_url, parse_ip_literal, refusal_reason

REFUSED_HOSTS = [
    # loopback in every IPv4 spelling inet_aton accepts
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0x7F.1",
    "0177.0.0.1",
    "017700000001",
    "0177.1",
    "127.000.000.001",
    "127.0.0.1.",
    "127.255.255.254",
    # unspecified
    "0.0.0.0",
    "0",
    "0x0",
    # private ranges
    "10.0.0.1",
    "10.1",
    "167772161",
    "012.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "0xc0a80001",
    "3232235521",
    "100.64.0.1",
    # link-local and cloud metadata
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.0.1",
    "100.100.100.200",
    "169.254.170.2",
    # multicast, reserved, broadcast, benchmarking, documentation
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.2.1",
    # IPv6 loopback, unspecified, link-local, unique-local, multicast, metadata
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[ff02::1]",
    "[fd00:ec2::254]",
    "[fec0::1]",
    # IPv6 forms carrying a refused IPv4 address
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    # documentation prefix
    "[2001:db8::1]",
]

ALLOWED_HOSTS = ["8.8.8.8", "1.1.1.1", "77.88.55.242", "[2a00:1450:4001:80b::200e]", "example.com", "t.me"]


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof that the policy needs no network: any connection or lookup attempt fails the test."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the address check touched the network")

    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)


def test_there_are_at_least_thirty_refused_spellings() -> None:
    assert len(REFUSED_HOSTS) >= 30


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_it_refuses_non_public_addresses_in_every_spelling(host: str) -> None:
    reason = check_url(f"http://{host}/path")
    assert reason is not None, host
    assert " is " in reason


@pytest.mark.parametrize("host", ALLOWED_HOSTS)
def test_it_lets_public_addresses_and_names_through(host: str) -> None:
    assert check_url(f"https://{host}/") is None


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("0x1g.0.0.1", None),
        ("09.0.0.1", None),
    ],
)
def test_it_reads_ip_literals_like_the_c_resolver(spelling: str, expected: str | None) -> None:
    parsed = parse_ip_literal(spelling)
    assert (str(parsed) if parsed else None) == expected


def test_it_names_the_kind_of_address_refused() -> None:
    assert "loopback" in (check_url("http://0x7f.1/") or "")
    assert "metadata" in (check_url("http://169.254.169.254/latest/meta-data/") or "")
    assert "private" in (check_url("http://192.168.1.1/") or "")
    assert "carrying 127.0.0.1" in (check_url("http://[::ffff:127.0.0.1]/") or "")
    assert "metadata host" in (check_url("http://metadata.google.internal/") or "")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)", "//x"]
)
def test_it_refuses_other_schemes(url: str) -> None:
    assert "scheme" in (check_url(url) or "")


def test_an_allow_list_opens_only_the_listed_networks() -> None:
    allow = [ipaddress.ip_network("127.0.0.1/32")]
    assert check_url("http://127.0.0.1:8080/", allow) is None
    assert check_url("http://2130706433/", allow) is None  # same address, other spelling
    assert check_url("http://[::ffff:127.0.0.1]/", allow) is None  # same address, mapped
    assert check_url("http://127.0.0.2/", allow) is not None
    assert check_url("http://10.0.0.1/", allow) is not None
    assert refusal_reason(ipaddress.ip_address("::1"), allow) is not None


def test_a_refusal_says_how_to_allow_a_network() -> None:
    reason = check_url("http://127.0.0.1:8080/") or ""
    assert "loopback" in reason and "SHEKTEU_FETCH_ALLOW_NETWORKS" in reason
