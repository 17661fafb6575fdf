"""Field sites keep their density classes and the destroyed site they grew back on (issue 28).

A Sentinel-2 detection states hectares per density class (dense, sparse, isolated: the unit of the
63,000 ha figure) and the registry dropped them; a site mapped over one destroyed earlier was stored
as a new suspicion with nothing to say the plot was growing again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("field_sites") as batch:
        batch.add_column(sa.Column("density", JSONType))
        batch.add_column(sa.Column("regrowth_of", sa.Integer))
        batch.create_foreign_key("fk_field_sites_regrowth_of", "field_sites", ["regrowth_of"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("field_sites") as batch:
        batch.drop_constraint("fk_field_sites_regrowth_of", type_="foreignkey")
        batch.drop_column("regrowth_of")
        batch.drop_column("density")
