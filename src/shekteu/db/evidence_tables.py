"""The tables of trusted timestamps (issue 24): each RFC 3161 token with the statement it covers,
and which capture's records each statement lists.

Same rules as ``tables.py``, whose ``Base`` they share. A statement is stored once (its SHA-256), and
a capture is listed by one statement only (its id is the key), so two stamping runs at once cannot
both claim it. The token and its statement are also written as files under DATA_DIR/timestamps, so
they survive the database (``audit_check.py`` reads them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from shekteu.db.tables import Base
from shekteu.db.types import CleanString, CleanText, UTCDateTime, utcnow


class EvidenceStamp(Base):
    """One time-stamping: a statement (digests of WARC files, captures, the audit head) and its token."""

    __tablename__ = "evidence_stamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(CleanString(64), unique=True)  # of the statement's bytes
    statement: Mapped[str] = mapped_column(CleanText)
    token: Mapped[bytes] = mapped_column(LargeBinary)  # the whole TimeStampResp, as `openssl ts` reads it
    tsa_url: Mapped[str] = mapped_column(CleanText)
    gen_time: Mapped[datetime] = mapped_column(UTCDateTime)
    serial: Mapped[str] = mapped_column(CleanString(64))
    audit_id: Mapped[int | None] = mapped_column(Integer)
    audit_hash: Mapped[str | None] = mapped_column(CleanString(64))
    created_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StampedCapture(Base):
    """A capture's records as one statement lists them (SHA-256 of the raw gzip members)."""

    __tablename__ = "stamped_captures"

    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    stamp_id: Mapped[int] = mapped_column(ForeignKey("evidence_stamps.id"), index=True)
    sha256: Mapped[str] = mapped_column(CleanString(64))
    screenshot_sha256: Mapped[str | None] = mapped_column(CleanString(64))  # of its screenshot's record, once stamped


class Watch(Base):
    """A page or channel re-captured on a schedule (issue 24), until stopped or its takedown is verified."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(CleanText, unique=True)  # a normalised URL or @channel
    kind: Mapped[str] = mapped_column(CleanString(16))  # url, telegram
    every_seconds: Mapped[int] = mapped_column(Integer)
    until_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    captures: Mapped[int] = mapped_column(Integer, default=0)
    stopped_reason: Mapped[str | None] = mapped_column(CleanText)
    created_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
