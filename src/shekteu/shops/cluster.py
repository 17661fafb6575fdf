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
Near-duplicate texts and the same picture between shops (``similar.py``) only ever become suggestions.
On PostgreSQL the indicators a batch touches and the shops they lead to are locked first (sorted), so
concurrent batches and an analyst's merge take turns instead of splitting one operation in two.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from shekteu import audit
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
    utcnow,
)
from shekteu.indicators.types import ATTACHED, REACHED_AT, STRONG
from shekteu.shops.similar import chunks as _chunks
from shekteu.shops.similar import minhash_of, near_duplicates, pair, same_images, suggest
from shekteu.shops.warninglist import Warninglist

ADDRESSES = REACHED_AT  # where a shop is reached, the best name for it first
AUTO = "auto"


@dataclass
class Incoming:
    item_id: int
    positive: bool  # the detector (or a tip) says this item sells drugs or recruits couriers
    text: str
    images: list[tuple[str, int]] = field(default_factory=list)  # (sha256, perceptual hash) of its photos
    signature: Any = None  # its MinHash signature, worked out before the transaction (``minhash_of``)


@dataclass
class LinkSummary:
    shops_created: int = 0
    merges: int = 0
    suggestions: int = 0
    touched: set[int] = field(default_factory=set)


def _strong_indicators(
    session: Session, item_ids: list[int], warn: Warninglist
) -> tuple[dict[int, list[tuple[int, str]]], dict[int, list[tuple[int, str]]]]:
    """Per item: the strong identifiers that join shops, and the links that only ride along."""
    # No type filter in SQL: the planner would walk the (type, key) index over every indicator of
    # those types instead of the few rows of these items; items have few indicators, filter here.
    rows = session.execute(
        select(ItemIndicator.item_id, Indicator.id, Indicator.type, Indicator.normalized)
        .join(Indicator, Indicator.id == ItemIndicator.indicator_id)
        .where(ItemIndicator.item_id.in_(item_ids), Indicator.valid.is_(True))
        .order_by(ItemIndicator.item_id, ItemIndicator.start)
    )
    strong: dict[int, list[tuple[int, str]]] = defaultdict(list)
    attached: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for item_id, ind_id, kind, normalized in rows:
        entry = (ind_id, f"{kind}:{normalized}")
        if kind not in STRONG and kind not in ATTACHED:
            continue
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
    merge_many(session, [(keep, gone, reason, detail)], actor=actor)


def merge_many(session: Session, merges: list[tuple[int, int, str, dict]], *, actor: str) -> None:
    """Apply (keep, gone, reason, detail) merges in order, each table updated by one executemany."""
    if not merges:
        return
    pairs = [{"keep": keep, "gone": gone} for keep, gone, _, _ in merges]
    for table in (ShopIndicator.__table__, ShopItem.__table__, Takedown.__table__, Shop.__table__):
        column = table.c.merged_into if table is Shop.__table__ else table.c.shop_id
        session.execute(
            update(table).where(column == bindparam("gone")).values({column: bindparam("keep")}), pairs
        )
    suggestions = ShopSuggestion.__table__
    for column in (suggestions.c.shop_a, suggestions.c.shop_b):
        session.execute(
            update(suggestions).where(column == bindparam("gone"), suggestions.c.status == "open")
            .values(status="merged"), pairs,
        )  # fmt: skip
    shops = Shop.__table__
    session.execute(
        update(shops).where(shops.c.id == bindparam("gone"))
        .values(merged_into=bindparam("keep"), updated_at=utcnow(), items=0, mirrors=0, score=0.0), pairs,
    )  # fmt: skip
    for keep, gone, reason, detail in merges:
        audit.record(session, "shop.merge", f"shop:{gone}", actor=actor, reason=reason,
                     detail={"into": keep, **detail})  # fmt: skip


