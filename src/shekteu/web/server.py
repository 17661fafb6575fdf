"""Running the web app under uvicorn with the connection limits a public endpoint needs.

uvicorn closes idle keep-alive connections, but a connection that opens and then sends its headers a
byte at a time — or never — is kept for as long as the client likes: a thousand of them hold a
thousand sockets. ``GuardedH11`` closes any connection whose request headers are not complete within
``SHEKTEU_HEADER_TIMEOUT`` of it starting to wait for them. Bodies have their own deadline
(``limits.BodyLimit``).
"""

from __future__ import annotations

from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from shekteu.settings import Settings


class GuardedH11(H11Protocol):
    header_timeout = 10.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_timer: Any = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on a kept-alive connection starts
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self._header_timer is not None:
            self._header_timer.cancel()  # the headers are in
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():  # still no headers
            self.transport.close()


def protocol(settings: Settings) -> type[GuardedH11]:
    """The protocol class with this install's header timeout."""
    return type("GuardedH11", (GuardedH11,), {"header_timeout": settings.header_timeout})


def config(app: Any, settings: Settings, host: str, port: int, log_level: str = "info") -> Any:
    import uvicorn

    # No access log: it would write reporters' addresses to disk.
    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level=log_level, http=protocol(settings),
                          timeout_keep_alive=int(max(1, settings.keepalive_timeout)))  # fmt: skip


def run(app: Any, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    uvicorn.Server(config(app, settings, host, port)).run()
