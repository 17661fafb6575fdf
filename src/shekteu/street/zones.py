"""Zones of responsibility (КСК/ОСИ areas, volunteer teams, police districts) from GeoJSON files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Zone, utcnow
from shekteu.geo.geojson import BoundaryError, features, parse_json, polygon_rings, properties
from shekteu.text.clean import clean_text
from shekteu.users import authorize

KINDS = ("ksk", "osi", "volunteers", "police", "district")
MAX_BYTES = 50_000_000
MAX_NAME = 200


def import_zones(session: Session, path: Path, *, kind: str, name_property: str, actor: str) -> list[str]:
    """Add (or replace, by kind and name) every polygon feature of a GeoJSON file; returns the names."""
    actor = authorize(session, actor, "zone.import")
    if kind not in KINDS:
        raise BoundaryError(f"unknown zone kind {kind!r}; use one of {', '.join(KINDS)}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BoundaryError(f"{path} is larger than {MAX_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise BoundaryError(f"cannot read {path}: {exc.strerror or exc}") from None
    found = features(parse_json(raw, str(path), MAX_BYTES), str(path))
    if not found:
        raise BoundaryError(f"{path}: not a GeoJSON FeatureCollection with features")
    names = []
    for n, feature in enumerate(found):
        geometry = feature.get("geometry")
        try:
            if not polygon_rings(geometry):
                raise ValueError("not a polygon")
        except ValueError as exc:
            raise BoundaryError(f"{path}: feature {n}: {exc}") from None
        props = properties(feature)
        name = clean_text(str(props.get(name_property) or "")).strip()[:MAX_NAME]
        if not name:
            raise BoundaryError(f"{path}: feature {n} has no {name_property!r} property")
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
