"""Reading tips for staff: the queue as JSON Lines (the `shekteu tips list` contract) and one tip."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from shekteu.db.tables import Indicator, ItemIndicator, Tip


def _indicators(session: Session, item_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    out: dict[int, list[dict[str, str]]] = defaultdict(list)
    rows = session.execute(
        select(ItemIndicator.item_id, Indicator.type, Indicator.normalized)
        .join(Indicator, Indicator.id == ItemIndicator.indicator_id)
        .where(ItemIndicator.item_id.in_(item_ids))
        .order_by(ItemIndicator.item_id, ItemIndicator.start)
    )
    for item_id, kind, normalized in rows:
        entry = {"type": kind, "normalized": normalized}
        if entry not in out[item_id]:
            out[item_id].append(entry)
    return out


def tip_json(tip: Tip, indicators: list[dict[str, str]], duplicate_ticket: str | None) -> dict[str, Any]:
    return {"ticket": tip.ticket, "kind": tip.kind, "channel": tip.channel, "status": tip.status,
            "created_at": tip.created_at.isoformat(), "lat": tip.lat, "lon": tip.lon, "text": tip.text,
            "indicators": indicators, "score": tip.score, "duplicate_of": duplicate_ticket}  # fmt: skip


def list_tips(session: Session, *, limit: int = 100, status: str | None = None) -> list[dict[str, Any]]:
    original = aliased(Tip)
    query = (
        select(Tip, original.ticket)
        .outerjoin(original, original.id == Tip.duplicate_of)
        .order_by(Tip.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Tip.status == status)
    rows = session.execute(query).all()
    indicators = _indicators(session, [t.item_id for t, _ in rows if t.item_id])
    return [tip_json(t, indicators.get(t.item_id or 0, []), dup) for t, dup in rows]


def show_tip(session: Session, tip: Tip) -> dict[str, Any]:
    """Staff view: the list fields plus photos, location source and public status."""
    duplicate = session.get(Tip, tip.duplicate_of) if tip.duplicate_of else None
    data = tip_json(tip, _indicators(session, [tip.item_id])[tip.item_id] if tip.item_id else [],
                    duplicate.ticket if duplicate else None)  # fmt: skip
    data.update(public_status=tip.public_status, links=tip.links, location_source=tip.location_source,
                lang=tip.lang, photos=tip.photos, item_id=tip.item_id, contact_kept=tip.contact_sealed is not None)  # fmt: skip
    return data
