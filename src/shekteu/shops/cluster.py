"""Join items into shops as they are analysed: strong shared identifiers merge, weak signals suggest.

A shop is the cluster of items and indicators that strong identifiers join: a wallet, a card, a bot,
an operator's handle, a phone, an invite link, a domain (and the channel or site an item came from).
``link_items`` runs in the same transaction that stores an item's verdict and indicators, so shops
are current the moment an import or capture finishes — no rebuild step.

Rules, in order, for each item:
- its strong, valid, non-warninglisted indicators lead to the shops that own them;
- none owned: a drug-positive item founds a new shop; another item founds nothing;
- one shop: the item joins it; a positive item also brings its unowned indicators along;
- several shops: a positive item merges them into the oldest (audited, with the shared identifier
  as reason) — unless an analyst split two of them apart, which turns the merge into a suggestion.
Near-duplicate texts (MinHash, ``minhash.py``) between shops only ever become suggestions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import (
    Indicator,
    Item,
    ItemIndicator,
    ItemSignature,
    Shop,
    ShopIndicator,
    ShopItem,
    ShopSeparation,
    ShopSuggestion,
    SignatureBand,
    Takedown,
    utcnow,
)
from shekteu.items import _insert
from shekteu.shops import minhash
from shekteu.shops.warninglist import Warninglist

STRONG = frozenset(
    {
        "domain",
        "onion",
        "telegram_username",
        "telegram_bot",
        "telegram_invite",
        "phone",
        "bank_card",
        "iban",
        "btc",
        "eth",
        "tron",
        "ltc",
        "xmr",
        "ton",
        "email",
    }
)
ATTACHED = frozenset({"url"})  # kept with the shop (URL-level takedowns, blocklists), never joins shops
ADDRESSES = (
    "telegram_bot",
    "telegram_username",
    "domain",
    "onion",
    "telegram_invite",
)  # where a shop is reached
NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity above which two shops' texts suggest a merge
AUTO = "auto"


@dataclass
class Incoming:
    item_id: int
    positive: bool  # the detector (or a tip) says this item sells drugs or recruits couriers
    text: str


@dataclass
class LinkSummary:
    shops_created: int = 0
    merges: int = 0
    suggestions: int = 0
    touched: set[int] = field(default_factory=set)


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _strong_indicators(
    session: Session, item_ids: list[int], warn: Warninglist
) -> tuple[dict[int, list[tuple[int, str]]], dict[int, list[tuple[int, str]]]]:
    """Per item: the strong identifiers that join shops, and the links that only ride along."""
    rows = session.execute(
        select(ItemIndicator.item_id, Indicator.id, Indicator.type, Indicator.normalized)
        .join(Indicator, Indicator.id == ItemIndicator.indicator_id)
        .where(
            ItemIndicator.item_id.in_(item_ids),
            Indicator.valid.is_(True),
            Indicator.type.in_(STRONG | ATTACHED),
        )
        .order_by(ItemIndicator.item_id, ItemIndicator.start)
    )
    strong: dict[int, list[tuple[int, str]]] = defaultdict(list)
    attached: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for item_id, ind_id, kind, normalized in rows:
        entry = (ind_id, f"{kind}:{normalized}")
        if kind in ATTACHED:
            attached[item_id].append(entry)  # a page on Instagram is still this shop's page
        elif not warn.listed(kind, normalized) and entry not in strong[item_id]:
            strong[item_id].append(entry)
    return strong, attached


def separated(session: Session, shops: set[int]) -> set[tuple[int, int]]:
    if len(shops) < 2:
        return set()
    rows = session.execute(
        select(ShopSeparation.shop_a, ShopSeparation.shop_b).where(
            ShopSeparation.shop_a.in_(shops), ShopSeparation.shop_b.in_(shops)
        )
    )
    return {(a, b) for a, b in rows}


def merge_into(session: Session, keep: int, gone: int, *, actor: str, reason: str, detail: dict) -> None:
    """Move everything of shop ``gone`` to ``keep``; ``gone`` stays as a pointer (audited)."""
    for table in (ShopIndicator, ShopItem, Takedown):
        session.execute(update(table).where(table.shop_id == gone).values(shop_id=keep))
    for column in (ShopSuggestion.shop_a, ShopSuggestion.shop_b):
        session.execute(
            update(ShopSuggestion)
            .where(column == gone, ShopSuggestion.status == "open")
            .values(status="merged")
        )
    session.execute(
        update(Shop)
        .where(Shop.id == gone)
        .values(merged_into=keep, updated_at=utcnow(), items=0, mirrors=0, score=0.0)
    )
    session.execute(update(Shop).where(Shop.merged_into == gone).values(merged_into=keep))
    audit.record(
        session, "shop.merge", f"shop:{gone}", actor=actor, reason=reason, detail={"into": keep, **detail}
    )


def suggest(session: Session, a: int, b: int, kind: str, similarity: float, evidence: dict) -> bool:
    """Record a merge suggestion once per pair and kind; True when it is new."""
    a, b = pair(a, b)
    stmt = (
        _insert(session)(ShopSuggestion)
        .values(
            shop_a=a,
            shop_b=b,
            kind=kind,
            similarity=similarity,
            evidence=evidence,
            status="open",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_a", "shop_b", "kind"])
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def link_items(
    session: Session, incoming: list[Incoming], warn: Warninglist, *, actor: str = AUTO
) -> LinkSummary:
    """Assign analysed items to shops (see the module docstring), in the caller's transaction."""
    summary = LinkSummary()
    if not incoming:
        return summary
    ids = [i.item_id for i in incoming]
    strong, attached = _strong_indicators(session, ids, warn)
    all_inds = {ind for inds in [*strong.values(), *attached.values()] for ind, _ in inds}
    owner: dict[int, int] = (
        dict(
            session.execute(
                select(ShopIndicator.indicator_id, ShopIndicator.shop_id).where(
                    ShopIndicator.indicator_id.in_(all_inds)
                )
            ).all()
        )
        if all_inds
        else {}
    )
    placed: dict[int, int] = dict(
        session.execute(select(ShopItem.item_id, ShopItem.shop_id).where(ShopItem.item_id.in_(ids))).all()
    )
    now = utcnow()
    for item in incoming:
        inds = strong.get(item.item_id, [])
        shops = {owner[i] for i, _ in inds if i in owner}
        if item.item_id in placed:
            shops.add(placed[item.item_id])
        if not shops:
            if not (item.positive and inds):
                continue
            shop = Shop(
                name=inds[0][1].split(":", 1)[1],
                created_at=now,
                updated_at=now,
                items=0,
                mirrors=0,
                tips=0,
                graffiti=0,
                reach=0,
                score=0.0,
            )
            session.add(shop)
            session.flush()
            audit.record(
                session,
                "shop.create",
                f"shop:{shop.id}",
                actor=actor,
                reason=f"drug-positive item {item.item_id} with {inds[0][1]}",
                detail={"item": item.item_id, "indicators": [k for _, k in inds]},
            )
            summary.shops_created += 1
            target = shop.id
        else:
            target = min(shops)
            if item.positive and len(shops) > 1:
                target = _merge_or_suggest(session, item, inds, owner, placed, shops, actor, summary)
        if placed.get(item.item_id) != target:
            if item.item_id in placed:
                session.execute(
                    update(ShopItem).where(ShopItem.item_id == item.item_id).values(shop_id=target)
                )
            else:
                session.add(
                    ShopItem(
                        item_id=item.item_id,
                        shop_id=target,
                        how=actor if actor == AUTO else "manual",
                        added_at=now,
                    )
                )
            placed[item.item_id] = target
        if item.positive:
            for ind, _ in inds + attached.get(item.item_id, []):
                if ind not in owner:
                    session.add(ShopIndicator(indicator_id=ind, shop_id=target, how=AUTO, added_at=now))
                    owner[ind] = target
        session.flush()
        summary.touched.add(target)
        if item.positive:
            summary.suggestions += _near_duplicates(session, item, target)
    refresh(session, summary.touched)
    return summary


