"""Throttles for what strangers can try over and over: sign-ins and ticket lookups.

Sign-ins follow the anchors (Django-axes, GitHub, Devise's lockable with delays): every attempt is
counted *before* the password is checked, so a hundred concurrent wrong passwords cannot all slip
in before the first failure is recorded; the delay then doubles with each further failure instead of
locking the account. Three keys are counted: one name from one address (the guessing run), one
address across names (a spray), and one name across addresses (a distributed run) — the last with a
short cap, so the real user signing in from elsewhere waits seconds at worst, never fifteen minutes.

Ticket lookups (status pages, Open311, the bot's /status) are limited per address in a sliding
window, so ticket numbers cannot be enumerated. Both live in memory, per process.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

WINDOW = 900.0  # seconds a failure is remembered


class LoginThrottle:
    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str, str]:
        name = name.strip().lower()[:64]
        return f"pair:{name}|{address}", f"addr:{address}", f"name:{name}"

    def _rule(self, key: str) -> tuple[int, float, float]:
        """(failures allowed before delays start, first delay, longest delay) for a key, in seconds."""
        if key.startswith("pair:"):
            return self.limit, 30.0, self.window
        if key.startswith("addr:"):
            return self.limit * 4, 30.0, self.window
        return self.limit * 4, 5.0, 30.0  # one name from everywhere: slowed, never locked

    def _wait(self, key: str, now: float) -> float:
        q = self._failures.get(key)
        if not q:
            return 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        free, first, cap = self._rule(key)
        if len(q) < free:
            return 0.0
        delay = min(cap, first * 2.0 ** min(len(q) - free, 20))
        return max(0.0, q[-1] + delay - now)

    def attempt(self, name: str, address: str) -> int:
        """0 and the attempt counted as a failure until ``succeeded``; or the seconds to wait first."""
        now = time.monotonic()
        keys = self.keys(name, address)
        with self._lock:
            wait = max(self._wait(k, now) for k in keys)
            if wait > 0:
                return int(wait) + 1
            for k in keys:
                self._failures[k].append(now)
            if len(self._failures) > 100_000:  # a spray of names: forget the idle ones
                for k in [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window]:
                    del self._failures[k]
        return 0

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: its name's failures are forgotten, the address keeps the others."""
        pair, addr, by_name = self.keys(name, address)
        with self._lock:
            self._failures.pop(pair, None)
            self._failures.pop(by_name, None)
            q = self._failures.get(addr)
            if q:
                q.pop()


class LookupLimit:
    """At most ``limit`` lookups per key in ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._hits[key]
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            if len(self._hits) > 100_000:
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[k]
            return True
