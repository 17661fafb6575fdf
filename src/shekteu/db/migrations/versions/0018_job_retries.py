"""Jobs count their quick retries after a busy database (issue 20).

A lock or deadlock does not count as an attempt, but a job that meets one on every try (a database
that stays read-only, a table that is gone) must not be retried every second for ever: ``retries``
counts them, and past a limit they count as attempts again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retries", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("retries")
