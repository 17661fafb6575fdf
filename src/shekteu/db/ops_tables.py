"""The tables of the platform's own operation: analysts' verdict corrections and the detector model
registry (issue 21), and the job queue (issue 20). Same rules as ``tables.py``, whose ``Base`` they
share; ``db/__init__.py`` imports this module so the metadata is always complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from shekteu.db.tables import Base
from shekteu.db.types import CleanString, CleanText, JSONType, UTCDateTime, utcnow


class VerdictCorrection(Base):
    """An analyst's word on a verdict: right or wrong, and the correct label (issue 21). The newest one
    per item counts; older ones stay as the record of who said what."""

    __tablename__ = "verdict_corrections"
    __table_args__ = (Index("ix_verdict_corrections_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    text_sha256: Mapped[str] = mapped_column(CleanString(64))
    model_version: Mapped[str | None] = mapped_column(CleanString(32))  # of the verdict that was judged
    predicted: Mapped[str | None] = mapped_column(CleanString(16))
    label: Mapped[str] = mapped_column(CleanString(16))
    actor: Mapped[str] = mapped_column(CleanText)
    reason: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DetectorModel(Base):
    """A trained detector in the model registry: its file, figures, and when it was promoted (issue 21)."""

    __tablename__ = "detector_models"
    __table_args__ = (  # at most one model in use, whatever any code path does
        Index("uq_detector_models_active", "active", unique=True, postgresql_where=text("active"),
              sqlite_where=text("active")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(CleanString(32), unique=True)
    path: Mapped[str] = mapped_column(CleanText)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


JOB_ACTIVE = "state IN ('pending', 'failed', 'running')"
JOB_DUE = "state IN ('pending', 'failed')"


class Job(Base):
    """One unit of pipeline work (issue 20): a stage to run on a subject, claimed by one worker at a time.

    ``pending`` → ``running`` → ``done``; a failure goes back to ``failed`` (due again at ``run_after``)
    or, after ``max_attempts``, to ``quarantined``; an admin can ``drop`` one. A ``dedup_key`` is unique
    among active jobs, so enqueueing the same work twice queues it once."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "priority", "run_after", "id", postgresql_where=text(JOB_DUE),
              sqlite_where=text(JOB_DUE)),
        Index("ix_jobs_state_stage", "state", "stage"),
        Index("ix_jobs_stage_dedup", "stage", "dedup_key"),  # has this work ever been queued (any state)
        Index("uq_jobs_active_dedup", "dedup_key", unique=True, postgresql_where=text(JOB_ACTIVE),
              sqlite_where=text(JOB_ACTIVE)),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(CleanString(32))
    subject: Mapped[str] = mapped_column(CleanText)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(CleanString(16), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=5, server_default="5")  # lower runs first
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # quick, after a busy database
    max_attempts: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(CleanText)
    last_error: Mapped[str | None] = mapped_column(CleanText)
    dedup_key: Mapped[str | None] = mapped_column(CleanText)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
