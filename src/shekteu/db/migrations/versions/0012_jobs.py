"""The job queue: pipeline stages as rows that workers claim (issue 20).

Also: a notification is claimed (``claimed_at``) before it is sent, and at most one takedown is open
per target and channel.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('pending', 'failed', 'running')"
DUE = "state IN ('pending', 'failed')"
OPEN_TAKEDOWN = "state <> 'rejected'"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="5"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="5"),
        sa.Column("run_after", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("worker", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("dedup_key", sa.Text),
        sa.Column("result", JSONType),
    )
    op.create_index("ix_jobs_due", "jobs", ["priority", "run_after", "id"],
                    postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))  # fmt: skip
    op.create_index("ix_jobs_state_stage", "jobs", ["state", "stage"])
    op.create_index("uq_jobs_active_dedup", "jobs", ["dedup_key"], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))  # fmt: skip
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("claimed_at", UTCDateTime))
        batch.add_column(sa.Column("claimed_by", sa.Text))
    op.create_index("uq_takedowns_open_target", "takedowns", ["target_type", "target", "recipient"], unique=True,
                    postgresql_where=sa.text(OPEN_TAKEDOWN), sqlite_where=sa.text(OPEN_TAKEDOWN))  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_takedowns_open_target", "takedowns")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("claimed_at")
    op.drop_index("uq_jobs_active_dedup", "jobs")
    op.drop_index("ix_jobs_state_stage", "jobs")
    op.drop_index("ix_jobs_due", "jobs")
    op.drop_table("jobs")
