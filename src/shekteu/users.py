"""The people who act on the platform and their roles; four-eyes rules are checked against these.

The CLI names the acting user with ``--as USER``; the web UI (issue 7) will authenticate the same
users. Roles: ``analyst`` (triage, propose), ``approver`` (approve or reject takedowns),
``coordinator`` (street teams), ``admin`` (everything but approving their own proposals),
``auditor`` (read-only).
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import User, utcnow
from shekteu.wording import N_, Refusal, Terms

ROLES = ("analyst", "approver", "coordinator", "admin", "auditor")
# Who may do what in the dashboard and the API; admin may do everything, auditor nothing but read.
PERMISSIONS = {
    "tip.triage": ("analyst",),
    "shop.edit": ("analyst",),
    "case.open": ("analyst", "approver"),
    "takedown.propose": ("analyst", "approver"),
    "takedown.approve": ("approver",),
    "takedown.send": ("analyst", "approver"),
    "spot.edit": ("coordinator",),
    "zone.import": ("coordinator",),
    "field.edit": ("analyst", "coordinator"),
    "warninglist.edit": ("analyst",),
    "user.manage": ("admin",),
    "verdict.correct": ("analyst",),
    "model.manage": ("admin",),
    "queue.manage": ("admin",),
    # Covert sensors (issue 22): their positions and alerts are for the drug unit only, never for
    # volunteer coordinators; changes and position listings are audited.
    "sensors": ("analyst",),
    # Checkpoint plans (issue 26): where mobile posts stand is for the drug unit only; every plan made
    # and every view of post positions is audited.
    "posts": ("analyst",),
}
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class UserError(Refusal):
    """An unknown or disabled user, a bad name or role, or a missing permission."""


def add_user(session: Session, name: str, roles: list[str], *, actor: str) -> User:
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        raise UserError(N_("bad user name {name!r}: 2-64 of a-z, 0-9, '.', '_', '-'"), name=name[:80])
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise UserError(N_("unknown role {roles}; roles are {known}"), roles=", ".join(unknown) or "(none)",
                        known=Terms(ROLES))  # fmt: skip
    if session.scalar(select(User).where(User.name == name)):
        raise UserError(N_("user {name} already exists"), name=name)
    user = User(name=name, roles=sorted(set(roles)), disabled=False, created_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(
        session,
        "user.add",
        f"user:{name}",
        actor=actor,
        reason="account created",
        detail={"roles": user.roles},
    )
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip().lower()))
    if user is None:
        raise UserError(N_("no user {name!r}; add one with `shekteu users add NAME --role ROLE`"), name=name[:80])
    if user.disabled:
        raise UserError(N_("user {name} is disabled"), name=user.name)
    return user


class NotPermitted(UserError):
    """The user exists but their roles do not allow this (HTTP 403, not 400)."""


def require(session: Session, name: str, *roles: str) -> User:
    """The user, if they have one of ``roles`` (admin counts for every role but auditor's)."""
    user = get_user(session, name)
    if not set(user.roles) & {*roles, "admin"}:
        raise NotPermitted(N_("user {name} ({roles}) may not do this: needs {needed}"), name=user.name,
                           roles=Terms(user.roles), needed=Terms(roles, " / "))  # fmt: skip
    return user


def allowed(user: User, action: str) -> bool:
    """Whether ``user`` may do ``action`` (a key of PERMISSIONS)."""
    return not user.disabled and bool(set(user.roles) & {*PERMISSIONS[action], "admin"})


def permit(session: Session, name: str, action: str) -> User:
    """The user, if they may do ``action``; otherwise UserError naming the roles that may."""
    return require(session, name, *PERMISSIONS[action])


def authorize(session: Session, actor: str, action: str) -> str:
    """The name to record for ``actor`` doing ``action``, after checking they may.

    ``system:<stage>`` is the platform's own work, and ``cli:<account>`` the local operator (a shell
    on the server, who holds the data directory anyway); any other name is a user, who must exist,
    be active and have the permission — the one table the dashboard and the API use too."""
    if actor.startswith(("system:", "cli:")):
        return actor
    return permit(session, actor, action).name


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def _active_admins(session: Session) -> list[str]:
    return [u.name for u in session.scalars(select(User)) if "admin" in u.roles and not u.disabled]


def set_roles(session: Session, name: str, roles: list[str], *, actor: str, reason: str) -> User:
    """Give a user exactly these roles (audited); the last active admin keeps theirs."""
    user = get_user(session, name)
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise UserError(N_("unknown role {roles}; roles are {known}"), roles=", ".join(unknown) or "(none)",
                        known=Terms(ROLES))  # fmt: skip
    if not reason.strip():
        raise UserError(N_("changing roles needs a reason"))
    if "admin" in user.roles and "admin" not in roles and _active_admins(session) == [user.name]:
        raise UserError(N_("{name} is the last active admin: make someone else admin first"), name=user.name)
    before, user.roles = list(user.roles), sorted(set(roles))
    audit.record(session, "user.roles", f"user:{user.name}", actor=actor, reason=reason,
                 detail={"from": before, "to": user.roles})  # fmt: skip
    return user


def set_disabled(session: Session, name: str, disabled: bool, *, actor: str, reason: str) -> User:
    """Disable (or enable again) a user, audited; a disabled user's sign-ins end at once."""
    from shekteu.db.tables import WebSession

    user = get_user(session, name)
    if not reason.strip():
        raise UserError(N_("disabling or enabling a user needs a reason"))
    if disabled and user.name == actor.strip().lower():
        raise UserError(N_("you cannot disable yourself"))
    if disabled and "admin" in user.roles and _active_admins(session) == [user.name]:
        raise UserError(N_("{name} is the last active admin"), name=user.name)
    user.disabled = disabled
    if disabled:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(session, "user.disable" if disabled else "user.enable", f"user:{user.name}", actor=actor,
                 reason=reason)  # fmt: skip
    return user
