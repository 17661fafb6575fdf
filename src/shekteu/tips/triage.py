"""What an analyst does with a tip in the queue: take it into review, link it to a shop, act on it or
reject it with a reason. Each step checks the analyst's role and is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import ShopItem, Tip
from shekteu.shops.cluster import refresh
from shekteu.shops.edit import ShopError, get_shop
from shekteu.tips.status import TipStatusError, get_tip, set_status
from shekteu.users import permit
from shekteu.wording import N_


def change_status(session: Session, ticket: str, status: str, *, actor: str, reason: str,
                  public_text: str | None = None) -> Tip:  # fmt: skip
    user = permit(session, actor, "tip.triage")
    return set_status(session, ticket, status, actor=user.name, reason=reason, public_text=public_text)


def link_to_shop(session: Session, ticket: str, shop_id: int, *, actor: str, reason: str) -> Tip:
    """Put the tip's item into a shop by hand (an analyst recognised it), and take the tip into review."""
    user = permit(session, actor, "tip.triage")
    tip = get_tip(session, ticket)
    if not reason.strip():
        raise TipStatusError(N_("linking a tip to a shop needs a reason"))
    try:
        shop = get_shop(session, shop_id)
    except ShopError as exc:
        raise TipStatusError.like(exc) from None
    if tip.item_id is None:
        raise TipStatusError(N_("ticket {ticket} has not been processed yet (no text or link to link)"), ticket=tip.ticket)
    current = session.scalar(select(ShopItem).where(ShopItem.item_id == tip.item_id))
    if current is not None:
        owner = get_shop(session, current.shop_id)
        if owner.id == shop.id:
            raise TipStatusError(N_("ticket {ticket} is already in shop {shop}"), ticket=tip.ticket, shop=shop.id)
        raise TipStatusError(N_("ticket {ticket} is in shop {shop}: merge the two shops instead"), ticket=tip.ticket,
                             shop=owner.id)  # fmt: skip
    session.add(ShopItem(item_id=tip.item_id, shop_id=shop.id, how="analyst"))
    session.flush()
    refresh(session, {shop.id})
    audit.record(
        session, "tip.link", f"tip:{tip.ticket}", actor=user.name, reason=reason, detail={"shop": shop.id}
    )
    if tip.status == "received":
        set_status(session, tip.ticket, "in_review", actor=user.name, reason=f"linked to shop {shop.id}")
    return tip
