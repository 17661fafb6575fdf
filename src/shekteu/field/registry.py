"""The registry of field sites: stored once, then suspected → confirmed (patrol/drone) → destroyed.

A detection run stores its sites keyed by a SHA-256 of geometry, date and source, so rerunning the same
imagery adds nothing (two runs at once included); a Sentinel-2 site keeps its hectares per density
class, and a site mapped over a destroyed one says so (``regrowth_of``). Every status change names
who, why, and lands in the audit log. A suspected site that a patrol finds empty is dismissed rather
than deleted, so the record of the call stays.
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
from shekteu.field.phenology import DENSITY
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
    """Add sites not stored yet; (added, already known). Keys are inserted with "on conflict do
    nothing", so a run storing the same sites at the same moment makes them known, not an error. A
    new site over a destroyed one names it in ``regrowth_of``: the plot is green again."""
    from shapely.geometry import shape

    keys = {site_key(f): f for f in features}
    if not keys:
        return 0, 0
    shapes = {key: shape(f["geometry"]) for key, f in keys.items()}
    destroyed = _Destroyed(_destroyed_near(session, list(shapes.values())))
    rows = []
    for key, f in keys.items():
        p, geom = f["properties"], shapes[key]
        point = geom.representative_point()
        density = {name: p[f"hectares_{name}"] for name, _ in DENSITY if f"hectares_{name}" in p}
        rows.append({
            "key": key, "geometry": f["geometry"], "hectares": p["hectares"], "ndvi": p.get("ndvi"),
            "confidence": p.get("confidence"), "observed_on": p.get("date"), "source": str(p.get("source") or ""),
            "method": str(p.get("method") or ""), "kato": p.get("kato"), "district": p.get("district"),
            "oblast": p.get("oblast"), "lat": point.y, "lon": point.x, "status": "suspected",
            "density": density or None, "regrowth_of": destroyed.under(geom),
        })  # fmt: skip
    insert = _insert_new(session.get_bind().dialect.name)
    added = [dict(zip(("id", "hectares", "regrowth_of"), r, strict=True)) for r in session.execute(insert, rows)]
    added.sort(key=lambda r: r["id"])
    if added:
        regrown = [[r["id"], r["regrowth_of"]] for r in added if r["regrowth_of"] is not None]
        audit.record(session, "field.detect", f"field_sites:{added[0]['id']}-{added[-1]['id']}", actor=actor,
                     reason="sites mapped from imagery",
                     detail={"added": len(added), "hectares": round(sum(r["hectares"] for r in added), 3),
                             "regrown": regrown[:200]})  # fmt: skip
    return len(added), len(keys) - len(added)


def _insert_new(dialect: str) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING the new rows' id, hectares and regrowth."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (insert(FieldSite).on_conflict_do_nothing(index_elements=["key"])
            .returning(FieldSite.id, FieldSite.hectares, FieldSite.regrowth_of))  # fmt: skip


def _destroyed_near(session: Session, shapes: list[Any], margin: float = 0.05) -> list[tuple[int, Any]]:
    """(id, shape) of destroyed sites whose point lies within ``margin`` degrees of the new sites."""
    from shapely.geometry import shape

    if not shapes:
        return []
    bounds = [g.bounds for g in shapes]
    x0, y0 = min(b[0] for b in bounds) - margin, min(b[1] for b in bounds) - margin
    x1, y1 = max(b[2] for b in bounds) + margin, max(b[3] for b in bounds) + margin
    rows = session.execute(
        select(FieldSite.id, FieldSite.geometry).where(
            FieldSite.status == "destroyed", FieldSite.lon.between(x0, x1), FieldSite.lat.between(y0, y1)
        )
    ).all()
    return [(site_id, shape(geometry).buffer(0)) for site_id, geometry in rows]


class _Destroyed:
    """Destroyed sites in a spatial index: which one a new site overlaps most."""

    def __init__(self, sites: list[tuple[int, Any]]) -> None:
        from shapely import STRtree

        self.ids = [site_id for site_id, _ in sites]
        self.shapes = [geometry for _, geometry in sites]
        self.tree = STRtree(self.shapes) if sites else None

    def under(self, geom: Any) -> int | None:
        if self.tree is None:
            return None
        best, most = None, 0.0
        for i in self.tree.query(geom, predicate="intersects"):
            area = self.shapes[i].intersection(geom.buffer(0)).area
            if best is None or area > most:
                best, most = self.ids[i], area
        return best


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
    """The site as GeoJSON; density classes as ``hectares_dense|sparse|isolated``, as ``field detect``
    writes them."""
    props = {
        "id": site.id, "status": site.status, "hectares": site.hectares, "ndvi": site.ndvi, "confidence": site.confidence,
        "date": site.observed_on, "kato": site.kato, "district": site.district, "oblast": site.oblast,
        "source": site.source, "method": site.method, "updated_at": site.updated_at.isoformat(),
        "regrowth_of": site.regrowth_of,
    }  # fmt: skip
    for name, hectares in (site.density or {}).items():
        props[f"hectares_{name}"] = hectares
    return {"type": "Feature", "geometry": site.geometry, "properties": props}
