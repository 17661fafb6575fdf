"""The audit log with filters, and settings: warninglists, zones upload, users and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from shekteu import accounts, audit
from shekteu.runtime import Runtime
from shekteu.shops import warninglist
from shekteu.street.zones import KINDS as ZONE_KINDS
from shekteu.street.zones import edit_zone, list_zones
from shekteu.users import ROLES, add_user, list_users, set_disabled, set_roles
from shekteu.web.auth import Principal, Viewer, acting
from shekteu.web.common import runtime
from shekteu.web.i18n import N_
from shekteu.web.pages import as_int, back, form_values, perform, render
from shekteu.wording import Refusal, said, wording

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["audit and settings"])
Text = Annotated[str | None, Query(max_length=200)]


def _when(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{what}: not a date (YYYY-MM-DD or ISO 8601): {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _audit(rt: Runtime, **filters: Any) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return [audit.entry_json(e) for e in audit.search(s, **filters)]


async def _search(request: Request, actor: str | None, action: str | None, target: str | None, since: str | None,
                  until: str | None, before: int | None, limit: int) -> list[dict[str, Any]]:  # fmt: skip
    filters = {"actor": actor or None, "action": action or None, "target": target or None,
               "since": _when(since, "since"), "until": _when(until, "until"), "before_id": before, "limit": limit}  # fmt: skip
    return await run_in_threadpool(lambda: _audit(runtime(request), **filters))


@api.get("/audit", summary="The audit log, newest first, with filters")
async def audit_json(request: Request, user: Viewer, actor: Text = None, action: Text = None, target: Text = None,
                     since: Text = None, until: Text = None,
                     before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:  # fmt: skip
    return await _search(request, actor, action, target, since, until, before, limit)


@pages.get("/dash/audit", response_class=HTMLResponse)
async def audit_page(request: Request, user: Viewer, actor: Text = None, action: Text = None, target: Text = None,
                     since: Text = None, until: Text = None,
                     before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> HTMLResponse:  # fmt: skip
    try:
        rows = await _search(request, actor, action, target, since, until, before, 100)
        error = None
    except HTTPException as exc:
        rows, error = [], exc.detail
    filters = {"actor": actor or "", "action": action or "", "target": target or "", "since": since or "",
               "until": until or ""}  # fmt: skip
    return render(
        request, user, "dash/audit.html", section="audit", entries=rows, filters=filters, error=error
    )


def _verify(rt: Runtime) -> dict[str, Any]:
    from shekteu.audit_check import check_runtime

    return check_runtime(rt).as_json()


@api.get("/audit/verify", summary="Check the whole audit log: chain, seals, witness file, timestamped heads")
async def audit_verify_json(request: Request, user: Viewer) -> dict[str, Any]:
    return await run_in_threadpool(_verify, runtime(request))


@pages.get("/dash/audit/verify", response_class=HTMLResponse)
async def audit_verify_page(request: Request, user: Viewer) -> HTMLResponse:
    report = await run_in_threadpool(_verify, runtime(request))
    return render(request, user, "dash/audit_verify.html", section="audit", report=report)


def _warninglist(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        return [{"list": e.list_name, "type": e.type, "value": e.value, "added_by": e.added_by,
                 "added_at": e.added_at.isoformat()} for e in warninglist.entries(s)]  # fmt: skip


@api.get("/warninglist", summary="Platforms never treated as shops or blocked as a whole")
async def warninglist_json(request: Request, user: Viewer) -> list[dict]:
    return await run_in_threadpool(_warninglist, runtime(request))


def _settings(rt: Runtime, admin: bool) -> dict[str, Any]:
    with rt.db.read() as s:
        users = [{"name": u.name, "roles": u.roles, "disabled": u.disabled, "has_password": bool(u.password_hash)}
                 for u in list_users(s)] if admin else []  # fmt: skip
        return {"users": users, "tokens": accounts.list_tokens(s) if admin else [], "zones": list_zones(s)}


@pages.get("/dash/settings", response_class=HTMLResponse)
async def settings_page(request: Request, user: Viewer) -> HTMLResponse:
    rt = runtime(request)
    entries = await run_in_threadpool(_warninglist, rt)
    data = await run_in_threadpool(_settings, rt, user.may("user.manage"))
    return render(request, user, "dash/settings.html", section="settings", entries=entries, zone_kinds=ZONE_KINDS,
                  roles=ROLES, new_token=None, **data)  # fmt: skip


@pages.post("/dash/settings/warninglist")
async def warninglist_form(request: Request) -> Response:
    v = await form_values(request)

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            if v.get("do") == "remove":
                warninglist.remove(
                    s, v.get("type", ""), v.get("value", ""), actor=user.name, reason=v.get("reason", "")
                )
                return said(N_("removed {indicator}"), indicator=f"{v.get('type')}:{v.get('value')}")
            if not v.get("reason"):
                raise Refusal(N_("adding to the warninglist needs a reason"))
            e = warninglist.add(s, v.get("type", ""), v.get("value", ""), list_name=v.get("list") or "local",
                                actor=user.name, reason=v.get("reason", ""))  # fmt: skip
            return said(N_("added {indicator}"), indicator=f"{e.type}:{e.value}")

    return await perform(request, "warninglist.edit", change, to="/dash/settings")


@pages.post("/dash/settings/users/{name}")
async def user_edit_form(request: Request, name: Annotated[str, Path(max_length=64)]) -> Response:
    """Change a user's roles, or disable / enable them (each audited, with its reason)."""
    form = await request.form()
    roles = [r for r in form.getlist("role") if isinstance(r, str)]
    do, reason = str(form.get("do") or ""), str(form.get("reason") or "")

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            if do == "roles":
                set_roles(s, name, roles, actor=user.name, reason=reason)
                return said(N_("{name}: roles {roles}"), name=name, roles=", ".join(sorted(roles)))
            if do in ("disable", "enable"):
                set_disabled(s, name, do == "disable", actor=user.name, reason=reason)
                return said(N_("{name}: disabled") if do == "disable" else N_("{name}: enabled"), name=name)
        raise Refusal(N_("choose what to change"))

    return await perform(request, "user.manage", change, to="/dash/settings#users")


