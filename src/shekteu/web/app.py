"""The FastAPI application `shekteu serve` runs: security headers, static files, the routers."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from shekteu.runtime import Runtime

CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
MAX_BODY = 30_000_000  # no request body above this is read at all


def create_app(rt: Runtime) -> FastAPI:
    from shekteu.web import form, open311, telegram_hook, whatsapp

    app = FastAPI(title="Shekteu", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.runtime = rt

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY):
            return Response("request body too large", status_code=413)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("shekteu.web").joinpath("static"))),
        name="static",
    )
    app.include_router(form.router)
    app.include_router(open311.router)
    app.include_router(whatsapp.router)
    app.include_router(telegram_hook.router)
    return app
