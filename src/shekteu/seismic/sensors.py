"""The registry of covert sensors: where each geophone is, at which site, and how it listens.

A sensor is known by its SEED id (NET.STA.LOC.CHA) while installed; removing it keeps the row (the
record of where it was) and frees the id for a new placement. Positions are sensitive: every call
here checks the ``sensors`` permission (analysts and admins), changes and position listings are
audited, and nothing here feeds a public export.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.seismic_tables import Sensor
from shekteu.db.tables import FieldSite
from shekteu.seismic import SeismicError
from shekteu.seismic.detect import Params
from shekteu.users import authorize

SEED_ID = re.compile(r"[A-Z0-9]{1,2}\.[A-Z0-9]{1,5}\.[A-Z0-9]{0,2}\.[A-Z0-9]{3}")
QUIET = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d")


def _date(value: str | None, what: str) -> str:
    if value is None:
        return date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise SeismicError(f"{what} {value!r}: not a date (YYYY-MM-DD)") from None


def add(session: Session, seed_id: str, *, lat: float, lon: float, actor: str, site_id: int | None = None,
        place: str | None = None, installed_on: str | None = None, rate: float | None = None,
        gain: float | None = None, response: str | None = None, params: dict[str, Any] | None = None,
        quiet_hours: list[str] | None = None) -> Sensor:  # fmt: skip
    """Register an installed sensor; SeismicError for a bad id, position, site or setting."""
    actor = authorize(session, actor, "sensors")
    seed_id = seed_id.strip().upper()
    if not SEED_ID.fullmatch(seed_id):
        raise SeismicError(f"{seed_id!r} is not a SEED id NET.STA.LOC.CHA (e.g. KZ.SHU01.00.HHZ)")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SeismicError(f"position {lat}, {lon} is not a latitude and longitude")
    if site_id is not None and session.get(FieldSite, site_id) is None:
        raise SeismicError(f"no field site {site_id} (see `shekteu field sites`)")
    if site_id is None and not (place or "").strip():
        raise SeismicError("say where it is: --site ID from the field registry, or --place NAME")
    if rate is not None and not 1 <= rate <= 20_000:
        raise SeismicError(f"sampling rate {rate:g} Hz is out of range (1-20000)")
    bad = [q for q in quiet_hours or [] if not QUIET.fullmatch(q)]
    if bad:
        raise SeismicError(f"quiet hours {bad[0]!r}: write HH:MM-HH:MM (local time)")
    Params().merged(params)  # unknown keys are ignored, bad values fail here rather than at detection
    sensor = Sensor(seed_id=seed_id, lat=lat, lon=lon, site_id=site_id, place=(place or "").strip() or None,
                    installed_on=_date(installed_on, "installed"), rate=rate, gain=gain, response=response,
                    params=params or {}, quiet_hours=quiet_hours or [], muted=False)  # fmt: skip
    session.add(sensor)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise SeismicError(f"sensor {seed_id} is already installed; remove it first") from None
    audit.record(session, "sensor.add", f"sensor:{sensor.id}", actor=actor, reason="sensor installed",
                 detail={"seed_id": seed_id, "site_id": site_id, "place": sensor.place})  # fmt: skip
    return sensor


def installed(session: Session, seed_id: str) -> Sensor:
    sensor = session.scalar(select(Sensor).where(Sensor.seed_id == seed_id.strip().upper(),
                                                 Sensor.removed_on.is_(None)))  # fmt: skip
    if sensor is None:
        raise SeismicError(f"no installed sensor {seed_id!r} (see `shekteu sensors list`)")
    return sensor


def remove(session: Session, seed_id: str, *, actor: str, reason: str, on: str | None = None) -> Sensor:
    actor = authorize(session, actor, "sensors")
    if not reason.strip():
        raise SeismicError("say why (--reason): recovered, found by suspects, battery dead …")
    sensor = installed(session, seed_id)
    sensor.removed_on = _date(on, "removed")
    audit.record(session, "sensor.remove", f"sensor:{sensor.id}", actor=actor, reason=reason,
                 detail={"seed_id": sensor.seed_id})  # fmt: skip
    return sensor


def set_muted(session: Session, seed_id: str, muted: bool, *, actor: str, reason: str) -> Sensor:
    actor = authorize(session, actor, "sensors")
    sensor = installed(session, seed_id)
    sensor.muted = muted
    audit.record(session, "sensor.mute" if muted else "sensor.unmute", f"sensor:{sensor.id}", actor=actor,
                 reason=reason or None)  # fmt: skip
    return sensor


def listing(session: Session, *, actor: str, all_sensors: bool = False) -> list[Sensor]:
    """Sensors with positions (installed ones unless ``all_sensors``); the viewing is audited."""
    actor = authorize(session, actor, "sensors")
    q = select(Sensor).order_by(Sensor.seed_id, Sensor.id)
    if not all_sensors:
        q = q.where(Sensor.removed_on.is_(None))
    rows = list(session.scalars(q))
    audit.record(session, "sensor.list", "sensors", actor=actor, reason="sensor positions viewed",
                 detail={"count": len(rows)})  # fmt: skip
    return rows


def as_json(sensor: Sensor) -> dict[str, Any]:
    """The ``sensors list --json`` contract, plus the rest of the record."""
    return {"id": sensor.id, "seed_id": sensor.seed_id, "lat": sensor.lat, "lon": sensor.lon,
            "site_id": sensor.site_id, "rate": sensor.rate, "place": sensor.place,
            "installed_on": sensor.installed_on, "removed_on": sensor.removed_on, "muted": sensor.muted,
            "quiet_hours": sensor.quiet_hours, "params": sensor.params,
            "last_data_at": sensor.last_data_at.isoformat() if sensor.last_data_at else None}  # fmt: skip


def by_station(session: Session) -> dict[str, Sensor]:
    """Installed sensors by station (NET.STA) — how streams and files find their sensor."""
    return {s.station: s for s in session.scalars(select(Sensor).where(Sensor.removed_on.is_(None)))}


def station_params(sensors: dict[str, Sensor], base: Params) -> dict[str, Params]:
    return {st: base.merged(s.params) for st, s in sensors.items()}