@pages.post("/dash/settings/zones/{zone_id}")
async def zone_edit_form(request: Request, zone_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    v = await form_values(request)

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            zone = edit_zone(s, zone_id, name=v.get("name", ""), contact=v.get("contact"), actor=user.name,
                             reason=v.get("reason", ""))  # fmt: skip
            return said(N_("zone {id}: {name}"), id=zone.id, name=zone.name)

    return await perform(request, "zone.import", change, to="/dash/settings#zones")


@pages.post("/dash/settings/users")
async def users_form(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    roles = [r for r in form.getlist("role") if isinstance(r, str)]

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            add_user(s, name, roles, actor=user.name)
            accounts.set_password(s, name, password, actor=user.name)
        return said(N_("user {name} added"), name=name.strip().lower())

    return await perform(request, "user.manage", change, to="/dash/settings")


@pages.post("/dash/settings/tokens", response_class=HTMLResponse)
async def token_form(request: Request) -> Response:
    """A new API token, for the signed-in user only, shown once on this page and never again.

    A token is minted by its owner: an admin who could mint one for an approver could approve as that
    approver, and four eyes would be two. An admin may revoke anyone's."""
    user = await acting(request, "user.manage")
    v = await form_values(request)
    rt = runtime(request)

    def create() -> str:
        owner = v.get("user") or user.name
        if owner != user.name:
            raise Refusal(N_("an API token is minted by its owner: {owner} must sign in and create it"), owner=owner)
        with rt.db.write() as s:
            return accounts.create_token(s, user.name, v.get("label", ""), actor=user.name)

    try:
        token = await run_in_threadpool(create)
    except ValueError as exc:
        return back(request, "/dash/settings", wording(exc), "error", user=user)
    entries = await run_in_threadpool(_warninglist, rt)
    data = await run_in_threadpool(_settings, rt, True)
    response = render(request, user, "dash/settings.html", section="settings", entries=entries,
                      zone_kinds=ZONE_KINDS, roles=ROLES, new_token=token, **data)  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.post("/dash/settings/tokens/{token_id}/revoke")
async def revoke_form(request: Request, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    v = await form_values(request)

    def change(rt: Runtime, user: Principal) -> str:
        with rt.db.write() as s:
            accounts.revoke_token(s, as_int(str(token_id), N_("token id")), actor=user.name,
                                  reason=v.get("reason") or "revoked")  # fmt: skip
        return said(N_("token {id} revoked"), id=token_id)

    return await perform(request, "user.manage", change, to="/dash/settings")