def _merge_or_suggest(
    session: Session,
    item: Incoming,
    inds: list[tuple[int, str]],
    owner: dict[int, int],
    placed: dict[int, int],
    shops: set[int],
    actor: str,
    summary: LinkSummary,
) -> int:
    """Merge the item's shops into the oldest unless analysts separated a pair; returns its shop."""
    keep = min(shops)
    apart = separated(session, shops)
    shared = {owner[i]: key for i, key in inds if i in owner}
    for other in sorted(shops - {keep}):
        if any(pair(other, s) in apart for s in shops if s != other):
            if suggest(
                session, keep, other, "indicator", 1.0, {"item": item.item_id, "via": shared.get(other)}
            ):
                summary.suggestions += 1
            continue
        merge_into(
            session,
            keep,
            other,
            actor=actor,
            reason=f"item {item.item_id} shares {shared.get(other) or 'an identifier'} with both shops",
            detail={"item": item.item_id, "via": shared.get(other)},
        )
        for mapping in (owner, placed):
            for key, shop in list(mapping.items()):
                if shop == other:
                    mapping[key] = keep
        summary.merges += 1
        summary.touched.discard(other)
        summary.touched.add(keep)
    return keep


def _near_duplicates(session: Session, item: Incoming, shop_id: int) -> int:
    sig = minhash.signature(item.text)
    if sig is None or session.get(ItemSignature, item.item_id) is not None:
        return 0
    buckets = minhash.buckets(sig)
    candidates = session.execute(
        select(SignatureBand.item_id, ShopItem.shop_id, ItemSignature.signature)
        .join(ShopItem, ShopItem.item_id == SignatureBand.item_id)
        .join(ItemSignature, ItemSignature.item_id == SignatureBand.item_id)
        .where(SignatureBand.bucket.in_(buckets), ShopItem.shop_id != shop_id)
        .distinct()
    ).all()
    session.add(ItemSignature(item_id=item.item_id, signature=minhash.to_bytes(sig)))
    session.add_all(SignatureBand(item_id=item.item_id, band=b, bucket=v) for b, v in enumerate(buckets))
    new = 0
    best: dict[int, tuple[float, int]] = {}
    for other_item, other_shop, other_sig in candidates:
        sim = minhash.similarity(sig, minhash.from_bytes(other_sig))
        if sim >= NEAR_DUPLICATE and sim > best.get(other_shop, (0.0, 0))[0]:
            best[other_shop] = (sim, other_item)
    for other_shop, (sim, other_item) in best.items():
        new += suggest(
            session, shop_id, other_shop, "text", round(sim, 3), {"items": sorted([item.item_id, other_item])}
        )
    return new


