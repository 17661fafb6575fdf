"""A tip's exact location sealed like its contact; the plain columns keep it to about 100 m (issue 25).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.add_column(sa.Column("location_sealed", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.drop_column("location_sealed")
