"""Which network addresses capture may connect to — the SSRF policy, with no network I/O.

Captured links come from citizens and drug shops, so a link can point anywhere: at the cloud
metadata service, at the database, at a router's admin page. Only globally routable addresses are
fetched, unless an operator lists a network in ``SHEKTEU_FETCH_ALLOW_NETWORKS``.

Hosts are read the way the C resolver reads them: ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and
``127.1`` are all 127.0.0.1, and IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4,
NAT64, Teredo) are judged by the IPv4 address inside too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints. Most are link-local or private anyway; listing them gives a
# precise reason and covers the ones that sit in otherwise odd ranges (Alibaba's 100.100.100.200).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS IPv6 metadata
        "fd00:ec2::23",  # AWS IPv6 DNS
    )
)
METADATA_HOSTNAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOWED_SCHEMES = ("http", "https")


class AddressRefused(Exception):
    """The URL or address is outside what capture may reach; the message is the reason."""


def _ipv4_part(text: str) -> int:
    """One dotted part as inet_aton reads it: 0x.. hex, leading 0 octal, else decimal."""
    if not text:
        raise ValueError("empty part")
    lower = text.lower()
    if lower.startswith("0x"):
        return int(lower[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text[1:], 8)
    if not text.isdigit():
        raise ValueError("not a number")
    return int(text, 10)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """127.1, 2130706433, 0x7f.0.0.1, 017700000001 … the inet_aton spellings; None if not one."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    try:
        nums = [_ipv4_part(p) for p in parts]
    except ValueError:
        return None
    # All but the last part are single bytes; the last fills the remaining bytes.
    *head, last = nums
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes if it is an IP literal in any spelling, else None."""
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return None
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    if not all(c.isalnum() or c == "." for c in host):
        return None
    return _legacy_ipv4(host)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


ALLOW_HINT = "to capture from it anyway, list its network in SHEKTEU_FETCH_ALLOW_NETWORKS"


def _category(ip: IPAddress) -> str | None:
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attr, name in checks:
        if getattr(ip, attr):
            return name
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global:
        return "not a public address"
    return None


def refusal_reason(ip: IPAddress, allow: Iterable[IPNetwork] = ()) -> str | None:
    """Why capture may not connect to `ip`, or None when it may."""
    allow = tuple(allow)
    inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    candidates = [ip] if inner is None else [inner, ip]  # the carried address gives the clearer reason

    def allowed(addr: IPAddress) -> bool:
        return any(addr.version == net.version and addr in net for net in allow)

    if any(allowed(a) for a in candidates):
        return None
    for addr in candidates:
        category = _category(addr)
        if category:
            shown = f"{ip} (carrying {addr})" if addr is not ip else str(ip)
            return f"{shown} is {category} ({ALLOW_HINT})"
    return None


def check_url(url: str, allow: Iterable[IPNetwork] = ()) -> str | None:
    """Why a URL may not be fetched before any DNS lookup (scheme, host, IP literal), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"malformed URL: {exc}"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"scheme {parts.scheme or '(none)'!r} is not allowed, only http and https"
    host = parts.hostname
    if not host:
        return "URL has no host"
    if port == 0:
        return "port 0 is not allowed"
    if host.rstrip(".").lower() in METADATA_HOSTNAMES:
        return f"{host} is a cloud metadata host"
    ip = parse_ip_literal(host)
    if ip is not None:
        return refusal_reason(ip, allow)
    return None
