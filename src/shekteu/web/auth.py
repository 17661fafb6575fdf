"""Who is asking: the sign-in page, session cookies, API tokens, CSRF tokens and role checks.

Pages use a session cookie (HttpOnly, SameSite=Lax, Secure behind https) plus a CSRF token in every
form or in the ``X-CSRF-Token`` header of HTMX calls. Integrations send ``Authorization: Bearer
shk_…``. Sign-in is throttled per user name and per client address; failed attempts are audited.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu import accounts, audit
from shekteu.throttle import LoginThrottle
from shekteu.users import PERMISSIONS
from shekteu.web.common import runtime
from shekteu.web.limits import same_secret

COOKIE = "shekteu_session"
LOGIN_COOKIE = "shekteu_login"
FLASH_COOKIE = "shekteu_flash"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the web layer sees them (no database object outlives its session)."""

    name: str
    roles: tuple[str, ...]
    lang: str | None
    csrf: str | None
    via: str

    def may(self, action: str) -> bool:
        return bool(set(self.roles) & {*PERMISSIONS[action], "admin"})


class NotSignedIn(Exception):
    """No valid session or token: pages redirect to the sign-in page, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role or the CSRF token does not allow this."""


def _principal(found: accounts.SignedIn | None) -> Principal | None:
    if found is None:
        return None
    return Principal(found.user.name, tuple(found.user.roles), found.user.lang, found.csrf, found.via)


def who(request: Request) -> Principal | None:
    if "who" in request.scope.get("state", {}):
        return request.state.who
    rt = runtime(request)
    auth = request.headers.get("authorization", "")
    found = None
    if auth[:7].lower() == "bearer ":
        with rt.db.read() as s:
            found = _principal(accounts.token_user(s, auth[7:].strip()))
    elif token := request.cookies.get(COOKIE):
        with rt.db.read() as s:
            found = _principal(accounts.session_user(s, token))
    request.state.who = found
    return found


def viewer(request: Request) -> Principal:
    """Dependency: any signed-in user (every role may read)."""
    found = who(request)
    if found is None:
        raise NotSignedIn()
    return found


Viewer = Annotated[Principal, Depends(viewer)]


async def _check_csrf(request: Request, found: Principal) -> None:
    if found.via != "session":  # bearer tokens are not sent by browsers on their own
        return
    sent = request.headers.get("x-csrf-token")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf")
        sent = value if isinstance(value, str) else None
    if not sent or not found.csrf or not same_secret(sent, found.csrf):
        raise Forbidden("this form has expired or did not come from this site; reload the page and try again")


async def acting(request: Request, action: str) -> Principal:
    """The user, if they may do ``action`` and (for cookie sessions) the request carries their CSRF token."""
    found = await run_in_threadpool(viewer, request)  # a database read: never on the event loop
    await _check_csrf(request, found)
    if not found.may(action):
        roles = " or ".join(PERMISSIONS[action])
        raise Forbidden(f"{found.name} ({', '.join(found.roles)}) may not do this: it needs the {roles} role")
    return found


async def allowed_reader(request: Request, action: str) -> Principal:
    """The user, if they may do ``action``: for GET downloads that carry no form (and change nothing but
    the audit log), so no CSRF token is asked for."""
    found = await run_in_threadpool(viewer, request)
    if not found.may(action):
        roles = " or ".join(PERMISSIONS[action])
        raise Forbidden(f"{found.name} ({', '.join(found.roles)}) may not do this: it needs the {roles} role")
    return found


async def acting_any(request: Request) -> Principal:
    """A signed-in user with a valid CSRF token, whatever their role (their own preferences, signing out)."""
    found = await run_in_threadpool(viewer, request)
    await _check_csrf(request, found)
    return found


def secure_cookies(request: Request) -> bool:
    return runtime(request).settings.public_url.startswith("https://")


def set_flash(response: Response, request: Request, text: str, kind: str = "ok") -> None:
    value = quote(json.dumps({"kind": kind, "text": text[:500]}, ensure_ascii=False))
    response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax",
                        secure=secure_cookies(request), path="/")  # fmt: skip


def take_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
        return {
            "kind": "error" if data.get("kind") == "error" else "ok",
            "text": str(data.get("text", ""))[:500],
        }
    except (ValueError, AttributeError):
        return None


def safe_next(target: str | None) -> str:
    """Only our own dashboard paths: no open redirect to another site."""
    if target and target.startswith("/dash") and "//" not in target and "\\" not in target:
        return target
    return "/dash"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(
    request: Request, status: int = 200, error: str | None = None, next_url: str = "/dash",
    retry_after: int | None = None,
) -> Response:
    from shekteu.web.pages import render_anonymous

    csrf = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render_anonymous(request, "dash/login.html", code=status, error=error, login_csrf=csrf,
                                next_url=safe_next(next_url))  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
                        secure=secure_cookies(request), path="/login")  # fmt: skip
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/dash") -> Response:
    if who(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/dash",
) -> Response:
    from shekteu.web.i18n import pick, translator

    _ = translator(pick(request.headers.get("accept-language", "")))
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not same_secret(csrf, expected):
        return _login_page(request, 400, _("The sign-in form expired. Please try again."), next)
    rt = runtime(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.attempt(name, address)  # counted before the password is checked
    if wait:
        return _login_page(request, 429, _("Too many failed sign-ins. Try again in {minutes} min.")
                           .format(minutes=wait // 60 + 1), next, retry_after=wait)  # fmt: skip

    def check() -> tuple[str, str] | None:
        with rt.db.write() as s:
            user = accounts.check_password(s, name, password)
            if user is None:
                audit.record(s, "user.login_failed", f"user:{name.strip().lower()[:64]}", actor="anonymous",
                             reason="wrong name or password", detail={"from": client_address(request)})  # fmt: skip
                return None
            return accounts.start_session(
                s, user, hours=rt.settings.session_hours, address=client_address(request)
            )

    started = await run_in_threadpool(check)
    if started is None:
        return _login_page(request, 401, _("Wrong name or password."), next)
    throttle.succeeded(name, address)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, started[0], max_age=int(rt.settings.session_hours * 3600), httponly=True,
                        samesite="lax", secure=secure_cookies(request), path="/")  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = await run_in_threadpool(who, request)
    if found is not None and found.via == "session":
        await acting_any(request)
        rt = runtime(request)
        token = request.cookies.get(COOKIE, "")

        def end() -> None:
            with rt.db.write() as s:
                accounts.end_session(s, token)

        await run_in_threadpool(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
