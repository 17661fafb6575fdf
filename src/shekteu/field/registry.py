"""The registry of field sites: stored once, then suspected → confirmed (patrol/drone) → destroyed.

A detection run stores its sites keyed by a SHA-256 of geometry, date and source, so rerunning the same
imagery adds nothing; every status change names who, why, and lands in the audit log. A suspected site
that a patrol finds empty is dismissed rather than deleted, so the record of the call stays.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import FieldSite, utcnow
from shekteu.field import FieldError
from shekteu.users import authorize

STATUSES = ("suspected", "confirmed", "destroyed", "dismissed")
TRANSITIONS = {
    "suspected": {"confirmed", "dismissed"},
    "confirmed": {"destroyed"},
    "destroyed": set(),
    "dismissed": set(),
}


def site_key(feature: dict[str, Any]) -> str:
    p = feature["properties"]
    payload = json.dumps([_rounded(feature["geometry"]["coordinates"]), p.get("date"), p.get("source")])
    return hashlib.sha256(payload.encode()).hexdigest()


def _rounded(value: Any) -> Any:
    return (
        round(value, 6)
        if isinstance(value, float)
        else [_rounded(v) for v in value]
        if isinstance(value, list | tuple)
        else value
    )


def store(session: Session, features: list[dict[str, Any]], *, actor: str) -> tuple[int, int]:
    """Add sites not stored yet; (added, already known)."""
    from shapely.geometry import shape

    keys = {site_key(f): f for f in features}
    known = (
        set(session.scalars(select(FieldSite.key).where(FieldSite.key.in_(list(keys))))) if keys else set()
    )
    added = []
    for key, f in keys.items():
        if key in known:
            continue
        p = f["properties"]
        point = shape(f["geometry"]).representative_point()
        row = FieldSite(
            key=key, geometry=f["geometry"], hectares=p["hectares"], ndvi=p.get("ndvi"), confidence=p.get("confidence"),
            observed_on=p.get("date"), source=str(p.get("source") or ""), method=str(p.get("method") or ""),
            kato=p.get("kato"), district=p.get("district"), oblast=p.get("oblast"), lat=point.y, lon=point.x,
            status="suspected",
        )  # fmt: skip
        session.add(row)
        added.append(row)
    session.flush()
    if added:
        audit.record(session, "field.detect", f"field_sites:{added[0].id}-{added[-1].id}", actor=actor,
                     reason="sites mapped from imagery",
                     detail={"added": len(added), "hectares": round(sum(r.hectares for r in added), 3)})  # fmt: skip
    return len(added), len(keys) - len(added)


def get_site(session: Session, site_id: int) -> FieldSite:
    site = session.get(FieldSite, site_id)
    if site is None:
        raise FieldError(f"no field site with id {site_id}")
    return site


def move(session: Session, site_id: int, to: str, *, actor: str, reason: str) -> FieldSite:
    actor = authorize(session, actor, "field.edit")
    site = get_site(session, site_id)
    if to not in TRANSITIONS.get(site.status, set()):
        allowed = ", ".join(sorted(TRANSITIONS[site.status])) or "nothing"
        raise FieldError(f"field site {site.id} is {site.status}: it can become {allowed}, not {to}")
    if not reason.strip():
        raise FieldError("say why (--reason): patrol report, drone flight, act of destruction …")
    before, site.status, site.updated_at = site.status, to, utcnow()
    audit.record(
        session, f"field.{to}", f"field_site:{site.id}", actor=actor, reason=reason, detail={"from": before}
    )
    return site


def list_sites(
    session: Session, *, status: str | None = None, kato: str | None = None, limit: int = 10_000
) -> list[FieldSite]:
    if status and status not in STATUSES:
        raise FieldError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    q = select(FieldSite).order_by(FieldSite.hectares.desc(), FieldSite.id).limit(limit)
    if status:
        q = q.where(FieldSite.status == status)
    if kato:
        q = q.where(FieldSite.kato == kato)
    return list(session.scalars(q))


def totals(session: Session) -> list[dict[str, Any]]:
    """Sites and hectares per district and status, for summaries and the dashboard."""
    q = select(
        FieldSite.kato, FieldSite.district, FieldSite.status, func.count(), func.sum(FieldSite.hectares)
    ).group_by(FieldSite.kato, FieldSite.district, FieldSite.status)
    return [
        {"kato": k, "name": d, "status": s, "sites": n, "hectares": round(h or 0, 3)}
        for k, d, s, n, h in session.execute(q)
    ]


def site_feature(site: FieldSite) -> dict[str, Any]:
    return {"type": "Feature", "geometry": site.geometry, "properties": {
        "id": site.id, "status": site.status, "hectares": site.hectares, "ndvi": site.ndvi, "confidence": site.confidence,
        "date": site.observed_on, "kato": site.kato, "district": site.district, "oblast": site.oblast,
        "source": site.source, "method": site.method, "updated_at": site.updated_at.isoformat()}}  # fmt: skip
