"""Deterministic two-session races on PostgreSQL: the barrier is the second session seen waiting on a
lock the first one holds (``pg_stat_activity``), never a sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from shekteu.runtime import Runtime


def need_postgres(rt: Runtime) -> None:
    if rt.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer; the race needs PostgreSQL's concurrent sessions")


def backend_pid(session: Any) -> int:
    return int(session.scalar(text("SELECT pg_backend_pid()")))


def wait_until_blocked(rt: Runtime, pid: int, done: threading.Event, seconds: float = 20.0) -> bool:
    """True once session ``pid`` waits on a lock; False if ``done`` is set first (it never waited)."""
    deadline = time.monotonic() + seconds
    with rt.db.engine.connect() as watch:
        while time.monotonic() < deadline and not done.is_set():
            waiting = watch.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"),
                                    {"p": pid}).scalar()  # fmt: skip
            if waiting == "Lock":
                return True
            watch.rollback()
    return False


def waits_on(rt: Runtime, blocker: int, done: threading.Event, seconds: float = 20.0) -> bool:
    """True once some session waits on a lock that session ``blocker`` holds; False if ``done`` is set
    first (whoever it was never waited)."""
    deadline = time.monotonic() + seconds
    with rt.db.engine.connect() as watch:
        while time.monotonic() < deadline and not done.is_set():
            if watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE :b = ANY(pg_blocking_pids(pid))"),
                             {"b": blocker}).scalar():  # fmt: skip
                return True
            watch.rollback()
    return False


class Second:
    """Run ``work(session)`` in a write transaction on another thread once ``start()`` is called;
    its backend pid is known before it starts, and any exception is kept for the test to check."""

    def __init__(self, rt: Runtime, work: Callable[[Any], Any]) -> None:
        self.rt, self.work = rt, work
        self.pid: int | None = None
        self.ready, self.go, self.done = threading.Event(), threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.result: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(20)

    def _run(self) -> None:
        try:
            with self.rt.db.write() as s:
                self.pid = backend_pid(s)
                self.ready.set()
                self.go.wait(30)
                self.result = self.work(s)
        except BaseException as exc:  # handed to the test
            self.error = exc
        finally:
            self.ready.set()
            self.done.set()

    def start_and_wait_blocked(self) -> bool:
        self.go.set()
        assert self.pid is not None
        return wait_until_blocked(self.rt, self.pid, self.done)

    def join(self) -> None:
        self.thread.join(30)
        assert self.done.is_set(), "the second session never finished"