class _Groups:
    """Union-find over shop ids: existing shops (positive ids) and shops founded in this batch
    (negative ids until they are inserted). A group's root is its oldest existing shop."""

    def __init__(self, apart: set[tuple[int, int]]) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, set[int]] = {}
        self.apart = apart

    def find(self, shop: int) -> int:
        self.parent.setdefault(shop, shop)
        self.members.setdefault(shop, {shop})
        root = shop
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[shop] != root:
            self.parent[shop], shop = root, self.parent[shop]
        return root

    @staticmethod
    def order(shop: int) -> tuple[bool, int]:
        return (shop < 0, abs(shop))  # existing before new, then oldest first

    def separated(self, a: int, b: int) -> bool:
        return any(
            pair(x, y) in self.apart for x in self.members[a] for y in self.members[b] if x > 0 and y > 0
        )

    def union(self, keep: int, gone: int) -> None:
        self.parent[gone] = keep
        self.members[keep] |= self.members.pop(gone)


def _load_owners(session: Session, inds: set[int], ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    owner: dict[int, int] = {}
    for chunk in _chunks(sorted(inds)):
        owner.update(session.execute(select(ShopIndicator.indicator_id, ShopIndicator.shop_id)
                                     .where(ShopIndicator.indicator_id.in_(chunk))).all())  # fmt: skip
    placed = dict(
        session.execute(select(ShopItem.item_id, ShopItem.shop_id).where(ShopItem.item_id.in_(ids))).all()
    )
    return owner, placed


def lock_indicators(session: Session, indicator_ids: set[int]) -> None:
    """On PostgreSQL, take the indicators' link locks in sorted order (held to commit): two batches that
    share a wallet link one after the other, so the second sees the first's shop (issue 20)."""
    if session.get_bind().dialect.name != "postgresql" or not indicator_ids:
        return
    for chunk in _chunks(sorted(indicator_ids)):
        session.execute(text("SELECT pg_advisory_xact_lock(7242002, i) FROM unnest(CAST(:ids AS integer[])) AS i "
                             "ORDER BY i"), {"ids": chunk})  # fmt: skip


def lock_shops(session: Session, shop_ids: set[int]) -> dict[int, int | None]:
    """Lock shop rows (sorted, to commit; a no-op on SQLite, whose writers take turns) and return
    where each now points: None for a live shop, the shop it was merged into otherwise."""
    if not shop_ids:
        return {}
    query = select(Shop.id, Shop.merged_into).where(Shop.id.in_(sorted(shop_ids))).order_by(Shop.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Shop)
    return dict(session.execute(query).all())


def _lock_and_load(session: Session, inds: set[int], ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Owners of the indicators and shops of the items, read under the locks that keep them true until
    commit: the indicators' link locks, then the rows of the shops they lead to. A shop merged away
    meanwhile (an analyst's merge, which also locks the rows) is followed to the shop it went into."""
    lock_indicators(session, inds)
    locked: dict[int, int | None] = {}
    while True:
        owner, placed = _load_owners(session, inds, ids)
        shops = set(owner.values()) | set(placed.values())
        pointers = set(p for p in locked.values() if p)
        new = (shops | pointers) - set(locked)
        if not new:
            break
        locked.update(lock_shops(session, new))

    def live(shop: int) -> int:
        seen = set()
        while locked.get(shop) and shop not in seen:
            seen.add(shop)
            shop = locked[shop] or shop
        return shop

    return {i: live(s) for i, s in owner.items()}, {i: live(s) for i, s in placed.items()}


def link_items(
    session: Session, incoming: list[Incoming], warn: Warninglist, *, actor: str = AUTO
) -> LinkSummary:
    """Assign analysed items to shops (see the module docstring), in the caller's transaction.

    The batch is planned in memory (union-find over shops), then written with a few bulk
    statements: one insert of new shops, one of item placements, one of indicator ownerships.
    """
    summary = LinkSummary()
    if not incoming:
        return summary
    ids = [i.item_id for i in incoming]
    strong, attached = _strong_indicators(session, ids, warn)
    touched = {i for v in [*strong.values(), *attached.values()] for i, _ in v}
    owner, placed = _lock_and_load(session, touched, ids)
    groups = _Groups(separated(session, set(owner.values()) | set(placed.values())))
    founded: dict[int, tuple[int, list[str]]] = {}  # temporary id -> (founding item, identifiers)
    target_of: dict[int, int] = {}
    new_owner: dict[int, int] = {}
    merges: list[tuple[int, int, int, str | None]] = []  # (keep, gone, item, via) between existing shops
    indicator_suggestions: list[tuple[int, int, int, str | None]] = []
    for item in incoming:
        inds = strong.get(item.item_id, [])
        via = {groups.find(owner[i]): key for i, key in inds if i in owner}
        shops = set(via)
        if item.item_id in placed:
            shops.add(groups.find(placed[item.item_id]))
        if not shops:
            if not (item.positive and inds):
                continue
            target = -(len(founded) + 1)
            founded[target] = (item.item_id, [k for _, k in inds])
            groups.find(target)
        else:
            target = min(shops, key=groups.order)
            if item.positive:
                for other in sorted(shops - {target}, key=groups.order):
                    if groups.separated(target, other):
                        indicator_suggestions.append((target, other, item.item_id, via.get(other)))
                        continue
                    if target > 0 and other > 0:
                        merges.append((target, other, item.item_id, via.get(other)))
                    groups.union(target, other)
        target_of[item.item_id] = target
        if item.positive:
            for ind, _ in inds + attached.get(item.item_id, []):
                if ind not in owner:
                    owner[ind] = new_owner[ind] = target
    real = _create_shops(session, groups, founded, actor, summary)

    def resolve(shop: int) -> int:
        root = groups.find(shop)
        return real.get(root, root)

    merge_many(session, [(keep, gone, f"item {item_id} shares {via or 'an identifier'} with both shops",
                          {"item": item_id, "via": via}) for keep, gone, item_id, via in merges], actor=actor)  # fmt: skip
    summary.merges += len(merges)
    now = utcnow()
    how = "auto" if actor == AUTO else "manual"
    fresh = [{"item_id": i, "shop_id": resolve(t), "how": how, "added_at": now}
             for i, t in target_of.items() if i not in placed]  # fmt: skip
    if fresh:
        session.execute(insert(ShopItem.__table__), fresh)
    for item_id, target in target_of.items():
        if item_id in placed and resolve(placed[item_id]) != resolve(target):
            session.execute(
                update(ShopItem).where(ShopItem.item_id == item_id).values(shop_id=resolve(target))
            )
    if new_owner:
        session.execute(insert(ShopIndicator.__table__), [{"indicator_id": i, "shop_id": resolve(t), "how": AUTO, "added_at": now}
                                                for i, t in new_owner.items()])  # fmt: skip
    for a, b, item_id, via in indicator_suggestions:
        if resolve(a) != resolve(b):
            summary.suggestions += suggest(session, resolve(a), resolve(b), "indicator", 1.0,
                                           {"item": item_id, "via": via})  # fmt: skip
    positive = {i.item_id: (i.signature or minhash_of(i.text)) for i in incoming
                if i.positive and i.item_id in target_of}  # fmt: skip
    shop_of = {i: resolve(t) for i, t in target_of.items()}
    summary.suggestions += near_duplicates(session, positive, shop_of)
    images = {i.item_id: i.images for i in incoming if i.positive and i.images and i.item_id in target_of}
    summary.suggestions += same_images(session, images, shop_of)
    summary.touched = {resolve(t) for t in target_of.values()}
    refresh(session, summary.touched)
    return summary


def _create_shops(session: Session, groups: _Groups, founded: dict[int, tuple[int, list[str]]], actor: str,
                  summary: LinkSummary) -> dict[int, int]:  # fmt: skip
    """Insert the batch's new shops that were not absorbed by existing ones; temporary id -> id."""
    roots = [t for t in sorted(founded, reverse=True) if groups.find(t) == t]
    if not roots:
        return {}
    now = utcnow()
    shops = [Shop(name=founded[t][1][0].split(":", 1)[1], created_at=now, updated_at=now, items=0, mirrors=0,
                  tips=0, graffiti=0, reach=0, score=0.0) for t in roots]  # fmt: skip
    session.add_all(shops)
    session.flush()
    real = {t: shop.id for t, shop in zip(roots, shops, strict=True)}
    audit.record(session, "shop.create", f"shops:{shops[0].id}-{shops[-1].id}", actor=actor,
                 reason="drug-positive items with identifiers no shop had",
                 detail={str(real[t]): {"item": founded[t][0], "indicators": founded[t][1]} for t in roots})  # fmt: skip
    summary.shops_created += len(roots)
    return real


def score(items: int, mirrors: int, tips: int, graffiti: int, reach: int) -> float:
    """Rank: big platforms first — many items, many mirrors, citizens' tips and graffiti, wide reach."""
    return round(
        10 * math.log10(1 + items) + 5 * mirrors + 3 * tips + 3 * graffiti + 2 * math.log10(1 + reach), 2
    )


def record_audience(session: Session, channel: str, subscribers: int) -> None:
    """Keep a channel's subscriber count on its indicator; its shop's reach and score follow."""
    indicator = session.scalar(
        select(Indicator).where(
            Indicator.type == "telegram_username", Indicator.normalized == channel.lower()
        )
    )
    if indicator is None:
        return
    if (indicator.detail or {}).get("subscribers") == subscribers:
        return
    indicator.detail = {**(indicator.detail or {}), "subscribers": subscribers}
    audit.record(session, "indicator.audience", f"indicator:{indicator.id}", actor=AUTO,
                 reason=f"{channel} shows {subscribers} subscribers", detail={"subscribers": subscribers})  # fmt: skip
    shop = session.scalar(select(ShopIndicator.shop_id).where(ShopIndicator.indicator_id == indicator.id))
    session.flush()
    if shop is not None:
        refresh(session, {shop})


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
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (shop, _), (n, reach) in counts.items():
        totals[shop][0] += n
        totals[shop][1] = max(totals[shop][1], reach)
    for shop, detail in session.execute(
        select(ShopIndicator.shop_id, Indicator.detail)
        .join(Indicator, Indicator.id == ShopIndicator.indicator_id)
        .where(ShopIndicator.shop_id.in_(ids), Indicator.type == "telegram_username")
    ):
        subscribers = (detail or {}).get("subscribers")
        if isinstance(subscribers, int):
            totals[shop][1] = max(totals[shop][1], subscribers)  # reach: the larger of views and subscribers
    now = utcnow()
    rows = []
    for shop_id in ids:
        items, reach = totals[shop_id]
        tips = counts.get((shop_id, "tip"), (0, 0))[0]
        graffiti = counts.get((shop_id, "graffiti"), (0, 0))[0]
        row = {"shop_id": shop_id, "items": items, "mirrors": mirrors[shop_id], "tips": tips, "graffiti": graffiti,
               "reach": reach, "updated_at": now, "score": score(items, mirrors[shop_id], tips, graffiti, reach),
               "name": None}  # fmt: skip
        if names[shop_id]:
            (_, row["name"]), _ = max(names[shop_id].items(), key=lambda kv: (kv[1], kv[0][0], kv[0][1]))
        rows.append(row)
    table = Shop.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("shop_id"))
        .values({c: bindparam(c) for c in ("items", "mirrors", "tips", "graffiti", "reach", "updated_at", "score")}
                | {"name": func.coalesce(bindparam("name"), table.c.name)}),
        rows,
    )  # fmt: skip
