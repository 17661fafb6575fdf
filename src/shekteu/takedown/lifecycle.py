"""The takedown lifecycle: proposed → approved → sent → blocked → verified, accountable at each step.

Every transition names the user, the time, the reason and the evidence captures, and lands in the
same transaction as its audit entry. Approval needs a second person with the approver role: the
proposer can never approve their own proposal. A domain on the warninglist is never a target (a
URL on it is). Bad requests — unknown ids, a second approval, an impossible transition — raise
``TakedownError`` before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import (
    Capture,
    Indicator,
    Item,
    ItemIndicator,
    ShopIndicator,
    ShopItem,
    Takedown,
    TakedownEvent,
    utcnow,
)
from shekteu.indicators.cards import keyed_hash, mask
from shekteu.indicators.extract import CardPolicy
from shekteu.indicators.types import TAKEDOWN_TARGET, WALLETS
from shekteu.shops.edit import ShopError, get_shop
from shekteu.shops.warninglist import Warninglist
from shekteu.users import require
from shekteu.wording import N_, Refusal, Term, Terms

TARGETS = ("url", "domain", "telegram_channel", "telegram_bot", "telegram_account", "bank_card", "wallet")
RECIPIENTS = ("regulator", "telegram", "bank", "hosting")
# Which takedown an indicator of a shop leads to (the shop page offers these).
TARGET_FOR_INDICATOR = TAKEDOWN_TARGET
STATES = ("proposed", "approved", "sent", "blocked", "verified", "rejected", "reappeared")
OPEN = ("proposed", "approved", "sent", "blocked", "verified", "reappeared")
TRANSITIONS = {
    "proposed": {"approved", "rejected"},
    "approved": {"sent", "rejected"},
    "sent": {"blocked", "rejected"},
    "blocked": {"verified", "reappeared"},
    "verified": {"reappeared"},
    "reappeared": {"sent", "blocked"},
    "rejected": set(),
}
DEFAULT_RECIPIENT = {
    "url": "regulator",
    "domain": "regulator",
    "telegram_channel": "telegram",
    "telegram_bot": "telegram",
    "telegram_account": "telegram",
    "bank_card": "bank",
    "wallet": "bank",
}
ALLOWED_RECIPIENTS = {
    "url": {"regulator", "hosting"},
    "domain": {"regulator", "hosting"},
    "telegram_channel": {"telegram", "regulator"},
    "telegram_bot": {"telegram", "regulator"},
    "telegram_account": {"telegram", "regulator"},
    "bank_card": {"bank"},
    "wallet": {"bank"},
}
# The indicator types a target matches, to link it to its shop and its evidence.
INDICATOR_TYPES = {
    "domain": ("domain", "onion"),
    "url": ("url",),
    "telegram_channel": ("telegram_username",),
    "telegram_bot": ("telegram_bot",),
    "telegram_account": ("telegram_username",),
    "bank_card": ("bank_card",),
    "wallet": WALLETS,
}
_TG_NAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")


class TakedownError(Refusal):
    """A takedown request that cannot be done; the message says why. Nothing was changed."""


def normalise_target(kind: str, target: str, warn: Warninglist) -> str:
    if kind not in TARGETS:
        raise TakedownError(N_("unknown target type {kind!r}; use one of {known}"), kind=kind, known=", ".join(TARGETS))
    target = target.strip()
    if kind == "url":
        try:
            parts = urlsplit(target if "://" in target else "http://" + target)
            host = parts.hostname
        except ValueError:
            host = None
        if host is None or parts.scheme not in ("http", "https"):
            raise TakedownError(N_("not a web address: {target!r}"), target=target[:200])
        return parts._replace(netloc=parts.netloc.lower(), fragment="").geturl()
    if kind == "domain":
        try:
            host = urlsplit(target).hostname if "://" in target else target
            ascii_host = (host or "").lower().rstrip(".").removeprefix("www.").encode("idna").decode("ascii")
        except (ValueError, UnicodeError):  # a broken URL; an empty or over-long label
            ascii_host = ""
        if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]{2,}", ascii_host):
            raise TakedownError(N_("not a domain name: {target!r}"), target=target[:200])
        host = (host or "").lower().rstrip(".").removeprefix("www.")
        listed = warn.domain_listed(host)
        if listed:
            raise TakedownError(N_(
                "{host} is on the warninglist ({list}): never blocked as a whole domain; propose a url takedown instead"
            ), host=host, list=listed)  # fmt: skip
        return host
    if kind.startswith("telegram_"):
        m = _TG_NAME.fullmatch(target.removeprefix("https://t.me/").removeprefix("t.me/").strip("/"))
        if not m:
            raise TakedownError(N_("not a Telegram name: {target!r}"), target=target[:200])
        name = "@" + m.group(1).lower()
        if warn.listed("telegram_username", name) or warn.listed("telegram_bot", name):
            raise TakedownError(N_("{name} is on the warninglist"), name=name)
        return name
    return target


@dataclass
class Transition:
    takedown: Takedown
    event: TakedownEvent


def _event(
    session: Session,
    td: Takedown,
    to: str,
    *,
    actor: str,
    reason: str,
    captures: list[int],
    detail: dict[str, Any] | None = None,
) -> TakedownEvent:
    if not reason or not reason.strip():
        raise TakedownError(N_("every takedown step needs a reason (--reason)"))
    frm = None if to == "proposed" else td.state
    if frm is not None and to not in TRANSITIONS[frm]:
        if not TRANSITIONS[frm]:
            raise TakedownError(N_("takedown {id} is {state}: it cannot become {to} (from {state}: nothing, it is closed)"),
                                id=td.id, state=Term(frm), to=Term(to))  # fmt: skip
        raise TakedownError(N_("takedown {id} is {state}: it cannot become {to} (from {state}: {next})"), id=td.id,
                            state=Term(frm), to=Term(to), next=Terms(sorted(TRANSITIONS[frm])))  # fmt: skip
    known = set(session.scalars(select(Capture.id).where(Capture.id.in_(captures)))) if captures else set()
    if set(captures) - known:
        raise TakedownError(N_("no capture with id {ids}"), ids=", ".join(map(str, sorted(set(captures) - known))))
    now = utcnow()
    td.state, td.updated_at = to, now
    if to == "sent":
        td.sent_at = now
    elif to == "blocked" and td.blocked_at is None:
        td.blocked_at = now
    elif to == "verified":
        td.verified_at = now
        if td.shop_id is not None:  # only a verified block is told to the citizens who reported the shop
            from shekteu.tips.status import on_shop_blocked

            on_shop_blocked(session, td.shop_id, td.id)
    event = TakedownEvent(
        takedown_id=td.id,
        at=now,
        actor=actor,
        from_state=frm,
        to_state=to,
        reason=reason,
        capture_ids=sorted(set(captures)),
        detail=detail or {},
    )
    session.add(event)
    audit.record(
        session,
        f"takedown.{to}",
        f"takedown:{td.id}",
        actor=actor,
        reason=reason,
        detail={"from": frm, "captures": event.capture_ids, **(detail or {})},
    )
    session.flush()
    return event


def _evidence(session: Session, kind: str, target: str, key: str | None = None) -> tuple[int | None, list[int]]:
    """The shop of the target (its indicator's, or for a URL its page's) and captures that show it;
    ``key`` finds a card by its keyed hash (two cards may share a masked form)."""
    if kind == "url":
        pages = session.execute(
            select(Item.id, Item.capture_id, ShopItem.shop_id)
            .outerjoin(ShopItem, ShopItem.item_id == Item.id)
            .where(Item.url == target)
        ).all()
        if pages:
            shops = [p[2] for p in pages if p[2] is not None]
            return (shops[0] if shops else None), sorted({p[1] for p in pages if p[1] is not None})
    ind = session.execute(
        select(Indicator.id, ShopIndicator.shop_id)
        .outerjoin(ShopIndicator, ShopIndicator.indicator_id == Indicator.id)
        .where(Indicator.type.in_(INDICATOR_TYPES[kind]), (Indicator.key if key else Indicator.normalized) == (key or target))
        .order_by(ShopIndicator.shop_id.is_(None))
    ).first()
    if ind is None:
        return None, []
    captures = session.scalars(
        select(Item.capture_id)
        .join(ItemIndicator, ItemIndicator.item_id == Item.id)
        .where(ItemIndicator.indicator_id == ind[0], Item.capture_id.is_not(None))
        .distinct()
        .limit(20)
    )
    return ind[1], sorted(c for c in captures if c is not None)


def card_target(target: str, cards: CardPolicy | None) -> tuple[str, str | None]:
    """(what the takedown stores for a card, its keyed hash): the masked number unless the policy
    keeps full numbers. An already masked number (``440043******6787``) is taken as it is."""
    digits = re.sub(r"[\s-]", "", target)
    if re.fullmatch(r"\d{6}\*{3,9}\d{4}", digits):
        return digits, None
    if not re.fullmatch(r"\d{13,19}", digits):  # no Luhn check: a shop's mistyped card is still its card
        raise TakedownError(N_("not a card number: {target!r} (13–19 digits, or a masked number)"), target=target[:30])
    if cards is not None and cards.keep_full:
        return digits, keyed_hash(digits, cards.key)
    return mask(digits), keyed_hash(digits, cards.key) if cards is not None else None


def propose(
    session: Session,
    kind: str,
    target: str,
    *,
    actor: str,
    reason: str,
    recipient: str | None = None,
    shop_id: int | None = None,
    captures: list[int] | None = None,
    cards: CardPolicy | None = None,
) -> Transition:
    """Propose a takedown. A card is kept as the indicators keep it — masked, with its keyed hash in
    the event — unless ``cards`` allows full numbers; the full number is never stored otherwise."""
    require(session, actor, "analyst", "approver")
    target = normalise_target(kind, target, Warninglist.load(session))
    card_hash = None
    if kind == "bank_card":
        target, card_hash = card_target(target, cards)
    recipient = recipient or DEFAULT_RECIPIENT[kind]
    if recipient not in RECIPIENTS:
        raise TakedownError(N_("unknown recipient {recipient!r}; use one of {known}"), recipient=recipient,
                            known=", ".join(RECIPIENTS))  # fmt: skip
    if recipient not in ALLOWED_RECIPIENTS[kind]:
        raise TakedownError(N_("a {kind} goes to {allowed}, not {recipient}"), kind=kind,
                            allowed=Terms(sorted(ALLOWED_RECIPIENTS[kind]), " / "), recipient=Term(recipient))  # fmt: skip
    existing = session.scalar(
        select(Takedown).where(
            Takedown.target_type == kind,
            Takedown.target == target,
            Takedown.recipient == recipient,
            Takedown.state.in_(OPEN),
        )
    )
    if existing:
        raise TakedownError(N_("{kind} {target} already has takedown {id} ({state}) to {recipient}"), kind=kind,
                            target=target, id=existing.id, state=Term(existing.state), recipient=Term(recipient))  # fmt: skip
    linked_shop, found = _evidence(session, kind, target, card_hash)
    if shop_id is not None:
        try:
            linked_shop = get_shop(session, shop_id).id
        except ShopError as exc:
            raise TakedownError.like(exc) from None
    now = utcnow()
    td = Takedown(
        shop_id=linked_shop,
        target_type=kind,
        target=target,
        recipient=recipient,
        state="proposed",
        proposed_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(td)
    try:
        session.flush()
    except IntegrityError:  # a proposal of the same target committed meanwhile (the partial unique index)
        raise TakedownError(N_("{kind} {target} already has an open takedown to {recipient}"), kind=kind, target=target,
                            recipient=Term(recipient)) from None  # fmt: skip
    event = _event(
        session,
        td,
        "proposed",
        actor=actor,
        reason=reason,
        captures=(captures or []) + found,
        detail={"target_type": kind, "target": target, "recipient": recipient, "shop": linked_shop}
        | ({"card_hash": card_hash} if card_hash else {}),
    )
    return Transition(td, event)


def get(session: Session, takedown_id: int, *, lock: bool = False) -> Takedown:
    """The takedown; with ``lock``, its row is locked to commit, so two people changing it at once
    take turns and the second sees the first's change (issue 20)."""
    td = session.get(Takedown, takedown_id, with_for_update=lock or None, populate_existing=lock)
    if td is None:
        raise TakedownError(N_("no takedown with id {id}"), id=takedown_id)
    return td


