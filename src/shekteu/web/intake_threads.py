"""Citizen submissions run on a few threads of their own, not on the shared pool of forty.

Storing a report is short work in one write transaction, and every write takes the same lock (SQLite's
single writer; on PostgreSQL the audit chain's). With 200 reporters posting at once, forty threads
fought over the interpreter lock while one of them held the database lock between its INSERT and its
COMMIT, and every other submission waited on that thread (`bench/intake.py` saw 0.55 s write
transactions). A handful of threads keeps the holder running: more reports per second, shorter
transactions, and the dashboard's own requests keep the shared pool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")


async def run_intake(request: Request, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` on one of the app's ``SHEKTEU_INTAKE_THREADS`` intake threads."""
    state = request.app.state
    limiter = getattr(state, "intake_limiter", None)
    if limiter is None:  # made on first use: a limiter belongs to the running event loop
        limiter = state.intake_limiter = anyio.CapacityLimiter(state.runtime.settings.intake_threads)
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=limiter)