def score(items: int, mirrors: int, tips: int, graffiti: int, reach: int) -> float:
    """Rank: big platforms first — many items, many mirrors, citizens' tips and graffiti, wide reach."""
    return round(
        10 * math.log10(1 + items) + 5 * mirrors + 3 * tips + 3 * graffiti + 2 * math.log10(1 + reach), 2
    )


def refresh(session: Session, shop_ids: set[int]) -> None:
    """Recount the figures and pick the name of the given shops."""
    if not shop_ids:
        return
    ids = sorted(shop_ids)
    counts = {
        (shop, kind): (n, reach or 0)
        for shop, kind, n, reach in session.execute(
            select(ShopItem.shop_id, Item.kind, func.count(), func.max(Item.views))
            .join(Item, Item.id == ShopItem.item_id)
            .where(ShopItem.shop_id.in_(ids))
            .group_by(ShopItem.shop_id, Item.kind)
        )
    }
    names: dict[int, Counter[tuple[int, str]]] = defaultdict(Counter)
    mirrors: dict[int, int] = Counter()
    for shop, kind, normalized, mentions in session.execute(
        select(ShopIndicator.shop_id, Indicator.type, Indicator.normalized, func.count(ItemIndicator.id))
        .join(Indicator, Indicator.id == ShopIndicator.indicator_id)
        .outerjoin(ItemIndicator, ItemIndicator.indicator_id == Indicator.id)
        .where(ShopIndicator.shop_id.in_(ids))
        .group_by(ShopIndicator.shop_id, Indicator.type, Indicator.normalized)
    ):
        if kind in ADDRESSES:
            mirrors[shop] += 1
            names[shop][(len(ADDRESSES) - ADDRESSES.index(kind), normalized)] += mentions
    now = utcnow()
    for shop_id in ids:
        items = sum(n for (s, _), (n, _) in counts.items() if s == shop_id)
        reach = max((r for (s, _), (_, r) in counts.items() if s == shop_id), default=0)
        tips = counts.get((shop_id, "tip"), (0, 0))[0]
        graffiti = counts.get((shop_id, "graffiti"), (0, 0))[0]
        values: dict = {
            "items": items,
            "mirrors": mirrors[shop_id],
            "tips": tips,
            "graffiti": graffiti,
            "reach": reach,
            "updated_at": now,
            "score": score(items, mirrors[shop_id], tips, graffiti, reach),
        }
        if names[shop_id]:
            (_, name), _ = max(names[shop_id].items(), key=lambda kv: (kv[1], kv[0][0], kv[0][1]))
            values["name"] = name
        session.execute(update(Shop).where(Shop.id == shop_id).values(**values))