def approve(session: Session, takedown_id: int, *, actor: str, reason: str) -> Transition:
    user = require(session, actor, "approver")
    td = get(session, takedown_id, lock=True)
    if td.state != "proposed":
        if td.approved_by:
            raise TakedownError(N_("takedown {id} is {state}, approved by {by}: nothing to approve"), id=td.id,
                                state=Term(td.state), by=td.approved_by)  # fmt: skip
        raise TakedownError(N_("takedown {id} is {state}: nothing to approve"), id=td.id, state=Term(td.state))
    if td.proposed_by == user.name:
        raise TakedownError(N_("{name} proposed takedown {id}: a second person must approve it (four eyes)"),
                            name=user.name, id=td.id)  # fmt: skip
    td.approved_by = user.name
    return Transition(td, _event(session, td, "approved", actor=user.name, reason=reason, captures=[]))


def reject(session: Session, takedown_id: int, *, actor: str, reason: str) -> Transition:
    user = require(session, actor, "approver")
    td = get(session, takedown_id, lock=True)
    return Transition(td, _event(session, td, "rejected", actor=user.name, reason=reason, captures=[]))


def mark(
    session: Session,
    takedown_id: int,
    state: str,
    *,
    actor: str,
    reason: str,
    captures: list[int] | None = None,
    detail: dict[str, Any] | None = None,
    system: bool = False,
) -> Transition:
    """Record an outside fact: sent by hand, blocked, verified, refused (rejected), reappeared.

    ``system`` is for the platform's own checks (``actor`` is then a process, not a user).
    """
    if state not in STATES or state in ("proposed", "approved"):
        raise TakedownError(N_("cannot mark a takedown {state!r}: use propose/approve, or one of {known}"),
                            state=state, known="sent, blocked, verified, rejected, reappeared")  # fmt: skip
    if not system:
        actor = require(session, actor, "analyst", "approver").name
    td = get(session, takedown_id, lock=True)
    if state == "rejected" and td.state in ("proposed", "approved") and not system:
        require(session, actor, "approver")
    return Transition(
        td, _event(session, td, state, actor=actor, reason=reason, captures=captures or [], detail=detail)
    )


