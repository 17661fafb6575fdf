"""Citizen tips and the notifications owed to their reporters (issue 5).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(8)),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("contact_sealed", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("links", JSONType, nullable=False),
        sa.Column("photos", JSONType, nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("location_source", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("public_status", sa.Text, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id")),
        sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("tips.id")),
        sa.Column("service_code", sa.String(32)),
        sa.Column("source_ref", sa.String(64), unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("processed_at", UTCDateTime),
        sa.Column("staff_alerted_at", UTCDateTime),
    )
    op.create_index("ix_tips_pseudonym", "tips", ["pseudonym"])
    op.create_index("ix_tips_status", "tips", ["status"])
    op.create_table(
        "reporter_prefs",
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("lang", sa.String(8), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("contact_sealed", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
    )
    op.create_index("ix_notifications_pending", "notifications", ["channel", "status"])


def downgrade() -> None:
    op.drop_index("ix_notifications_pending", "notifications")
    op.drop_table("notifications")
    op.drop_table("reporter_prefs")
    op.drop_index("ix_tips_status", "tips")
    op.drop_index("ix_tips_pseudonym", "tips")
    op.drop_table("tips")
