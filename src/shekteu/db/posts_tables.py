"""The table of checkpoint plans (issue 26): each plan the planner made, whole, with who made it.

Same rules as ``tables.py``, whose ``Base`` it shares; ``db/__init__.py`` imports this module so the
metadata is always complete. Post positions are sensitive: only code behind the ``posts`` permission
reads this table, every read of positions is audited, and no public export touches it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from shekteu.db.tables import Base
from shekteu.db.types import CleanString, CleanText, JSONType, UTCDateTime, utcnow


class PostPlan(Base):
    """A plan: k posts, how much they intercept, and the plan's GeoJSON (posts, flows, rota)."""

    __tablename__ = "post_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)  # SHA-256 of the plan without its date
    name: Mapped[str] = mapped_column(CleanText)
    k: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(CleanString(32))
    model: Mapped[str] = mapped_column(CleanString(16))
    intercepted_share: Mapped[float] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
