"""Zones of responsibility, graffiti spots and their photos (issue 6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("contact", sa.Text),
        sa.Column("geometry", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("kind", "name", name="uq_zones_kind_name"),
    )
    op.create_table(
        "spots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("indicators", JSONType, nullable=False),
        sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id")),
        sa.Column("kato", sa.String(16)),
        sa.Column("district", sa.Text),
        sa.Column("oblast", sa.Text),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("assigned_to", sa.Text),
        sa.Column("due_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_spots_status", "spots", ["status"])
    op.create_index("ix_spots_lat_lon", "spots", ["lat", "lon"])
    op.create_table(
        "spot_photos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spot_id", sa.Integer, sa.ForeignKey("spots.id"), nullable=False),
        sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id")),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("taken_at", UTCDateTime),
        sa.Column("qr", JSONType, nullable=False),
        sa.Column("indicators", JSONType, nullable=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_spot_photos_spot", "spot_photos", ["spot_id"])


def downgrade() -> None:
    op.drop_index("ix_spot_photos_spot", "spot_photos")
    op.drop_table("spot_photos")
    op.drop_index("ix_spots_lat_lon", "spots")
    op.drop_index("ix_spots_status", "spots")
    op.drop_table("spots")
    op.drop_table("zones")
