"""Fetching hostile URLs safely: SSRF policy on every hop and on the connected socket, hard limits.

The address check runs twice. Before a request, on the URL itself (scheme, IP literals in any
spelling); and inside the connection layer, on each address DNS returned, after which the socket is
opened to that checked address — so a name that resolves to a public address for the check and a
private one for the connection (DNS rebinding) has no window. Redirects are followed by hand so
every hop goes through both checks. Proxies from the environment are ignored: a proxy would make the
connected address meaningless.

Limits: body size (kept up to the limit, marked truncated), total time across all hops — headers,
body and DNS included — and number of redirects. Bodies are decoded here (``decoding.py``: gzip,
deflate, brotli, zstd, at most two layers) and counted as they are decoded, so a compression bomb
stops at the size limit.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from shekteu.capture.addresses import AddressRefused, IPNetwork, check_url, parse_ip_literal, refusal_reason
from shekteu.capture.decoding import DecodingError, decoded
from shekteu.db.tables import utcnow
from shekteu.settings import Settings

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 65_536
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class RefusedConnect(httpcore.ConnectError):
    """Raised inside the connection layer when every resolved address is refused."""


# The current fetch's deadline (monotonic seconds), read by every socket operation of that fetch.
_deadline: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)
# Name lookups run here so they can be given up on: getaddrinfo itself has no timeout.
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="shekteu-dns")


def _remaining(timeout: float | None) -> float | None:
    """``timeout`` cut to what is left of the fetch's total time; raises once none is left."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("total time limit reached")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the fetch's total deadline, so a server that
    trickles its headers a line a second cannot hold a fetch past ``SHEKTEU_FETCH_TIMEOUT``."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:  # fmt: skip
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but it resolves, checks and connects to the checked address."""

    def __init__(self, allow: Iterable[IPNetwork]) -> None:
        self.allow = tuple(allow)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
            try:
                infos = lookup.result(timeout=_remaining(timeout))
            except FutureTimeout:
                lookup.cancel()
                raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            ip = parse_ip_literal(address)
            reason = refusal_reason(ip, self.allow) if ip else f"an unparseable address {address!r}"
            if reason:
                # One bad answer refuses the name: an attacker controls its DNS, not us.
                raise RefusedConnect(f"{host} → {reason}")
        last: Exception | None = None
        for address in addresses:
            try:
                # Connect by the checked address; httpcore still sends SNI/Host for `host`.
                return DeadlineStream(
                    super().connect_tcp(address, port, _remaining(timeout), local_address, socket_options)
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle takes ~15 ms, and a worker makes a
    fetcher per capture job (issue 20)."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allow: Iterable[IPNetwork], max_connections: int) -> None:
        super().__init__(verify=_tls(), trust_env=False, limits=httpx.Limits(max_connections=max_connections))
        # httpx does not expose the network backend; the pool is rebuilt with the guarded one.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=GuardedBackend(allow),
        )


@dataclass
class Hop:
    """One redirect answered on the way (its own WARC record: the evidence of where the link led)."""

    url: str
    fetched_at: datetime
    request_headers: list[tuple[str, str]]
    status_line: str
    response_headers: list[tuple[str, str]]
    ip: str | None


@dataclass
class FetchResult:
    """Everything one fetch learned, success or not; `error` is None only on a usable 2xx/3xx."""

    url: str
    fetched_at: datetime
    final_url: str | None = None
    status: int | None = None
    reason_phrase: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    truncated: bool = False
    ip: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    error: str | None = None
    refused: bool = False
    elapsed: float = 0.0

    @property
    def content_type(self) -> str | None:
        for name, value in self.response_headers:
            if name.lower() == "content-type":
                return value
        return None

    @property
    def has_response(self) -> bool:
        return self.status is not None


class Fetcher:
    """A reusable, thread-safe fetcher with the limits from settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = httpx.Client(
            transport=GuardedTransport(settings.fetch_allow_networks, settings.capture_workers * 2),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.fetch_user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """Fetch ``url`` (following redirects, each hop checked); ``max_bytes`` lowers the body limit."""
        s = self.settings
        started = time.monotonic()
        deadline = started + s.fetch_timeout
        result = FetchResult(url=url, fetched_at=utcnow())
        current = url
        token = _deadline.set(deadline)
        try:
            for _hop in range(s.fetch_max_redirects + 1):
                reason = check_url(current, s.fetch_allow_networks)
                if reason:
                    raise AddressRefused(reason)
                self._fetch_one(current, deadline, result, max_bytes)
                location = _header(result.response_headers, "location")
                if result.status in REDIRECT_CODES and location:
                    nxt = urljoin(current, location.strip())
                    result.redirects.append({"url": current, "status": result.status, "location": nxt})
                    result.hops.append(Hop(current, utcnow(), list(result.request_headers),
                                           f"{result.status} {result.reason_phrase}".strip(),
                                           list(result.response_headers), result.ip))  # fmt: skip
                    current = nxt
                    continue
                break
            else:
                result.error = f"too many redirects (more than {s.fetch_max_redirects})"
        except AddressRefused as exc:
            result.error, result.refused = f"refused: {exc}", True
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            result.error, result.refused = _describe(exc)
        except DecodingError as exc:
            result.error = f"undecodable body: {exc}"
        finally:
            _deadline.reset(token)
        result.elapsed = time.monotonic() - started
        if result.error is None and result.status is not None and result.status >= 400:
            result.error = f"HTTP {result.status} {result.reason_phrase}".strip()
        return result

    def _fetch_one(self, url: str, deadline: float, result: FetchResult, max_bytes: int | None = None) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.TimeoutException("total time limit reached")
        timeout = httpx.Timeout(remaining, connect=min(self.settings.fetch_connect_timeout, remaining))
        request = self.client.build_request("GET", url, timeout=timeout)
        result.request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        result.body, result.truncated, result.status = b"", False, None
        response = self.client.send(request, stream=True)
        try:
            result.final_url = str(response.url)
            result.status = response.status_code
            result.reason_phrase = response.reason_phrase
            result.http_version = response.http_version
            result.response_headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
            ]
            stream = response.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            result.ip = str(peer[0]) if peer else None
            if response.status_code in REDIRECT_CODES:
                return
            chunks, size, limit = [], 0, min(self.settings.fetch_max_bytes, max_bytes or self.settings.fetch_max_bytes)
            # Decoded here, not by httpx: each read decodes at most what the size limit still allows.
            body = decoded(response.iter_raw(), _header(result.response_headers, "content-encoding"))
            while chunk := body.read(min(READ_CHUNK, limit + 1 - size)):
                if time.monotonic() > deadline:
                    raise httpx.TimeoutException("total time limit reached while reading the body")
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    chunks[-1] = chunk[: len(chunk) - (size - limit)]
                    result.truncated = True
                    break
            result.body = b"".join(chunks)
        finally:
            response.close()


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _describe(exc: Exception) -> tuple[str, bool]:
    """A one-line reason for a failed fetch, and whether it was a policy refusal."""
    cause = exc.__cause__
    if isinstance(cause, RefusedConnect):
        return f"refused: {cause}", True
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: {text}", False
    if "SSL" in text or "certificate" in text.lower():
        return f"TLS error: {text}", False
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {text}", False
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"refused: {text}", True
    if isinstance(exc, httpx.DecodingError):
        return f"undecodable body: {text}", False
    return f"{type(exc).__name__}: {text}", False
