"""The tables, as SQLAlchemy 2 declarative models.

Alembic migrations (``migrations/versions``) are the source of truth for the schema; these models
must match them (a test compares the two). Times are stored as UTC and always come back timezone-aware,
on SQLite as on PostgreSQL, because evidence timestamps that silently change zone are worthless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shekteu.db.types import CleanString, CleanText, JSONType, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Capture(Base):
    """One fetch of one URL: what was asked, what came back, where the WARC records are."""

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_url_id", "url", "id"), Index("ix_captures_sha256", "sha256"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(CleanText)
    final_url: Mapped[str | None] = mapped_column(CleanText)
    status: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str | None] = mapped_column(CleanText)
    sha256: Mapped[str | None] = mapped_column(CleanString(64))
    body_size: Mapped[int | None] = mapped_column(BigInteger)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    warc_file: Mapped[str | None] = mapped_column(CleanText)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    ip: Mapped[str | None] = mapped_column(CleanString(64))
    redirects: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    title: Mapped[str | None] = mapped_column(CleanText)
    text: Mapped[str | None] = mapped_column(CleanText)
    lang: Mapped[str | None] = mapped_column(CleanString(8))
    error: Mapped[str | None] = mapped_column(CleanText)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    changed: Mapped[bool | None] = mapped_column(Boolean)
    requisites: Mapped[int | None] = mapped_column(Integer)  # images and style sheets stored with the page
    screenshot_sha256: Mapped[str | None] = mapped_column(CleanString(64))
    screenshot_warc_file: Mapped[str | None] = mapped_column(CleanText)
    screenshot_warc_offset: Mapped[int | None] = mapped_column(BigInteger)


class Item(Base):
    """A unit of content later stages classify: a web page, a Telegram post (later: photos, tips)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_items_kind_key"),
        Index("ix_items_channel_post", "channel", "post_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(32))
    key: Mapped[str] = mapped_column(CleanText)
    url: Mapped[str] = mapped_column(CleanText)
    channel: Mapped[str | None] = mapped_column(CleanText)
    post_id: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    title: Mapped[str | None] = mapped_column(CleanText)
    text: Mapped[str] = mapped_column(CleanText, default="")
    lang: Mapped[str | None] = mapped_column(CleanString(8))
    links: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    media: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    views: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(CleanString(32))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    text_sha256: Mapped[str] = mapped_column(CleanString(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what, when and why; each row carries the hash of the one before (tamper evidence)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor", "actor"), Index("ix_audit_log_action", "action"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(CleanText)
    action: Mapped[str] = mapped_column(CleanString(64))
    target: Mapped[str] = mapped_column(CleanText)
    reason: Mapped[str | None] = mapped_column(CleanText)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(CleanString(64))
    hash: Mapped[str] = mapped_column(CleanString(64), unique=True)
    seal: Mapped[str | None] = mapped_column(CleanString(64))  # HMAC of hash under the audit key


class Verdict(Base):
    """The detector's verdict on one item's text, by one model version (issue 3)."""

    __tablename__ = "verdicts"
    __table_args__ = (
        UniqueConstraint("item_id", "model_version", "text_sha256", name="uq_verdicts_item_model_text"),
        Index("ix_verdicts_label_score", "label", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    model_version: Mapped[str] = mapped_column(CleanString(32))
    text_sha256: Mapped[str] = mapped_column(CleanString(64))
    label: Mapped[str] = mapped_column(CleanString(16))
    score: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    terms: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    lang: Mapped[str | None] = mapped_column(CleanString(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnalysisFailure(Base):
    """An item the detector or the linking could not take, for one model version and text (issue 19):
    recorded so the run goes on past it and the next run does not stall on it again."""

    __tablename__ = "analysis_failures"
    __table_args__ = (
        UniqueConstraint("item_id", "model_version", "text_sha256", name="uq_analysis_failures_item_model_text"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    model_version: Mapped[str] = mapped_column(CleanString(32))
    text_sha256: Mapped[str] = mapped_column(CleanString(64))
    error: Mapped[str] = mapped_column(CleanText)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Indicator(Base):
    """One identifier (handle, card, wallet, domain …) however many items mention it.

    ``key`` is what identifies it: the normalised value, or for bank cards the keyed hash (the
    masked form alone would merge different cards).
    """

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("type", "key", name="uq_indicators_type_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(CleanString(32))
    key: Mapped[str] = mapped_column(CleanText)
    normalized: Mapped[str] = mapped_column(CleanText)
    valid: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemIndicator(Base):
    """Where an item mentions an indicator (the span in the item's text)."""

    __tablename__ = "item_indicators"
    __table_args__ = (
        UniqueConstraint("item_id", "indicator_id", "start", name="uq_item_indicators_at"),
        Index("ix_item_indicators_indicator", "indicator_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    value: Mapped[str] = mapped_column(CleanText)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)


class Shop(Base):
    """A drug shop: the cluster of indicators and items that strong shared identifiers join (issue 4).

    A merged shop keeps its row with ``merged_into`` set, so old references still resolve.
    ``items``, ``mirrors``, ``reach`` and ``score`` are kept current as items arrive.
    """

    __tablename__ = "shops"
    __table_args__ = (Index("ix_shops_score", "score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    items: Mapped[int] = mapped_column(Integer, default=0)
    mirrors: Mapped[int] = mapped_column(Integer, default=0)
    tips: Mapped[int] = mapped_column(Integer, default=0)
    graffiti: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)


class ShopIndicator(Base):
    """An indicator's shop; an indicator belongs to one shop at most (``how``: auto or manual)."""

    __tablename__ = "shop_indicators"
    __table_args__ = (Index("ix_shop_indicators_shop", "shop_id"),)

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    how: Mapped[str] = mapped_column(CleanString(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopItem(Base):
    """An item's shop: the one its strong indicators lead to."""

    __tablename__ = "shop_items"
    __table_args__ = (Index("ix_shop_items_shop", "shop_id"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    how: Mapped[str] = mapped_column(CleanString(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopSeparation(Base):
    """Two shops an analyst split apart: never merged automatically again (``shop_a < shop_b``)."""

    __tablename__ = "shop_separations"

    shop_a: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    shop_b: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopSuggestion(Base):
    """A weak signal that two shops are one (near-duplicate text, same image, a separated pair
    sharing an identifier); an analyst decides (``status``: open, merged, dismissed)."""

    __tablename__ = "shop_suggestions"
    __table_args__ = (UniqueConstraint("shop_a", "shop_b", "kind", name="uq_shop_suggestions_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_a: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    shop_b: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(CleanString(16))
    similarity: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(CleanString(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemSignature(Base):
    """An item's MinHash signature (near-duplicate text), kept to compare later items against."""

    __tablename__ = "item_signatures"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class SignatureBand(Base):
    """Locality-sensitive hashing buckets of the signatures: equal buckets are candidate pairs."""

    __tablename__ = "signature_bands"
    __table_args__ = (Index("ix_signature_bands_bucket", "bucket"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)


class WarninglistEntry(Base):
    """A platform or site never proposed for whole-domain blocking (as MISP's warninglists)."""

    __tablename__ = "warninglist"
    __table_args__ = (UniqueConstraint("type", "value", name="uq_warninglist_type_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(CleanString(64))
    type: Mapped[str] = mapped_column(CleanString(32))  # "domain" covers subdomains; other types match exactly
    value: Mapped[str] = mapped_column(CleanText)
    added_by: Mapped[str] = mapped_column(CleanText)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A person who acts on the platform; roles decide what they may do (four-eyes approval)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(64), unique=True)
    roles: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    password_hash: Mapped[str | None] = mapped_column(CleanText)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lang: Mapped[str | None] = mapped_column(CleanString(2))


class WebSession(Base):
    """A signed-in browser (issue 7): the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(CleanString(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(CleanString(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for an integration, acting as one user (issue 7); only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(CleanString(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    label: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Case(Base):
    """A criminal case opened on a shop (issue 7): the last step of the outcome funnel."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_shop", "shop_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    number: Mapped[str] = mapped_column(CleanString(64), unique=True)
    opened_by: Mapped[str] = mapped_column(CleanText)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(CleanText)


class Takedown(Base):
    """A request to block one target, from proposal to verified block (or rejection)."""

    __tablename__ = "takedowns"
    __table_args__ = (
        Index("ix_takedowns_state", "state"),
        Index("ix_takedowns_target", "target_type", "target"),
        # One open takedown per target and recipient, whatever two approvers do at once (issue 20).
        Index("uq_takedowns_open_target", "target_type", "target", "recipient", unique=True,
              postgresql_where=text("state <> 'rejected'"), sqlite_where=text("state <> 'rejected'")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    target_type: Mapped[str] = mapped_column(CleanString(32))
    target: Mapped[str] = mapped_column(CleanText)
    recipient: Mapped[str] = mapped_column(CleanString(16))
    state: Mapped[str] = mapped_column(CleanString(16))
    proposed_by: Mapped[str] = mapped_column(CleanString(64))
    approved_by: Mapped[str | None] = mapped_column(CleanString(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_result: Mapped[str | None] = mapped_column(CleanString(16))


class TakedownEvent(Base):
    """One transition of a takedown: who, when, why, and the captures that show it."""

    __tablename__ = "takedown_events"
    __table_args__ = (Index("ix_takedown_events_takedown", "takedown_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    takedown_id: Mapped[int] = mapped_column(ForeignKey("takedowns.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(CleanString(64))
    from_state: Mapped[str | None] = mapped_column(CleanString(16))
    to_state: Mapped[str] = mapped_column(CleanString(16))
    reason: Mapped[str] = mapped_column(CleanText)
    capture_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ImageBand(Base):
    """A 16-bit slice of an item image's perceptual hash: equal slices are candidate same pictures."""

    __tablename__ = "image_bands"
    __table_args__ = (Index("ix_image_bands_bucket", "bucket"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer)
    dhash: Mapped[int] = mapped_column(BigInteger)


class Tip(Base):
    """A citizen's report (issue 5). The reporter is a keyed pseudonym; the address needed to answer
    them is sealed (encrypted) and erased when the ticket closes."""

    __tablename__ = "tips"
    __table_args__ = (
        Index("ix_tips_pseudonym", "pseudonym"),
        Index("ix_tips_status", "status"),
        Index("ix_tips_created_at", "created_at"),
        Index("ix_tips_origin", "origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(CleanString(16), unique=True)
    kind: Mapped[str] = mapped_column(CleanString(16))
    channel: Mapped[str] = mapped_column(CleanString(16))
    lang: Mapped[str | None] = mapped_column(CleanString(8))
    pseudonym: Mapped[str] = mapped_column(CleanString(64))
    contact_sealed: Mapped[str | None] = mapped_column(CleanText)
    text: Mapped[str] = mapped_column(CleanText, default="")
    links: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    photos: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str | None] = mapped_column(CleanString(16))
    status: Mapped[str] = mapped_column(CleanString(16))
    public_status: Mapped[str] = mapped_column(CleanText)
    score: Mapped[float | None] = mapped_column(Float)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tips.id"))
    service_code: Mapped[str | None] = mapped_column(CleanString(32))
    source_ref: Mapped[str | None] = mapped_column(
        CleanString(64), unique=True
    )  # keyed hash of the channel's message id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    process_error: Mapped[str | None] = mapped_column(CleanText)  # why the last processing failed
    origin: Mapped[str | None] = mapped_column(CleanString(64))  # keyed hash of the sender's address (web, Open311)
    location_sealed: Mapped[str | None] = mapped_column(CleanText)  # exact "lat,lon", sealed; lat/lon: ~100 m


class ReporterPrefs(Base):
    """A reporter's chosen language, by pseudonym (the bot's /lang)."""

    __tablename__ = "reporter_prefs"

    pseudonym: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    lang: Mapped[str] = mapped_column(CleanString(8))


class Notification(Base):
    """A message owed to a reporter, sent by the adapter of the channel they used (an outbox)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "channel", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"))
    channel: Mapped[str] = mapped_column(CleanString(16))
    contact_sealed: Mapped[str | None] = mapped_column(CleanText)
    text: Mapped[str] = mapped_column(CleanText)
    status: Mapped[str] = mapped_column(CleanString(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender took it (issue 20)
    claimed_by: Mapped[str | None] = mapped_column(CleanText)


class Zone(Base):
    """An area of responsibility for painting over: a КСК/ОСИ, a volunteer team, a police district."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_zones_kind_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(16))
    name: Mapped[str] = mapped_column(CleanText)
    contact: Mapped[str | None] = mapped_column(CleanText)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Spot(Base):
    """A graffiti spot: a place, its photos and the shop identifiers painted there (issue 6)."""

    __tablename__ = "spots"
    __table_args__ = (Index("ix_spots_status", "status"), Index("ix_spots_lat_lon", "lat", "lon"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(CleanString(16))
    indicators: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    kato: Mapped[str | None] = mapped_column(CleanString(16))
    district: Mapped[str | None] = mapped_column(CleanText)
    oblast: Mapped[str | None] = mapped_column(CleanText)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    assigned_to: Mapped[str | None] = mapped_column(CleanText)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpotPhoto(Base):
    """A photo of a spot: a citizen's report, or the after-photo that shows it painted over."""

    __tablename__ = "spot_photos"
    __table_args__ = (Index("ix_spot_photos_spot", "spot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id"))
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"))
    role: Mapped[str] = mapped_column(CleanString(16))
    sha256: Mapped[str | None] = mapped_column(CleanString(64))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    qr: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    indicators: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    added_by: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FieldSite(Base):
    """A mapped hemp/cannabis site: polygon, hectares, district and where it stands (issue 8)."""

    __tablename__ = "field_sites"
    __table_args__ = (Index("ix_field_sites_status", "status"), Index("ix_field_sites_kato", "kato"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)  # SHA-256 of geometry, date and source
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType)  # GeoJSON, lon/lat
    hectares: Mapped[float] = mapped_column(Float)
    ndvi: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    observed_on: Mapped[str | None] = mapped_column(CleanString(10))
    source: Mapped[str] = mapped_column(CleanText)
    method: Mapped[str] = mapped_column(CleanString(32))
    kato: Mapped[str | None] = mapped_column(CleanString(16))
    district: Mapped[str | None] = mapped_column(CleanText)
    oblast: Mapped[str | None] = mapped_column(CleanText)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(CleanString(16))
    density: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # hectares per density class (Sentinel-2)
    regrowth_of: Mapped[int | None] = mapped_column(
        ForeignKey("field_sites.id", name="fk_field_sites_regrowth_of")
    )  # a destroyed site it overlaps: the plot is green again
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
