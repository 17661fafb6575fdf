"""Worker processes for CPU work, kept by the runtime: text extraction of captured pages and the CPU
half of analysis (normalising, classifying, indicators, MinHash).

Threads cannot share this work out (the GIL keeps them to one core), and a process costs about a
second and a half of CPU to start (it imports NumPy, trafilatura and the model). A pool started per
capture spent that on every run, with its pages waiting meanwhile, so one pool lives as long as the
runtime and every capture and analysis batch uses it. Processes are spawned, not forked (a fork of a
process that runs threads can deadlock the child; a forkserver outlives a parent killed with
SIGKILL). They exit when their parent is gone by watching its process id, not by a death signal
from the kernel: that signal comes when the *thread* that started a child ends, and a pool starts
its processes from whichever thread submits work, often a capture's fetch thread. A parser that
crashes on hostile HTML breaks the pool; the next caller gets a new one.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

WATCH_SECONDS = 0.5  # how soon a worker process notices that its parent is gone


def _exit_with_parent(parent: int) -> None:
    """In a worker process: end it once ``parent`` is no longer its parent (killed, even by SIGKILL)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class ProcessPool:
    """A lazily started pool of ``size`` processes; ``get()`` is None when ``size`` is 1 or less."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def get(self) -> ProcessPoolExecutor | None:
        if self.size <= 1:
            return None
        with self._lock:
            # A worker that died (a crash in a parser, the OOM killer) leaves the pool broken for good.
            if self._pool is not None and getattr(self._pool, "_broken", False):
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.size, initializer=_exit_with_parent,
                                                 initargs=(os.getpid(),),
                                                 mp_context=multiprocessing.get_context("spawn"))  # fmt: skip
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def pool_size(configured: int) -> int:
    """SHEKTEU_CAPTURE_PROCESSES: 0 means one process per CPU."""
    return configured or (os.cpu_count() or 1)