def takedown_json(td: Takedown) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": td.id,
        "shop_id": td.shop_id,
        "target_type": td.target_type,
        "target": td.target,
        "recipient": td.recipient,
        "state": td.state,
        "proposed_by": td.proposed_by,
        "approved_by": td.approved_by,
        "created_at": iso(td.created_at),
        "sent_at": iso(td.sent_at),
        "blocked_at": iso(td.blocked_at),
        "verified_at": iso(td.verified_at),
        "checked_at": iso(td.checked_at),
        "check_result": td.check_result,
    }


def list_takedowns(session: Session, state: str | None = None, limit: int = 200) -> list[Takedown]:
    query = select(Takedown).order_by(Takedown.id).limit(limit)
    if state:
        if state not in STATES:
            raise TakedownError(N_("unknown state {state!r}; states are {known}"), state=state, known=", ".join(STATES))
        query = query.where(Takedown.state == state)
    return list(session.scalars(query))


def event_json(e: TakedownEvent) -> dict[str, Any]:
    return {"at": e.at.isoformat(), "actor": e.actor, "from": e.from_state, "to": e.to_state, "reason": e.reason,
            "captures": e.capture_ids, "detail": e.detail}  # fmt: skip


def history_json(session: Session, td: Takedown) -> dict[str, Any]:
    """The takedown with every transition, oldest first."""
    return takedown_json(td) | {"events": [event_json(e) for e in events(session, td.id)]}


def events(session: Session, takedown_id: int) -> list[TakedownEvent]:
    get(session, takedown_id)
    return list(
        session.scalars(
            select(TakedownEvent).where(TakedownEvent.takedown_id == takedown_id).order_by(TakedownEvent.id)
        )
    )


def stats(session: Session) -> dict[str, Any]:
    """Time to takedown (sent → blocked, hours) and the reappearance rate of blocked targets."""
    tds = list(session.scalars(select(Takedown)))
    by_state = {s: sum(t.state == s for t in tds) for s in STATES}
    hours = [(t.blocked_at - t.sent_at).total_seconds() / 3600 for t in tds if t.blocked_at and t.sent_at]
    reappeared = set(
        session.scalars(select(TakedownEvent.takedown_id).where(TakedownEvent.to_state == "reappeared"))
    )
    blocked = [t for t in tds if t.blocked_at]
    return {
        "takedowns": len(tds),
        "by_state": by_state,
        "time_to_takedown_hours": {
            "median": round(median(hours), 2) if hours else None,
            "max": round(max(hours), 2) if hours else None,
            "n": len(hours),
        },
        "reappearance_rate": round(len(reappeared & {t.id for t in blocked}) / len(blocked), 3)
        if blocked
        else None,
    }
