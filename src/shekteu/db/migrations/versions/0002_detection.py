"""Verdicts, indicators and where items mention them (issue 3).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("probabilities", JSONType, nullable=False),
        sa.Column("terms", JSONType, nullable=False),
        sa.Column("lang", sa.String(8)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("item_id", "model_version", "text_sha256", name="uq_verdicts_item_model_text"),
    )
    op.create_index("ix_verdicts_label_score", "verdicts", ["label", "score"])
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("normalized", sa.Text, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("type", "key", name="uq_indicators_type_key"),
    )
    op.create_table(
        "item_indicators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("indicator_id", sa.Integer, sa.ForeignKey("indicators.id"), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.UniqueConstraint("item_id", "indicator_id", "start", name="uq_item_indicators_at"),
    )
    op.create_index("ix_item_indicators_indicator", "item_indicators", ["indicator_id"])


def downgrade() -> None:
    op.drop_index("ix_item_indicators_indicator", "item_indicators")
    op.drop_table("item_indicators")
    op.drop_table("indicators")
    op.drop_index("ix_verdicts_label_score", "verdicts")
    op.drop_table("verdicts")
