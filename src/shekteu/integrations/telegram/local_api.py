"""A local Bot API server over real HTTP: the bot's tests and `shekteu bot simulate` talk to it
instead of Telegram.

It speaks the methods the bot uses — getMe, getUpdates (long polling with offsets), sendMessage,
sendPhoto, getFile and file download, setWebhook, deleteWebhook — with the request encodings aiogram
sends (form-encoded, multipart, JSON). Callers script updates with ``push`` and read what the bot
sent from ``sent``. It listens on 127.0.0.1 only and holds everything in memory.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "123456:TEST-token"  # noqa: S105  (the local server's own, not a secret)
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Shekteu", "username": "shekteu_test_bot"}


def _params(headers: Any, body: bytes) -> dict[str, Any]:
    kind = headers.get("Content-Type", "")
    if kind.startswith("application/json"):
        return json.loads(body or b"{}")
    if kind.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + kind.encode() + b"\r\n\r\n" + body)
        out = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            out[name] = payload if part.get_filename() else payload.decode()
        return out
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


class LocalBotAPI:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.files: dict[str, tuple[bytes, int | None]] = {}
        self.webhook: dict[str, Any] | None = None
        self._next_update = 1
        self._next_message = 1000
        self._lock = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                prefix = f"/file/bot{TOKEN}/"
                if path.startswith(prefix) and path[len(prefix) :] in api.files:
                    self._reply(200, api.files[path[len(prefix) :]][0], "application/octet-stream")
                else:
                    self._reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                if not path.startswith(f"/bot{TOKEN}/"):
                    self._reply(401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}')
                    return
                method = path.rsplit("/", 1)[1]
                api.calls.append(method)
                result = api.call(method, _params(self.headers, body))
                if result is None:
                    self._reply(400, json.dumps({"ok": False, "error_code": 400,
                                                 "description": f"Bad Request: {method}"}).encode())  # fmt: skip
                else:
                    self._reply(200, json.dumps({"ok": True, "result": result}).encode())

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A long poll the bot gave up on (it stops, or times out first): nothing to report.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    # -- the Bot API methods ----------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            timeout = float(params.get("timeout") or 0)
            deadline = time.monotonic() + min(timeout, 2.0)
            with self._lock:
                while True:
                    ready = [u for u in self.updates if u["update_id"] >= offset]
                    if ready or time.monotonic() >= deadline:
                        self.updates = ready  # confirmed updates are forgotten, as Telegram does
                        return ready[:100]
                    self._lock.wait(0.05)
        if method in ("sendMessage", "sendPhoto"):
            with self._lock:
                self._next_message += 1
                self.sent.append(
                    {"method": method, **{k: v for k, v in params.items() if not isinstance(v, bytes)}}
                )
                self._lock.notify_all()
            chat = int(params["chat_id"])
            return {"message_id": self._next_message, "date": int(time.time()), "from": BOT_USER,
                    "chat": {"id": chat, "type": "private"}, "text": params.get("text", "")}  # fmt: skip
        if method == "getFile":
            file_id = params.get("file_id", "")
            if file_id not in self.files:
                return None
            data, size = self.files[file_id]
            return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": size or len(data),
                    "file_path": file_id}  # fmt: skip
        if method == "setWebhook":
            self.webhook = params
            return True
        if method == "deleteWebhook":
            self.webhook = None
            return True
        return None

    # -- scripting --------------------------------------------------------------------------------------
    def push(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.updates.append({"update_id": self._next_update, "message": message})
            self._next_update += 1
            self._lock.notify_all()

    def add_file(self, file_id: str, data: bytes, claimed_size: int | None = None) -> None:
        self.files[file_id] = (data, claimed_size)

    def wait_sent(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.sent) < count and time.monotonic() < deadline:
                self._lock.wait(0.1)
            return list(self.sent)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


FakeBotAPI = LocalBotAPI  # the tests' name for it


def message(n: int, user: int = 501, lang: str = "ru", **content: Any) -> dict[str, Any]:
    return {"message_id": n, "date": int(time.time()), "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "Citizen", "language_code": lang}, **content}  # fmt: skip


def command(n: int, text: str, **kw: Any) -> dict[str, Any]:
    word = text.split()[0]
    return message(n, text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(word)}], **kw)
