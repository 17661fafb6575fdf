"""Sealed audit entries and trusted timestamps (issue 24).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seal", sa.String(64)))
    op.create_table(
        "evidence_stamps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("tsa_url", sa.Text, nullable=False),
        sa.Column("gen_time", UTCDateTime, nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("audit_id", sa.Integer),
        sa.Column("audit_hash", sa.String(64)),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "stamped_captures",
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id"), primary_key=True),
        sa.Column("stamp_id", sa.Integer, sa.ForeignKey("evidence_stamps.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_stamped_captures_stamp_id", "stamped_captures", ["stamp_id"])


def downgrade() -> None:
    op.drop_table("stamped_captures")
    op.drop_table("evidence_stamps")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("seal")
