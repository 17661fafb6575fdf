"""Run the `shekteu` command as a user would — a process of its own with the environment given — but
forked from a warm process (tests/forker.py) instead of a cold interpreter. Where fork is missing,
or with SHEKTEU_TEST_FORK=0, each run is a plain new interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLD = [sys.executable, "-c", "from shekteu.cli import main; main()"]


class _Forker:
    def __init__(self) -> None:
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        self.process = subprocess.Popen([sys.executable, "-m", "tests.forker", str(req_r), str(rep_w)],
                                        pass_fds=(req_r, rep_w), cwd=ROOT, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL)  # fmt: skip
        os.close(req_r)
        os.close(rep_w)
        self._send = os.fdopen(self._req_w, "w")
        self._receive = os.fdopen(self._rep_r)

    def run(self, request: dict) -> dict:
        self._send.write(json.dumps(request) + "\n")
        self._send.flush()
        reply = self._receive.readline()
        if not reply:
            raise RuntimeError("the test forker died (see its stderr above)")
        return json.loads(reply)


_idle: list[_Forker] = []
_lock = threading.Lock()


def _forker() -> _Forker:
    with _lock:
        return _idle.pop() if _idle else _Forker()  # one per concurrent caller


def shekteu(*args: str, env: Mapping[str, str], input: str | bytes | None = None, text: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:  # fmt: skip
    """`shekteu ARGS` with exactly ``env`` as its environment, like ``subprocess.run(capture_output=True)``."""
    if os.environ.get("SHEKTEU_TEST_FORK") == "0" or not hasattr(os, "fork"):
        return subprocess.run([*COLD, *args], env=dict(env), input=input, text=text, capture_output=True,
                              timeout=timeout, check=False)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="shekteu-cli-") as folder:
        stdin, stdout, stderr = (Path(folder) / name for name in ("stdin", "stdout", "stderr"))
        data = input if isinstance(input, bytes) or input is None else input.encode()
        stdin.write_bytes(data or b"")
        stdout.touch()
        stderr.touch()
        forker = _forker()
        try:
            reply = forker.run({"args": list(args), "env": dict(env), "cwd": os.getcwd(), "stdin": str(stdin),
                                "stdout": str(stdout), "stderr": str(stderr), "timeout": timeout})  # fmt: skip
        except BaseException:
            forker.process.kill()  # in an unknown state: not handed to the next caller
            raise
        with _lock:
            _idle.append(forker)
        out, err = stdout.read_bytes(), stderr.read_bytes()
        if reply.get("timeout"):
            raise subprocess.TimeoutExpired(["shekteu", *args], timeout, out, err)
        decoded: Sequence = (_text(out), _text(err)) if text else (out, err)
        return subprocess.CompletedProcess(["shekteu", *args], reply["returncode"], *decoded)


def _text(data: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` does: universal newlines."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")
