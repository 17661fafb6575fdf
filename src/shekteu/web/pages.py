"""What every dashboard page shares: rendering in the user's language, the navigation, flash messages,
the post-redirect-get step around library calls, and how errors reach the user.

Library calls raise ValueError subclasses with a message that names the problem; pages show it as a
flash message after redirecting back, the API returns it as ``{"detail": …}`` with status 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu.runtime import Runtime
from shekteu.users import NotPermitted
from shekteu.web.auth import FLASH_COOKIE, Forbidden, NotSignedIn, Principal, acting, set_flash, take_flash
from shekteu.web.common import runtime, templates
from shekteu.web.i18n import LANGS, N_, NAMES, pick, translator
from shekteu.wording import Refusal, Said, Term, wording

NAV = (("overview", "/dash", N_("Overview")), ("tips", "/dash/tips", N_("Tips")), ("shops", "/dash/shops", N_("Shops")),
       ("verdicts", "/dash/verdicts", N_("Verdicts")),
       ("takedowns", "/dash/takedowns", N_("Takedowns")), ("map", "/dash/map", N_("Map")),
       ("field", "/dash/field", N_("Field")),
       ("board", "/dash/board", N_("Task board")), ("sensors", "/dash/sensors", N_("Sensors")),
       ("posts", "/dash/posts", N_("Posts")), ("stats", "/dash/stats", N_("Statistics")),
       ("audit", "/dash/audit", N_("Audit log")),
       ("queue", "/dash/queue", N_("Job queue")), ("settings", "/dash/settings", N_("Settings")))  # fmt: skip
NAV_PERMISSION = {"queue": "queue.manage", "sensors": "sensors", "posts": "posts"}  # shown only to those who may use it


def language(request: Request, user: Principal | None) -> str:
    return pick(request.headers.get("accept-language", ""), user.lang if user else None)


def render(request: Request, user: Principal, name: str, *, section: str, code: int = 200,
           **values: Any) -> HTMLResponse:  # fmt: skip
    lang = language(request, user)
    flash = take_flash(request)
    context = {"user": user, "lang": lang, "langs": LANGS, "lang_names": NAMES, "_": translator(lang),
               "nav": [n for n in NAV if n[0] not in NAV_PERMISSION or user.may(NAV_PERMISSION[n[0]])],
               "section": section, "flash": flash, "csrf": user.csrf or "", **values}  # fmt: skip
    response = templates().TemplateResponse(request, name, context, status_code=code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def render_anonymous(request: Request, name: str, *, code: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request, None)
    context = {
        "user": None,
        "lang": lang,
        "langs": LANGS,
        "lang_names": NAMES,
        "_": translator(lang),
        **values,
    }
    return templates().TemplateResponse(request, name, context, status_code=code)


def back(request: Request, url: str, text: str | Said, kind: str = "ok", user: Principal | None = None) -> Response:
    """Redirect to ``url`` with a flash message; a ``Said`` one in the language of ``user`` (or of
    the request)."""
    response = RedirectResponse(url, status_code=303)
    if isinstance(text, Said):
        text = text.text(translator(language(request, user)))
    set_flash(response, request, text, kind)
    return response


async def perform(request: Request, action: str, change: Callable[[Runtime, Principal], str | Said], *,
                  to: str) -> Response:  # fmt: skip
    """Check the role and CSRF token, run ``change`` in a worker thread, and go back to ``to`` with its
    message (or the error's) as a flash message, in the user's language."""
    user = await acting(request, action)
    rt = runtime(request)
    try:
        message = await run_in_threadpool(change, rt, user)
    except ValueError as exc:
        return back(request, to, wording(exc), "error", user=user)
    return back(request, to, message, user=user)


async def form_values(request: Request) -> dict[str, str]:
    """The text fields of a posted form (files are read by the routes that take them)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def as_int(value: str | None, what: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise Refusal(N_("{what} must be a whole number, not {value!r}"), what=Term(what), value=(value or "")[:30]) from None


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in, or send Authorization: Bearer <API token>"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/dash"
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        user = request.state.who if "who" in request.scope.get("state", {}) else None
        if user is None:
            return render_anonymous(request, "dash/error.html", code=403, message=str(exc))
        return render(request, user, "dash/error.html", section="", code=403, message=str(exc))


async def api_change(request: Request, action: str, change: Callable[[Runtime, Principal], Any]) -> Any:
    """For JSON API writes: role (and CSRF for cookie sessions), then ``change``; its errors become 400."""
    from fastapi import HTTPException

    user = await acting(request, action)
    try:
        return await run_in_threadpool(change, runtime(request), user)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
