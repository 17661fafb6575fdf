"""Writers of one SQLite file take turns before they ask SQLite for its write lock.

SQLite has one write lock per database file. A writer that finds it taken sleeps and tries again,
in steps that grow to 100 ms, so under load the lock sits free while the writers that want it
sleep: 200 citizens reporting at once, with the worker writing its results beside them, spent most
of their time there (``bench/intake.py``). So the writers of a process queue on a lock of their own
(a waiting thread gets it the moment it is released), and the processes (``serve``, its worker, a
CLI import) take turns on a lock file beside the database, checked every few milliseconds.

A writer that waited as long as SQLite would have (``seconds``) gets the error SQLite gives,
"database is locked", which callers already treat as a busy database. The lock file is released by
the kernel when a process dies, however it dies. Where the lock file cannot be made (a read-only
folder), writers go straight to SQLite's lock, as before, and the log says why.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

POLL_SECONDS = (0.0002, 0.002)  # first and longest pause between two tries of the lock file


def _busy() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


class WriteTurn:
    """The turn to write one SQLite file; ``held()`` waits for it, for ``seconds`` at most."""

    def __init__(self, database: Path | None, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self._lock = threading.RLock()
        self._depth = 0  # write() inside write() in one thread: the outer one holds the file
        self._path = database.with_name(database.name + "-writers") if database and os.name == "posix" else None
        self._fd: int | None = None
        self._pid = 0  # the process that opened _fd: a forked child opens its own (a lock is per open file)

    @contextmanager
    def held(self) -> Iterator[None]:
        deadline = time.monotonic() + self.seconds
        if not self._lock.acquire(timeout=self.seconds):
            raise _busy()
        try:
            if self._depth == 0 and self._path is not None:
                self._take_file(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    import fcntl

                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _take_file(self, deadline: float) -> None:
        import fcntl

        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), os.getpid()
            except OSError as exc:  # a read-only folder, a name taken by a folder: SQLite's own lock still holds
                log.warning("no write turn across processes (%s): %s", self._path, exc.strerror or exc)
                self._path, self._fd = None, None
                return
        pause = POLL_SECONDS[0]
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy() from None
                time.sleep(pause)
                pause = min(pause * 2, POLL_SECONDS[1])

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
