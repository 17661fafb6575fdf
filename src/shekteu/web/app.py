"""The FastAPI application `shekteu serve` runs: security headers, static files, the routers.

One app serves citizens (the report form, Open311, messenger webhooks) and staff (the dashboard under
``/dash`` and its JSON API under ``/api``, documented at ``/api/openapi.json``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from shekteu.runtime import Runtime
from shekteu.throttle import LoginThrottle, LookupLimit
from shekteu.web.limits import BodyLimit

MAX_BODY = 30_000_000  # no request body above this is read at all
BODY_SECONDS = 120.0  # a body still arriving after this is refused (slow uploads hold a worker)


def content_security_policy(tiles_url: str) -> str:
    """Scripts and styles only from our own origin (no inline code); images also from the map tile host."""
    tiles = ""
    if tiles_url:
        parts = urlsplit(
            tiles_url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0")
        )
        tiles = (
            f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tiles_url else parts.netloc}"
        )
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:" + tiles + "; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip


@asynccontextmanager
async def _embedded_worker(app: FastAPI) -> AsyncIterator[None]:
    """A job worker in the server's process (``SHEKTEU_EMBEDDED_WORKER``), stopped with the server
    after its current jobs finish."""
    rt: Runtime = app.state.runtime
    worker = None
    if app.state.embedded_worker:
        from shekteu.queue.worker import Worker

        worker = Worker(rt)
        worker.start()
    app.state.worker = worker
    try:
        yield
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)


def create_app(rt: Runtime, *, embedded_worker: bool | None = None) -> FastAPI:
    """The app; it runs a job worker in its own threads while it serves when ``embedded_worker`` (by
    default ``SHEKTEU_EMBEDDED_WORKER``; ``shekteu serve`` runs it as a child process instead)."""
    from shekteu.integrations.telegram import webhook as telegram_hook
    from shekteu.integrations.whatsapp import webhook as whatsapp
    from shekteu.web import (
        auth,
        dash_admin,
        dash_field,
        dash_overview,
        dash_posts,
        dash_queue,
        dash_seismic,
        dash_shops,
        dash_stats,
        dash_street,
        dash_takedowns,
        dash_tips,
        dash_verdicts,
        form,
        open311,
        pages,
    )

    app = FastAPI(title="Shekteu", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
                  description="The dashboard's JSON API. Sign in with a session cookie (pages) or send "
                  "`Authorization: Bearer shk_…` (an API token from `shekteu users token`).",
                  lifespan=_embedded_worker)  # fmt: skip
    app.state.runtime = rt
    app.state.embedded_worker = rt.settings.embedded_worker if embedded_worker is None else embedded_worker
    app.state.login_throttle = LoginThrottle(rt.settings.login_max_failures)
    app.state.lookups = LookupLimit(rt.settings.lookup_rate_limit)
    csp = content_security_policy(rt.settings.map_tiles_url)

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path.startswith(("/dash", "/api", "/login")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # Outermost, so the body is counted before any route or middleware reads it.
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY, seconds=BODY_SECONDS)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("shekteu.web").joinpath("static"))),
        name="static",
    )
    pages.install_error_pages(app)
    app.include_router(form.router)
    app.include_router(open311.router)
    app.include_router(whatsapp.router)
    app.include_router(telegram_hook.router)
    app.include_router(auth.router)
    for module in (dash_overview, dash_tips, dash_shops, dash_takedowns, dash_street, dash_field, dash_verdicts,
                   dash_queue, dash_seismic, dash_posts, dash_stats, dash_admin):
        app.include_router(module.api)
        app.include_router(module.pages)

    @app.get("/dash/", include_in_schema=False)
    def dash_slash() -> RedirectResponse:
        return RedirectResponse("/dash", status_code=308)

    return app
