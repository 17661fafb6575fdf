"""Screenshots and requisites of captures; watched pages (issue 24).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("requisites", sa.Integer))
        batch.add_column(sa.Column("screenshot_sha256", sa.String(64)))
        batch.add_column(sa.Column("screenshot_warc_file", sa.Text))
        batch.add_column(sa.Column("screenshot_warc_offset", sa.BigInteger))
    with op.batch_alter_table("stamped_captures") as batch:
        batch.add_column(sa.Column("screenshot_sha256", sa.String(64)))
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=False),
        sa.Column("until_verified", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=False),
        sa.Column("last_capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("captures", sa.Integer, nullable=False),
        sa.Column("stopped_reason", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_watches_next_at", "watches", ["next_at"])


def downgrade() -> None:
    op.drop_table("watches")
    with op.batch_alter_table("stamped_captures") as batch:
        batch.drop_column("screenshot_sha256")
    with op.batch_alter_table("captures") as batch:
        for name in ("screenshot_warc_offset", "screenshot_warc_file", "screenshot_sha256", "requisites"):
            batch.drop_column(name)
