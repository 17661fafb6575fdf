"""Perceptual-hash slices of item images, for same-picture merge suggestions (issue 4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_bands",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("band", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("dhash", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_image_bands_bucket", "image_bands", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_image_bands_bucket", "image_bands")
    op.drop_table("image_bands")
