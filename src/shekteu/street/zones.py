"""Zones of responsibility (КСК/ОСИ areas, volunteer teams, police districts) from GeoJSON files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Zone, utcnow
from shekteu.geo.geojson import BoundaryError, features, parse_json, polygon_rings, properties
from shekteu.text.clean import clean_text
from shekteu.users import authorize
from shekteu.wording import N_, Term

KINDS = ("ksk", "osi", "volunteers", "police", "district")
MAX_BYTES = 50_000_000
MAX_NAME = 200


def import_zones(session: Session, path: Path, *, kind: str, name_property: str, actor: str) -> list[str]:
    """Add (or replace, by kind and name) every polygon feature of a GeoJSON file; returns the names."""
    actor = authorize(session, actor, "zone.import")
    if kind not in KINDS:
        raise BoundaryError(N_("unknown zone kind {kind!r}; use one of {known}"), kind=kind, known=", ".join(KINDS))
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BoundaryError(N_("{source} is larger than {limit} bytes"), source=str(path), limit=MAX_BYTES)
        raw = path.read_bytes()
    except OSError as exc:
        raise BoundaryError(N_("cannot read {source}: {error}"), source=str(path), error=exc.strerror or str(exc)) from None
    found = features(parse_json(raw, str(path), MAX_BYTES), str(path))
    if not found:
        raise BoundaryError(N_("{source}: not a GeoJSON FeatureCollection with features"), source=str(path))
    names = []
    for n, feature in enumerate(found):
        geometry = feature.get("geometry")
        try:
            if not polygon_rings(geometry):
                raise ValueError("not a polygon")
        except ValueError as exc:
            raise BoundaryError(N_("{source}: feature {n}: {error}"), source=str(path), n=n, error=str(exc)) from None
        props = properties(feature)
        name = clean_text(str(props.get(name_property) or "")).strip()[:MAX_NAME]
        if not name:
            raise BoundaryError(N_("{source}: feature {n} has no {name!r} property"), source=str(path), n=n,
                                name=name_property)  # fmt: skip
        contact = props.get("contact")
        contact = clean_text(str(contact))[:MAX_NAME] if isinstance(contact, str | int) else None
        zone = session.scalar(select(Zone).where(Zone.kind == kind, Zone.name == name))
        if zone is None:
            session.add(Zone(kind=kind, name=name, contact=contact, geometry=geometry, created_at=utcnow()))
        else:
            zone.geometry, zone.contact = geometry, contact
        names.append(name)
    audit.record(session, "zones.import", f"file:{path.name}", actor=actor, reason="zones of responsibility",
                 detail={"kind": kind, "zones": names[:200]})  # fmt: skip
    return names


def list_zones(session: Session) -> list[dict[str, Any]]:
    """Every zone with how many spots it holds, by kind then name."""
    from sqlalchemy import func

    from shekteu.db.tables import Spot

    counts = dict(session.execute(select(Spot.zone_id, func.count()).group_by(Spot.zone_id)).all())
    return [{"id": z.id, "kind": z.kind, "name": z.name, "contact": z.contact, "spots": counts.get(z.id, 0),
             "created_at": z.created_at.isoformat()}
            for z in session.scalars(select(Zone).order_by(Zone.kind, Zone.name))]  # fmt: skip


def edit_zone(session: Session, zone_id: int, *, name: str, contact: str | None, actor: str, reason: str) -> Zone:
    """Rename a zone or change its contact (audited)."""
    actor = authorize(session, actor, "zone.import")
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise BoundaryError(N_("no zone {id}"), id=zone_id)
    name = clean_text(name).strip()[:MAX_NAME]
    if not name:
        raise BoundaryError(N_("a zone needs a name"))
    if not reason.strip():
        raise BoundaryError(N_("changing a zone needs a reason"))
    clash = session.scalar(select(Zone.id).where(Zone.kind == zone.kind, Zone.name == name, Zone.id != zone.id))
    if clash:
        raise BoundaryError(N_("another {kind} zone is called {name!r}"), kind=Term(zone.kind), name=name)
    before = {"name": zone.name, "contact": zone.contact}
    zone.name, zone.contact = name, (clean_text(contact).strip()[:MAX_NAME] or None) if contact else None
    audit.record(session, "zone.edit", f"zone:{zone.id}", actor=actor, reason=reason,
                 detail={"from": before, "to": {"name": zone.name, "contact": zone.contact}})  # fmt: skip
    return zone
