"""Local HTTP servers on real sockets for the tests: routes are plain functions.

Every server listens on a loopback address only. Each records the paths it was asked for, so a test
can prove a server was never reached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds between body chunks (slow responses)


Route = Callable[[dict[str, list[str]]], Reply]


class LocalServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.post_routes: dict[str, Callable[[bytes, dict[str, str]], Reply]] = {}
        self.hits: list[str] = []
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = urlsplit(self.path).path
                server.posts.append((path, body, headers))
                route = server.post_routes.get(path)
                self.answer(route(body, headers) if route else Reply(404, b"not found"))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.hits.append(self.path)
                route = server.routes.get(parts.path)
                self.answer(route(parse_qs(parts.query)) if route else Reply(404, b"not found"))

            def answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
                headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                if isinstance(reply.body, bytes):
                    headers.setdefault("Content-Length", str(len(reply.body)))
                else:
                    headers["Connection"] = "close"
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.delay:
                            time.sleep(reply.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if not isinstance(reply.body, bytes):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, reply: Reply | Route) -> None:
        self.routes[path] = reply if callable(reply) else (lambda _q, r=reply: r)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
