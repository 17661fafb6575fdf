"""The tables of operation statistics (issue 23): the documents figures come from (a press release,
an imported table, the platform's own count) and the figures themselves.

Same rules as ``tables.py``, whose ``Base`` they share; ``db/__init__.py`` imports this module so the
metadata is always complete. A document is stored once (SHA-256 of its content) and a figure once per
document and span, so adding the same releases or table twice adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from shekteu.db.tables import Base
from shekteu.db.types import CleanString, CleanText, UTCDateTime, utcnow


class StatSource(Base):
    """Where figures come from: a release (its text, URL, outlet, date), a table file, the platform."""

    __tablename__ = "stat_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(CleanString(64), unique=True)
    kind: Mapped[str] = mapped_column(CleanString(16))  # release, table, platform
    name: Mapped[str] = mapped_column(CleanText)  # the release's id or title, the file name
    text: Mapped[str] = mapped_column(CleanText, default="")
    url: Mapped[str | None] = mapped_column(CleanText)
    outlet: Mapped[str | None] = mapped_column(CleanText)
    lang: Mapped[str | None] = mapped_column(CleanString(16))
    released_on: Mapped[str | None] = mapped_column(CleanString(10))
    release_group: Mapped[str | None] = mapped_column(CleanText)
    created_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatFigure(Base):
    """One figure: measure, value in the unit stated, the same in kg/count (``base``), period, region."""

    __tablename__ = "stat_figures"
    __table_args__ = (Index("ix_stat_figures_measure_region", "measure", "region"),
                      Index("ix_stat_figures_period", "period_start"))  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("stat_sources.id"))
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)
    measure: Mapped[str] = mapped_column(CleanString(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(CleanString(8))
    base: Mapped[float] = mapped_column(Float)
    period: Mapped[str | None] = mapped_column(CleanString(32))
    period_start: Mapped[str | None] = mapped_column(CleanString(10))
    period_end: Mapped[str | None] = mapped_column(CleanString(10))
    region: Mapped[str] = mapped_column(CleanString(16))
    substance: Mapped[str | None] = mapped_column(CleanString(64))
    qualifier: Mapped[str | None] = mapped_column(CleanString(8))
    scope: Mapped[str | None] = mapped_column(CleanString(8))
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
