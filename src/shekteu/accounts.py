"""Signing in to the dashboard and the API: passwords, sessions, API tokens and sign-in throttling.

Only hashes are kept. Passwords are hashed with argon2id (slow on purpose). Session and API tokens
are 256-bit random values, so SHA-256 is enough to keep them from being usable if the database leaks.
Every account change, sign-in and failed sign-in lands in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import ApiToken, User, WebSession, utcnow
from shekteu.users import UserError, get_user
from shekteu.wording import N_

MIN_PASSWORD = 10
TOKEN_PREFIX = "shk_"  # noqa: S105 - a public prefix that tells API tokens apart, not a secret
LANGS = ("ru", "kk", "en")


def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    return PasswordHasher()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(session: Session, name: str, password: str, *, actor: str) -> User:
    user = get_user(session, name)
    if len(password) < MIN_PASSWORD:
        raise UserError(N_("the password is too short: at least {n} characters"), n=MIN_PASSWORD)
    if len(password) > 1024:
        raise UserError(N_("the password is too long: at most {n} characters"), n=1024)
    user.password_hash = _hasher().hash(password)
    session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
                    .values(ended_at=utcnow()))  # fmt: skip
    audit.record(session, "user.password", f"user:{user.name}", actor=actor, reason="password set")
    return user


# A real hash to verify against when the user does not exist, so timing does not tell names apart.
_DUMMY: list[str] = []


def check_password(session: Session, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs (and they are enabled); None otherwise."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    user = session.scalar(select(User).where(User.name == name.strip().lower()[:64]))
    if user is None or not user.password_hash or user.disabled:
        if not _DUMMY:
            _DUMMY.append(hasher.hash(secrets.token_hex(8)))
        try:
            hasher.verify(_DUMMY[0], password)
        except VerificationError:
            pass
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf: str | None  # None for API tokens: no cookie, so no cross-site forgery to guard against
    via: str  # "session" or "token"


def start_session(session: Session, user: User, *, hours: float, address: str) -> tuple[str, str]:
    """A new session for ``user``: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf=csrf, created_at=now,
                           expires_at=now + timedelta(hours=hours)))  # fmt: skip
    audit.record(session, "user.login", f"user:{user.name}", actor=user.name, reason="signed in",
                 detail={"from": address})  # fmt: skip
    return token, csrf


def session_user(session: Session, token: str) -> SignedIn | None:
    row = session.execute(
        select(WebSession, User).join(User, User.id == WebSession.user_id).where(
            WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None),
            WebSession.expires_at > utcnow(), User.disabled.is_(False))
    ).first()  # fmt: skip
    return SignedIn(row[1], row[0].csrf, "session") if row else None


def end_session(session: Session, token: str) -> None:
    web = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if web is None or web.ended_at is not None:
        return
    web.ended_at = utcnow()
    user = session.get(User, web.user_id)
    audit.record(session, "user.logout", f"user:{user.name if user else web.user_id}",
                 actor=user.name if user else "unknown", reason="signed out")  # fmt: skip


def create_token(session: Session, name: str, label: str, *, actor: str) -> str:
    """A new API token acting as ``name``; shown once, only its hash is kept."""
    user = get_user(session, name)
    label = label.strip()[:200]
    if not label:
        raise UserError(N_("an API token needs a label saying what uses it"))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=token_hash(token), user_id=user.id, label=label, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(
        session, "token.create", f"token:{row.id}", actor=actor, reason=label, detail={"user": user.name}
    )
    return token


def token_user(session: Session, token: str) -> SignedIn | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    user = session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None), User.disabled.is_(False))
    )  # fmt: skip
    return SignedIn(user, None, "token") if user else None


def revoke_token(session: Session, token_id: int, *, actor: str, reason: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        raise UserError(N_("no active API token with id {id}"), id=token_id)
    row.revoked_at = utcnow()
    audit.record(session, "token.revoke", f"token:{row.id}", actor=actor, reason=reason)


def list_tokens(session: Session) -> list[dict[str, object]]:
    rows = session.execute(
        select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    )
    return [{"id": t.id, "user": name, "label": t.label, "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t, name in rows]  # fmt: skip


def set_lang(session: Session, user: User, lang: str) -> None:
    if lang not in LANGS:
        raise UserError(N_("unknown language {lang!r}; use one of {known}"), lang=lang[:20], known=", ".join(LANGS))
    if user.lang != lang:
        user.lang = lang
        audit.record(session, "user.lang", f"user:{user.name}", actor=user.name, reason="language chosen",
                     detail={"lang": lang})  # fmt: skip
