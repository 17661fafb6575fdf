"""The tips queue as an analyst works it: filtered (kind, status, channel, district, score range, words),
sorted by score or date, each row with what helps decide — its photos' QR payloads and painted
handles, the shops its identifiers already belong to, its district.

Filtering by district needs each tip's place looked up in the shipped boundaries, so it runs over the
newest ``SCAN`` candidates the other filters leave; everything else is one SQL query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from shekteu.db.tables import ItemIndicator, ShopIndicator, SpotPhoto, Tip
from shekteu.tips.query import _indicators, tip_json

SORTS = ("score", "date")
SCAN = 5000
MAX_QUERY = 200


@dataclass(frozen=True)
class TipFilter:
    status: str | None = None
    kind: str | None = None
    channel: str | None = None
    district: str | None = None  # KATO code of a district (or an oblast prefix)
    min_score: float | None = None
    max_score: float | None = None
    q: str | None = None  # words in the text
    sort: str = "score"
    limit: int = 100


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, f: TipFilter) -> list[dict[str, Any]]:
    from shekteu.geo.boundaries import locate

    original = aliased(Tip)
    query = select(Tip, original.ticket).outerjoin(original, original.id == Tip.duplicate_of)
    for column, value in ((Tip.status, f.status), (Tip.kind, f.kind), (Tip.channel, f.channel)):
        if value:
            query = query.where(column == value)
    if f.min_score is not None:
        query = query.where(Tip.score >= f.min_score)
    if f.max_score is not None:
        query = query.where(Tip.score <= f.max_score)
    if f.q and f.q.strip():
        for word in f.q.strip()[:MAX_QUERY].split()[:8]:
            query = query.where(func.lower(Tip.text).like(f"%{_escape_like(word.lower())}%", escape="\\"))
    if f.district:
        query = query.where(Tip.lat.is_not(None))
    if f.sort == "date":
        query = query.order_by(Tip.id.desc())
    else:
        query = query.order_by(Tip.score.desc().nulls_last(), Tip.id.desc())
    rows = session.execute(query.limit(SCAN if f.district else f.limit)).all()
    places = {t.id: locate(t.lat, t.lon) if t.lat is not None and t.lon is not None else None for t, _ in rows}
    if f.district:
        rows = [r for r in rows if (a := places[r[0].id]) is not None and a.kato.startswith(f.district)][: f.limit]
    tips = [t for t, _ in rows]
    item_ids = [t.item_id for t in tips if t.item_id]
    indicators = _indicators(session, item_ids)
    shops = _shops(session, item_ids)
    photos = _photo_findings(session, [t.id for t in tips])
    out = []
    for tip, duplicate in rows:
        row = tip_json(tip, indicators.get(tip.item_id or 0, []), duplicate)
        area = places.get(tip.id)
        row["district"] = area.as_json() if area else None
        row["photos"] = len(tip.photos or [])
        first = (tip.photos or [{}])[0]  # the thumbnail: photo 1 once the tip job made its display copy
        row["thumbnail"] = "ready" if first.get("display_sha256") else ("failed" if first.get("display_error") else "later")
        row["qr"], row["painted"] = photos.get(tip.id, ([], []))
        row["shops"] = shops.get(tip.item_id or 0, [])
        out.append(row)
    return out


def _shops(session: Session, item_ids: list[int]) -> dict[int, list[int]]:
    """Shops that already own one of each item's identifiers: the tip matches them."""
    out: dict[int, list[int]] = defaultdict(list)
    if not item_ids:
        return out
    rows = session.execute(
        select(ItemIndicator.item_id, ShopIndicator.shop_id)
        .join(ShopIndicator, ShopIndicator.indicator_id == ItemIndicator.indicator_id)
        .where(ItemIndicator.item_id.in_(item_ids)).distinct()
        .order_by(ItemIndicator.item_id, ShopIndicator.shop_id)
    )  # fmt: skip
    for item_id, shop_id in rows:
        out[item_id].append(shop_id)
    return out


def _photo_findings(session: Session, tip_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """Per tip: the QR payloads read off its photos, and the handles read (OCR) off the walls."""
    out: dict[int, tuple[list[str], list[str]]] = {}
    if not tip_ids:
        return out
    for tip_id, qr, found in session.execute(
        select(SpotPhoto.tip_id, SpotPhoto.qr, SpotPhoto.indicators).where(SpotPhoto.tip_id.in_(tip_ids))
    ):
        payloads, handles = out.setdefault(tip_id, ([], []))
        payloads += [str(p) for p in qr or [] if str(p) not in payloads]
        for value in (str(v) for v in found or []):  # what was read off the wall, less what the QR said
            if value not in handles and not any(value.lstrip("@").lower() in p.lower() for p in payloads):
                handles.append(value)
    return out


def counts_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Tip.status, func.count()).group_by(Tip.status)).all())


__all__ = ["SORTS", "TipFilter", "counts_by_status", "search"]
