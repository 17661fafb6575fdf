"""Graffiti spots: reports joined by place and handle, routed to zones, painted over and verified.

A report (a graffiti tip with a location, or a photo added by staff) joins the spot within
``SPOT_RADIUS_M`` that shares one of its identifiers — or, when either side has none readable, the
nearest spot in that radius; otherwise it makes a new spot, placed in its district (KATO) and in
the first zone of responsibility whose polygon holds it. Lifecycle:
``reported → verified → assigned → painted → confirmed``. Painting needs an after-photo taken within
``PAINT_RADIUS_M`` of the spot, later than the reports, in which none of the spot's identifiers can
be read any more. A new report at a painted or confirmed spot reopens it (reappearance). Assigned
spots past their due date are overdue. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.tables import Spot, SpotPhoto, Zone, utcnow
from shekteu.geo import boundaries
from shekteu.geo.distance import metres
from shekteu.users import authorize
from shekteu.wording import N_, Refusal, Term, Terms

SPOT_RADIUS_M = 30.0
SPOT_DECIMALS = 4  # ~10 m: enough for a crew to find the wall, not a reporter's doorstep to the cm
PAINT_RADIUS_M = 50.0
DUE_DAYS = 7
STATUSES = ("reported", "verified", "assigned", "painted", "confirmed")
TRANSITIONS = {"reported": {"verified"}, "verified": {"assigned"}, "assigned": {"painted"}, "painted": {"confirmed"},
               "confirmed": set()}  # fmt: skip


class SpotError(Refusal):
    """An unknown spot, a step out of order, or an after-photo that does not prove the painting."""


def _zone_for(session: Session, lat: float, lon: float) -> Zone | None:
    for zone in session.scalars(select(Zone).order_by(Zone.id)):
        areas = boundaries.parse({"features": [{"geometry": zone.geometry, "properties": {"name": zone.name}}]},
                                 f"zone {zone.id}")  # fmt: skip
        if areas[0].contains(lat, lon):
            return zone
    return None


@dataclass
class ReportResult:
    spot: Spot
    joined: bool
    reopened: bool


def add_report(session: Session, *, lat: float, lon: float, indicators: list[str], actor: str,
               tip_id: int | None = None, photo: dict[str, Any] | None = None,
               radius: float = SPOT_RADIUS_M) -> ReportResult:  # fmt: skip
    """Record one sighting; joins or creates a spot (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        # Two workers reading photos of one wall at once must not both found a spot there (issue 20).
        session.execute(text("SELECT pg_advisory_xact_lock(7242003)"))
    wanted = set(indicators)
    span = radius / 111_000 * 2
    near = []
    for spot in session.scalars(select(Spot).where(Spot.lat.between(lat - span, lat + span),
                                                   Spot.lon.between(lon - span * 2, lon + span * 2))):  # fmt: skip
        distance = metres((lat, lon), (spot.lat, spot.lon))
        if distance <= radius and (wanted & set(spot.indicators) or not wanted or not spot.indicators):
            near.append((not (wanted & set(spot.indicators)), distance, spot))
    now = utcnow()
    reopened = False
    if near:
        spot = min(near, key=lambda n: (n[0], n[1]))[2]
        spot.reports += 1
        spot.indicators = sorted(set(spot.indicators) | wanted)
        spot.updated_at = now
        if spot.status in ("painted", "confirmed"):
            before, spot.status, spot.reopened, reopened = spot.status, "reported", spot.reopened + 1, True
            audit.record(session, "spot.reopen", f"spot:{spot.id}", actor=actor, reason="graffiti reported again",
                         detail={"from": before, "tip": tip_id})  # fmt: skip
        joined = True
    else:
        area = boundaries.locate(lat, lon)
        zone = _zone_for(session, lat, lon)
        spot = Spot(lat=round(lat, SPOT_DECIMALS), lon=round(lon, SPOT_DECIMALS), status="reported", indicators=sorted(wanted),
                    zone_id=zone.id if zone else None, kato=area.kato if area else None,
                    district=area.name_ru if area else None, oblast=area.oblast_ru if area else None, reports=1,
                    reopened=0, created_at=now, updated_at=now)  # fmt: skip
        session.add(spot)
        session.flush()
        audit.record(session, "spot.create", f"spot:{spot.id}", actor=actor, reason="graffiti reported",
                     detail={"tip": tip_id, "indicators": spot.indicators, "zone": spot.zone_id, "kato": spot.kato})  # fmt: skip
        joined = False
    session.add(SpotPhoto(spot_id=spot.id, tip_id=tip_id, role="report", sha256=(photo or {}).get("sha256"),
                          lat=lat, lon=lon, taken_at=(photo or {}).get("taken_at"), qr=(photo or {}).get("qr", []),
                          indicators=sorted(wanted), added_by=actor, created_at=now))  # fmt: skip
    return ReportResult(spot, joined, reopened)


def get_spot(session: Session, spot_id: int) -> Spot:
    spot = session.get(Spot, spot_id)
    if spot is None:
        raise SpotError(N_("no spot with id {id}"), id=spot_id)
    return spot


def _move(
    session: Session, spot: Spot, to: str, *, actor: str, reason: str, detail: dict[str, Any] | None = None
) -> None:
    if to not in TRANSITIONS[spot.status]:
        if not TRANSITIONS[spot.status]:
            raise SpotError(N_("spot {id} is {status}: it can become nothing (confirmed), not {to}"), id=spot.id,
                            status=Term(spot.status), to=Term(to))  # fmt: skip
        raise SpotError(N_("spot {id} is {status}: it can become {allowed}, not {to}"), id=spot.id,
                        status=Term(spot.status), allowed=Terms(sorted(TRANSITIONS[spot.status])), to=Term(to))  # fmt: skip
    before, spot.status, spot.updated_at = spot.status, to, utcnow()
    audit.record(session, f"spot.{to}", f"spot:{spot.id}", actor=actor, reason=reason,
                 detail={"from": before, **(detail or {})})  # fmt: skip


def verify(session: Session, spot_id: int, *, actor: str, reason: str) -> Spot:
    actor = authorize(session, actor, "spot.edit")
    spot = get_spot(session, spot_id)
    _move(session, spot, "verified", actor=actor, reason=reason)
    return spot


def assign(session: Session, spot_id: int, *, actor: str, reason: str, team: str | None = None,
           days: int = DUE_DAYS) -> Spot:  # fmt: skip
    actor = authorize(session, actor, "spot.edit")
    spot = get_spot(session, spot_id)
    zone = session.get(Zone, spot.zone_id) if spot.zone_id else None
    spot.assigned_to = team or (zone.name if zone else None)
    if not spot.assigned_to:
        raise SpotError(N_("spot {id} is in no zone: name the team (--team)"), id=spot.id)
    spot.due_at = utcnow() + timedelta(days=days)
    _move(
        session, spot, "assigned", actor=actor, reason=reason, detail={"team": spot.assigned_to, "days": days}
    )
    return spot


def paint(session: Session, spot_id: int, after: dict[str, Any], *, actor: str, reason: str,
          radius: float = PAINT_RADIUS_M) -> Spot:  # fmt: skip
    """Mark painted with an after-photo analysis (``street.photo.PhotoResult.as_json()`` + sha256)."""
    actor = authorize(session, actor, "spot.edit")
    spot = get_spot(session, spot_id)
    if spot.status != "assigned":
        raise SpotError(N_("spot {id} is {status}: only an assigned spot can be painted"), id=spot.id,
                        status=Term(spot.status))  # fmt: skip
    if after.get("error") and not after.get("gps"):
        raise SpotError(N_("the after-photo could not be read: {error}"), error=after["error"])
    gps = after.get("gps")
    if not gps:
        raise SpotError(N_("the after-photo has no GPS position: take it with location on, as a file"))
    distance = metres((gps["lat"], gps["lon"]), (spot.lat, spot.lon))
    if distance > radius:
        raise SpotError(N_("the after-photo was taken {distance:.0f} m from the spot; at most {radius:.0f} m"),
                        distance=distance, radius=radius)  # fmt: skip
    taken = after.get("taken_at")
    if not taken:
        raise SpotError(N_("the after-photo has no time taken"))
    taken_at = datetime.fromisoformat(taken)
    reports = [p.taken_at or p.created_at for p in session.scalars(
        select(SpotPhoto).where(SpotPhoto.spot_id == spot.id, SpotPhoto.role == "report"))]  # fmt: skip
    latest = max(reports) if reports else spot.created_at
    if taken_at.tzinfo is not None and taken_at <= latest:
        raise SpotError(
            N_("the after-photo was taken {taken}, not after the report ({report})"), taken=taken_at.isoformat(),
            report=latest.isoformat(),
        )
    if taken_at.tzinfo is None and taken_at.date() < latest.date():
        raise SpotError(N_("the after-photo was taken {taken}, before the report ({report})"), taken=taken_at.date(),
                        report=latest.date())  # fmt: skip
    readable = {i["normalized"] for i in after.get("indicators", [])} | set(after.get("qr", []))
    still = sorted(readable & set(spot.indicators))
    if still:
        raise SpotError(N_("{still} can still be read in the after-photo: not painted over"), still=", ".join(still))
    session.add(SpotPhoto(spot_id=spot.id, role="after", sha256=after.get("sha256"), lat=gps["lat"], lon=gps["lon"],
                          taken_at=taken_at if taken_at.tzinfo else None, qr=after.get("qr", []),
                          indicators=sorted(readable), added_by=actor, created_at=utcnow()))  # fmt: skip
    _move(session, spot, "painted", actor=actor, reason=reason, detail={"distance_m": round(distance, 1)})
    return spot


def confirm(session: Session, spot_id: int, *, actor: str, reason: str) -> Spot:
    actor = authorize(session, actor, "spot.edit")
    spot = get_spot(session, spot_id)
    _move(session, spot, "confirmed", actor=actor, reason=reason)
    return spot


def spot_json(spot: Spot, *, public: bool = False, zone: str | None = None) -> dict[str, Any]:
    now = utcnow()
    digits = 3 if public else 7  # public exports: about 100 m
    data = {"id": spot.id, "lat": round(spot.lat, digits), "lon": round(spot.lon, digits), "status": spot.status,
            "indicators": spot.indicators, "kato": spot.kato, "district": spot.district, "oblast": spot.oblast,
            "reports": spot.reports, "reopened": spot.reopened,
            "overdue": spot.status == "assigned" and spot.due_at is not None and spot.due_at < now,
            "created_at": spot.created_at.isoformat(), "updated_at": spot.updated_at.isoformat()}  # fmt: skip
    if not public:
        data.update(
            zone=zone, assigned_to=spot.assigned_to, due_at=spot.due_at.isoformat() if spot.due_at else None
        )
    return data


def list_spots(session: Session, *, status: str | None = None, overdue: bool = False, public: bool = False,
               limit: int = 10_000) -> list[dict[str, Any]]:  # fmt: skip
    zones = {z.id: z.name for z in session.scalars(select(Zone))}
    query = select(Spot).order_by(Spot.id).limit(limit)
    if status:
        query = query.where(Spot.status == status)
    rows = [spot_json(s, public=public, zone=zones.get(s.zone_id or 0)) for s in session.scalars(query)]
    return [r for r in rows if r["overdue"]] if overdue else rows
