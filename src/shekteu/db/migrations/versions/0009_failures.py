"""Failures recorded on the item or tip they belong to, so one bad input never stops a batch; the
address a tip came from, hashed, so rate limits cannot be dodged with made-up device ids (issue 19).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("failed_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("item_id", "model_version", "text_sha256", name="uq_analysis_failures_item_model_text"),
    )
    with op.batch_alter_table("tips") as batch:
        batch.add_column(sa.Column("process_attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("process_error", sa.Text))
        batch.add_column(sa.Column("origin", sa.String(64)))
        batch.create_index("ix_tips_origin", ["origin"])


def downgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.drop_index("ix_tips_origin")
        batch.drop_column("origin")
        batch.drop_column("process_error")
        batch.drop_column("process_attempts")
    op.drop_table("analysis_failures")
