"""Analysts' corrections of verdicts and the registry of trained detector models (issue 21).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdict_corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(32)),
        sa.Column("predicted", sa.String(16)),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_verdict_corrections_item", "verdict_corrections", ["item_id", "id"])
    op.create_table(
        "detector_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("figures", JSONType, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("promoted_at", UTCDateTime),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("uq_detector_models_active", "detector_models", ["active"], unique=True,
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active"))  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_detector_models_active", "detector_models")
    op.drop_table("detector_models")
    op.drop_index("ix_verdict_corrections_item", "verdict_corrections")
    op.drop_table("verdict_corrections")
