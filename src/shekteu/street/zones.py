"""Zones of responsibility (КСК/ОСИ areas, volunteer teams, police districts) from GeoJSON files."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Zone, utcnow
from shekteu.geo.boundaries import BoundaryError, _rings

KINDS = ("ksk", "osi", "volunteers", "police", "district")
MAX_BYTES = 50_000_000


def import_zones(session: Session, path: Path, *, kind: str, name_property: str, actor: str) -> list[str]:
    """Add (or replace, by kind and name) every polygon feature of a GeoJSON file; returns the names."""
    if kind not in KINDS:
        raise BoundaryError(f"unknown zone kind {kind!r}; use one of {', '.join(KINDS)}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BoundaryError(f"{path} is larger than {MAX_BYTES} bytes")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise BoundaryError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BoundaryError(f"{path} is not JSON: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise BoundaryError(f"{path}: not a GeoJSON FeatureCollection with features")
    names = []
    for n, feature in enumerate(features):
        geometry = (feature or {}).get("geometry") or {}
        try:
            if not _rings(geometry):
                raise ValueError
        except (ValueError, IndexError, TypeError):
            raise BoundaryError(f"{path}: feature {n} is not a polygon") from None
        name = str(((feature or {}).get("properties") or {}).get(name_property) or "").strip()
        if not name:
            raise BoundaryError(f"{path}: feature {n} has no {name_property!r} property")
        zone = session.scalar(select(Zone).where(Zone.kind == kind, Zone.name == name))
        contact = ((feature or {}).get("properties") or {}).get("contact")
        if zone is None:
            session.add(Zone(kind=kind, name=name, contact=contact, geometry=geometry, created_at=utcnow()))
        else:
            zone.geometry, zone.contact = geometry, contact
        names.append(name)
    audit.record(session, "zones.import", f"file:{path.name}", actor=actor, reason="zones of responsibility",
                 detail={"kind": kind, "zones": names[:200]})  # fmt: skip
    return names
