"""The tables of the covert seismic sensors (issue 22): the sensor registry, the network events
detected at a site, and the alerts raised from them (activity episodes and sensor health).

Same rules as ``tables.py``, whose ``Base`` they share; ``db/__init__.py`` imports this module so the
metadata is always complete. Sensor positions are sensitive: only code behind the ``sensors``
permission reads them, and no public export touches these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, text
from sqlalchemy.orm import Mapped, mapped_column

from shekteu.db.tables import Base
from shekteu.db.types import CleanString, CleanText, JSONType, UTCDateTime, utcnow

SENSOR_ACTIVE = "removed_on IS NULL"
ALERT_OPEN = "state = 'open'"


class Sensor(Base):
    """A geophone placed at a site: its SEED id, position, rate and its own detection settings."""

    __tablename__ = "sensors"
    __table_args__ = (
        Index("uq_sensors_active_seed_id", "seed_id", unique=True,
              postgresql_where=text(SENSOR_ACTIVE), sqlite_where=text(SENSOR_ACTIVE)),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed_id: Mapped[str] = mapped_column(CleanString(64))  # NET.STA.LOC.CHA
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("field_sites.id"))
    place: Mapped[str | None] = mapped_column(CleanText)  # a named place when there is no field site
    installed_on: Mapped[str] = mapped_column(CleanString(10))  # ISO date
    removed_on: Mapped[str | None] = mapped_column(CleanString(10))
    rate: Mapped[float | None] = mapped_column(Float)
    gain: Mapped[float | None] = mapped_column(Float)  # counts per m/s, if known
    response: Mapped[str | None] = mapped_column(CleanText)  # instrument description or StationXML name
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # detection overrides
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet_hours: Mapped[list[str]] = mapped_column(JSONType, default=list)  # ["08:00-10:00", …] local time
    last_data_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def station(self) -> str:
        return ".".join(self.seed_id.split(".")[:2])

    @property
    def site_key(self) -> str:
        return f"site:{self.site_id}" if self.site_id is not None else f"place:{self.place or self.station}"


class SeismicEvent(Base):
    """A network event at a site: when, which stations, what it was, and a short waveform to draw."""

    __tablename__ = "seismic_events"
    __table_args__ = (Index("ix_seismic_events_site", "site_key", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)  # SHA-256 of site, onset, stations
    site_key: Mapped[str] = mapped_column(CleanText)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("field_sites.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    stations: Mapped[list[str]] = mapped_column(JSONType)
    label: Mapped[str] = mapped_column(CleanString(16))
    score: Mapped[float] = mapped_column(Float)
    waveform: Mapped[bytes | None] = mapped_column(LargeBinary)  # npz: 100 Hz float16 traces
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("seismic_alerts.id"))
    quiet: Mapped[str | None] = mapped_column(CleanText)  # why it raised no alert (muted, patrol hours)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeismicAlert(Base):
    """An episode worth a person's attention: activity of a watched class at a site, or a sensor
    that went silent, flat, clipped or off its clock. One open alert per site and class (or sensor
    and problem); later events extend it."""

    __tablename__ = "seismic_alerts"
    __table_args__ = (
        Index("uq_seismic_alerts_open", "kind", "subject", unique=True,
              postgresql_where=text(ALERT_OPEN), sqlite_where=text(ALERT_OPEN)),
        Index("ix_seismic_alerts_recent", "last_at"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(16))  # activity | health
    subject: Mapped[str] = mapped_column(CleanText)  # "site:3|vehicle" or "sensor:7|silent"
    site_key: Mapped[str] = mapped_column(CleanText)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("field_sites.id"))
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensors.id"))
    label: Mapped[str] = mapped_column(CleanString(16))  # footstep | vehicle | silent | flat | clipped | clock
    state: Mapped[str] = mapped_column(CleanString(16), default="open")  # open | closed
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(Integer, default=1)
    score: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sent to the staff chat
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
