"""What analysts do to shops by hand: merge two, split one, dismiss a suggestion — each audited.

A split moves the chosen indicators (and the items that only they tie to the shop) into a new shop
and records the pair as separated, so the automatic clustering never joins them again; later items
that tie them together become suggestions instead.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import (
    Indicator,
    ItemIndicator,
    Shop,
    ShopIndicator,
    ShopItem,
    ShopSeparation,
    ShopSuggestion,
    utcnow,
)
from shekteu.shops.cluster import lock_shops, merge_into, refresh
from shekteu.shops.similar import pair
from shekteu.users import authorize
from shekteu.wording import N_, Refusal, Term


class ShopError(Refusal):
    """An unknown shop, a bad indicator reference or an impossible edit; nothing was changed."""


def lock_chain(session: Session, shop_ids: set[int]) -> None:
    """Lock the shops and the shops they were merged into (PostgreSQL row locks, held to commit), so a
    concurrent merge or linking run waits instead of writing to a shop that is merged away."""
    ids = {i for i in shop_ids if 0 < i < 2**31}
    while ids:
        more = {p for p in lock_shops(session, ids).values() if p} - ids
        if not more:
            return
        ids |= more


def get_shop(session: Session, shop_id: int) -> Shop:
    """The shop with this id; a merged shop's id leads to the shop it was merged into."""
    shop = session.get(Shop, shop_id)
    seen = set()
    while shop is not None and shop.merged_into is not None and shop.id not in seen:
        seen.add(shop.id)
        shop = session.get(Shop, shop.merged_into)
    if shop is None:
        raise ShopError(N_("no shop with id {id}"), id=shop_id)
    return shop


def merge(session: Session, keep_id: int, gone_id: int, *, actor: str, reason: str) -> Shop:
    actor = authorize(session, actor, "shop.edit")
    if not reason.strip():
        raise ShopError(N_("a merge needs a reason"))
    lock_chain(session, {keep_id, gone_id})
    keep, gone = get_shop(session, keep_id), get_shop(session, gone_id)
    if keep.id == gone.id:
        raise ShopError(N_("shops {keep} and {gone} are already one shop ({shop})"), keep=keep_id, gone=gone_id, shop=keep.id)
    session.execute(
        delete(ShopSeparation).where(
            ShopSeparation.shop_a == min(keep.id, gone.id), ShopSeparation.shop_b == max(keep.id, gone.id)
        )
    )
    merge_into(session, keep.id, gone.id, actor=actor, reason=reason, detail={"manual": True})
    refresh(session, {keep.id})
    session.refresh(keep)
    return keep


def _indicator_ids(session: Session, shop_id: int, refs: list[str]) -> list[int]:
    ids = []
    for ref in refs:
        query = select(Indicator.id).join(ShopIndicator, ShopIndicator.indicator_id == Indicator.id)
        query = query.where(ShopIndicator.shop_id == shop_id)
        if ref.isdigit():
            # Ids are 32-bit; "99999999999" or "²" (a digit to str.isdigit) name no indicator.
            if not ref.isascii() or int(ref) >= 2**31:
                raise ShopError(N_("indicator {ref!r} is not one of shop {shop}'s indicators"), ref=ref[:40], shop=shop_id)
            query = query.where(Indicator.id == int(ref))
        elif ":" in ref:
            kind, value = ref.split(":", 1)
            query = query.where(Indicator.type == kind, Indicator.normalized == value.strip())
        else:
            raise ShopError(N_("indicator {ref!r}: give its id or TYPE:VALUE (as in `shops show`)"), ref=ref[:80])
        found = session.scalar(query)
        if found is None:
            raise ShopError(N_("indicator {ref!r} is not one of shop {shop}'s indicators"), ref=ref[:80], shop=shop_id)
        ids.append(found)
    return ids


def split(session: Session, shop_id: int, refs: list[str], *, actor: str, reason: str) -> Shop:
    """Move the referenced indicators, and the items only they tie to the shop, to a new shop."""
    actor = authorize(session, actor, "shop.edit")
    if not reason.strip():
        raise ShopError(N_("a split needs a reason"))
    if not refs:
        raise ShopError(N_("name the indicators that go to the new shop (--indicator TYPE:VALUE, repeatable)"))
    lock_chain(session, {shop_id})
    shop = get_shop(session, shop_id)
    moving = set(_indicator_ids(session, shop.id, refs))
    staying = (
        set(session.scalars(select(ShopIndicator.indicator_id).where(ShopIndicator.shop_id == shop.id)))
        - moving
    )
    if not staying:
        raise ShopError(N_("that would move every indicator of shop {id}; nothing would be split"), id=shop.id)
    now = utcnow()
    new = Shop(
        name=shop.name,
        created_at=now,
        updated_at=now,
        items=0,
        mirrors=0,
        tips=0,
        graffiti=0,
        reach=0,
        score=0.0,
    )
    session.add(new)
    session.flush()
    session.execute(
        update(ShopIndicator)
        .where(ShopIndicator.indicator_id.in_(moving))
        .values(shop_id=new.id, how="manual")
    )
    links: dict[int, set[int]] = {}
    for item_id, ind in session.execute(
        select(ItemIndicator.item_id, ItemIndicator.indicator_id)
        .join(ShopItem, ShopItem.item_id == ItemIndicator.item_id)
        .where(ShopItem.shop_id == shop.id)
    ):
        links.setdefault(item_id, set()).add(ind)
    moved_items = sorted(i for i, inds in links.items() if inds & moving and not inds & staying)
    if moved_items:
        session.execute(
            update(ShopItem).where(ShopItem.item_id.in_(moved_items)).values(shop_id=new.id, how="manual")
        )
    a, b = pair(shop.id, new.id)
    session.add(ShopSeparation(shop_a=a, shop_b=b, created_at=now))
    audit.record(
        session,
        "shop.split",
        f"shop:{shop.id}",
        actor=actor,
        reason=reason,
        detail={"new_shop": new.id, "indicators": sorted(moving), "items": moved_items},
    )
    refresh(session, {shop.id, new.id})
    session.refresh(new)
    return new


def dismiss(session: Session, suggestion_id: int, *, actor: str, reason: str) -> ShopSuggestion:
    actor = authorize(session, actor, "shop.edit")
    suggestion = session.get(ShopSuggestion, suggestion_id)
    if suggestion is None:
        raise ShopError(N_("no merge suggestion with id {id}"), id=suggestion_id)
    if suggestion.status != "open":
        raise ShopError(N_("suggestion {id} is already {status}"), id=suggestion_id, status=Term(suggestion.status))
    suggestion.status = "dismissed"
    audit.record(
        session,
        "shop.suggestion.dismiss",
        f"suggestion:{suggestion_id}",
        actor=actor,
        reason=reason,
        detail={"shops": [suggestion.shop_a, suggestion.shop_b], "kind": suggestion.kind},
    )
    return suggestion
