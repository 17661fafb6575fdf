"""Reading shops for people and programs: the ranked list, one shop in full, open suggestions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shekteu.db.tables import (
    Indicator,
    Item,
    ItemIndicator,
    Shop,
    ShopIndicator,
    ShopItem,
    ShopSeparation,
    ShopSuggestion,
    Takedown,
    Verdict,
)
from shekteu.shops.edit import get_shop


def shop_indicators(session: Session, shop_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not shop_ids:
        return out
    rows = session.execute(
        select(ShopIndicator.shop_id, Indicator.id, Indicator.type, Indicator.normalized, ShopIndicator.how)
        .join(Indicator, Indicator.id == ShopIndicator.indicator_id)
        .where(ShopIndicator.shop_id.in_(shop_ids))
        .order_by(ShopIndicator.shop_id, Indicator.type, Indicator.normalized)
    )
    for shop_id, ind_id, kind, normalized, how in rows:
        out[shop_id].append({"id": ind_id, "type": kind, "normalized": normalized, "how": how})
    return out


def shop_summary(shop: Shop, indicators: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": shop.id,
        "name": shop.name,
        "score": shop.score,
        "items": shop.items,
        "indicators": [{"type": i["type"], "normalized": i["normalized"]} for i in indicators],
        "mirrors": shop.mirrors,
        "tips": shop.tips,
        "graffiti": shop.graffiti,
        "reach": shop.reach,
        "updated_at": shop.updated_at.isoformat(),
    }


def list_shops(session: Session, *, limit: int = 50, min_score: float = 0.0) -> list[dict[str, Any]]:
    """Live shops, biggest first."""
    shops = list(
        session.scalars(
            select(Shop)
            .where(Shop.merged_into.is_(None), Shop.score >= min_score)
            .order_by(Shop.score.desc(), Shop.id)
            .limit(limit)
        )
    )
    indicators = shop_indicators(session, [s.id for s in shops])
    return [shop_summary(s, indicators[s.id]) for s in shops]


def show_shop(session: Session, shop_id: int, *, item_limit: int = 200) -> dict[str, Any]:
    """One shop in full: indicators with mention counts, items with verdicts, takedowns, suggestions."""
    shop = get_shop(session, shop_id)
    indicators = shop_indicators(session, [shop.id])[shop.id]
    mentions = dict(
        session.execute(
            select(ItemIndicator.indicator_id, func.count())
            .where(ItemIndicator.indicator_id.in_([i["id"] for i in indicators]))
            .group_by(ItemIndicator.indicator_id)
        ).all()
    )
    items = session.execute(
        select(
            Item.id, Item.kind, Item.url, Item.published_at, Item.first_seen_at, Item.capture_id, ShopItem.how
        )
        .join(ShopItem, ShopItem.item_id == Item.id)
        .where(ShopItem.shop_id == shop.id)
        .order_by(Item.id)
        .limit(item_limit)
    ).all()
    labels = {
        item_id: label
        for item_id, label in session.execute(
            select(Verdict.item_id, Verdict.label)
            .where(Verdict.item_id.in_([r[0] for r in items]))
            .order_by(Verdict.id)
        )
    }
    suggestions = session.scalars(
        select(ShopSuggestion).where(
            (ShopSuggestion.shop_a == shop.id) | (ShopSuggestion.shop_b == shop.id),
            ShopSuggestion.status == "open",
        )
    )
    separated = session.execute(
        select(ShopSeparation.shop_a, ShopSeparation.shop_b).where(
            (ShopSeparation.shop_a == shop.id) | (ShopSeparation.shop_b == shop.id)
        )
    ).all()
    takedowns = session.scalars(select(Takedown).where(Takedown.shop_id == shop.id).order_by(Takedown.id))
    merged_from = list(session.scalars(select(Shop.id).where(Shop.merged_into == shop.id).order_by(Shop.id)))
    data = shop_summary(shop, indicators)
    data["indicators"] = [{**i, "mentions": mentions.get(i["id"], 0)} for i in indicators]
    data.update(
        created_at=shop.created_at.isoformat(),
        merged_from=merged_from,
        item_list=[
            {
                "id": r[0],
                "kind": r[1],
                "url": r[2],
                "published_at": r[3].isoformat() if r[3] else None,
                "first_seen_at": r[4].isoformat(),
                "capture_id": r[5],
                "how": r[6],
                "label": labels.get(r[0]),
            }
            for r in items
        ],
        suggestions=[suggestion_json(s) for s in suggestions],
        separated_from=sorted(b if a == shop.id else a for a, b in separated),
        takedowns=[
            {
                "id": t.id,
                "target_type": t.target_type,
                "target": t.target,
                "recipient": t.recipient,
                "state": t.state,
            }
            for t in takedowns
        ],
    )
    return data


def suggestion_json(s: ShopSuggestion) -> dict[str, Any]:
    return {
        "id": s.id,
        "shops": [s.shop_a, s.shop_b],
        "kind": s.kind,
        "similarity": s.similarity,
        "evidence": s.evidence,
        "status": s.status,
        "created_at": s.created_at.isoformat(),
    }


def open_suggestions(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ShopSuggestion)
        .where(ShopSuggestion.status == "open")
        .order_by(ShopSuggestion.similarity.desc(), ShopSuggestion.id)
        .limit(limit)
    )
    return [suggestion_json(s) for s in rows]
