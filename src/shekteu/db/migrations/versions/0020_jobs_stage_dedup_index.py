"""An index on jobs (stage, dedup_key) (issue 20).

The queue's upkeep asks, for each recent high-score tip without a staff alert, whether an alert job
was ever queued for it — in any state, so the unique index of active jobs cannot answer. Without
this index each question read the whole jobs table (a week of finished jobs).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_stage_dedup", "jobs", ["stage", "dedup_key"])


def downgrade() -> None:
    op.drop_index("ix_jobs_stage_dedup", table_name="jobs")
