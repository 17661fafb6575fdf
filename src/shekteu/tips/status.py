"""A tip's public status, and the notifications that tell its reporter about every public change.

``received → in_review → actioned → closed``, or ``rejected`` from received or in review. Each
change is audited and, for channels that can reach the reporter (Telegram, WhatsApp), queues a
notification in the outbox with the sealed contact. When a ticket closes or is rejected, the tip's
own copy of the contact is erased at once; the last notification's copy is erased when it is sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Notification, Tip, utcnow
from shekteu.queue import handoffs
from shekteu.tips import messages
from shekteu.tips.tickets import parse_ticket
from shekteu.users import authorize
from shekteu.wording import N_, Refusal, Term, Terms

STATUSES = ("received", "in_review", "actioned", "closed", "rejected")
TRANSITIONS = {
    "received": {"in_review", "actioned", "rejected"},
    "in_review": {"actioned", "rejected"},
    "actioned": {"closed"},
    "closed": set(),
    "rejected": set(),
}
PUSH_CHANNELS = ("telegram", "whatsapp")
FINAL = ("closed", "rejected")


class TipStatusError(Refusal):
    """Unknown ticket or a status change that is not allowed."""


def get_tip(session: Session, ticket: str) -> Tip:
    code = parse_ticket(ticket)
    tip = session.scalar(select(Tip).where(Tip.ticket == code)) if code else None
    if tip is None:
        raise TipStatusError(N_("no ticket {ticket!r}"), ticket=ticket[:80])
    return tip


def notify(session: Session, tip: Tip, text: str) -> Notification | None:
    """Queue a message to the reporter, if their channel can be pushed to and the contact is kept."""
    if tip.channel not in PUSH_CHANNELS or not tip.contact_sealed:
        return None
    note = Notification(tip_id=tip.id, channel=tip.channel, contact_sealed=tip.contact_sealed, text=text,
                        status="pending", attempts=0, created_at=utcnow())  # fmt: skip
    session.add(note)
    handoffs.notification_queued(session, tip.channel)
    return note


def set_status(session: Session, ticket: str, status: str, *, actor: str, reason: str,
               public_text: str | None = None) -> Tip:  # fmt: skip
    actor = authorize(session, actor, "tip.triage")
    if status not in STATUSES:
        raise TipStatusError(N_("unknown status {status!r}; use one of {known}"), status=status[:80], known=", ".join(STATUSES))
    if not reason.strip():
        raise TipStatusError(N_("a status change needs a reason"))
    tip = get_tip(session, ticket)
    if status not in TRANSITIONS[tip.status]:
        if not TRANSITIONS[tip.status]:
            raise TipStatusError(N_("ticket {ticket} is {status}: it can become nothing (closed), not {to}"),
                                 ticket=tip.ticket, status=Term(tip.status), to=Term(status))  # fmt: skip
        raise TipStatusError(N_("ticket {ticket} is {status}: it can become {allowed}, not {to}"), ticket=tip.ticket,
                             status=Term(tip.status), allowed=Terms(sorted(TRANSITIONS[tip.status])),
                             to=Term(status))  # fmt: skip
    before = tip.status
    tip.status, tip.updated_at = status, utcnow()
    tip.public_status = (
        public_text.strip() if public_text and public_text.strip() else messages.status_text(status, tip.lang)
    )
    notify(session, tip, messages.text("status", tip.lang, ticket=tip.ticket, status=tip.public_status))
    if status in FINAL:
        tip.contact_sealed = None  # the queued notification holds the last copy, erased once sent
    audit.record(session, "tip.status", f"tip:{tip.ticket}", actor=actor, reason=reason,
                 detail={"from": before, "to": status, "public": tip.public_status})  # fmt: skip
    return tip


def public_view(tip: Tip) -> dict[str, Any]:
    """What anyone holding the ticket may see: no text, no photos, no location."""
    return {"ticket": tip.ticket, "status": tip.status, "status_text": tip.public_status,
            "created_at": tip.created_at.isoformat(), "updated_at": tip.updated_at.isoformat()}  # fmt: skip


BLOCKED_TEXT = {"ru": "Ресурс, о котором вы сообщили, заблокирован. Спасибо!",
                "kk": "Сіз хабарлаған ресурс бұғатталды. Рахмет!",
                "en": "The resource you reported has been blocked. Thank you!"}  # fmt: skip


def on_shop_blocked(session: Session, shop_id: int, takedown_id: int) -> list[str]:
    """Tell the reporters of a shop's open tips that their report led to a block (status actioned);
    called when a takedown of the shop is verified, never on a single check."""
    from shekteu.db.tables import ShopItem

    tips = list(session.scalars(
        select(Tip).join(ShopItem, ShopItem.item_id == Tip.item_id)
        .where(ShopItem.shop_id == shop_id, Tip.status.in_(("received", "in_review")))
    ))  # fmt: skip
    for tip in tips:
        set_status(session, tip.ticket, "actioned", actor="system:takedown", reason=f"takedown {takedown_id} verified",
                   public_text=BLOCKED_TEXT.get(tip.lang or "ru", BLOCKED_TEXT["ru"]))  # fmt: skip
    return [t.ticket for t in tips]
