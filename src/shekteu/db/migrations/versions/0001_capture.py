"""Captures, items and the audit log (issue 2).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("final_url", sa.Text),
        sa.Column("status", sa.Integer),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.Column("content_type", sa.Text),
        sa.Column("sha256", sa.String(64)),
        sa.Column("body_size", sa.BigInteger),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("warc_file", sa.Text),
        sa.Column("warc_offset", sa.BigInteger),
        sa.Column("ip", sa.String(64)),
        sa.Column("redirects", JSONType, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("lang", sa.String(8)),
        sa.Column("error", sa.Text),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("changed", sa.Boolean),
    )
    op.create_index("ix_captures_url_id", "captures", ["url", "id"])
    op.create_index("ix_captures_sha256", "captures", ["sha256"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("post_id", sa.BigInteger),
        sa.Column("published_at", UTCDateTime),
        sa.Column("title", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lang", sa.String(8)),
        sa.Column("links", JSONType, nullable=False),
        sa.Column("media", JSONType, nullable=False),
        sa.Column("views", sa.BigInteger),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_items_kind_key"),
    )
    op.create_index("ix_items_channel_post", "items", ["channel", "post_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("ix_items_channel_post", "items")
    op.drop_table("items")
    op.drop_index("ix_captures_sha256", "captures")
    op.drop_index("ix_captures_url_id", "captures")
    op.drop_table("captures")
