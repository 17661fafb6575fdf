"""Field sites: mapped hemp/cannabis polygons with hectares, district and status (issue 8).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("geometry", JSONType, nullable=False),
        sa.Column("hectares", sa.Float, nullable=False),
        sa.Column("ndvi", sa.Float),
        sa.Column("confidence", sa.Float),
        sa.Column("observed_on", sa.String(10)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("kato", sa.String(16)),
        sa.Column("district", sa.Text),
        sa.Column("oblast", sa.Text),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_field_sites_status", "field_sites", ["status"])
    op.create_index("ix_field_sites_kato", "field_sites", ["kato"])


def downgrade() -> None:
    op.drop_index("ix_field_sites_kato", "field_sites")
    op.drop_index("ix_field_sites_status", "field_sites")
    op.drop_table("field_sites")
