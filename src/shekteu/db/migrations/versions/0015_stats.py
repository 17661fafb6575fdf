"""Operation statistics: sources and figures (issue 23).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("outlet", sa.Text),
        sa.Column("lang", sa.String(16)),
        sa.Column("released_on", sa.String(10)),
        sa.Column("release_group", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "stat_figures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("stat_sources.id"), nullable=False),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("measure", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("base", sa.Float, nullable=False),
        sa.Column("period", sa.String(32)),
        sa.Column("period_start", sa.String(10)),
        sa.Column("period_end", sa.String(10)),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("substance", sa.String(64)),
        sa.Column("qualifier", sa.String(8)),
        sa.Column("scope", sa.String(8)),
        sa.Column("span_start", sa.Integer),
        sa.Column("span_end", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_stat_figures_measure_region", "stat_figures", ["measure", "region"])
    op.create_index("ix_stat_figures_period", "stat_figures", ["period_start"])


def downgrade() -> None:
    op.drop_table("stat_figures")
    op.drop_table("stat_sources")
