"""Shops, their indicators and items, merge suggestions, warninglists, users and takedowns (issue 4).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime
from shekteu.shops.warninglist import default_entries

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("merged_into", sa.Integer, sa.ForeignKey("shops.id")),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("mirrors", sa.Integer, nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.Column("graffiti", sa.Integer, nullable=False),
        sa.Column("reach", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_shops_score", "shops", ["score"])
    op.create_table(
        "shop_indicators",
        sa.Column("indicator_id", sa.Integer, sa.ForeignKey("indicators.id"), primary_key=True),
        sa.Column("shop_id", sa.Integer, sa.ForeignKey("shops.id"), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_shop_indicators_shop", "shop_indicators", ["shop_id"])
    op.create_table(
        "shop_items",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("shop_id", sa.Integer, sa.ForeignKey("shops.id"), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_shop_items_shop", "shop_items", ["shop_id"])
    op.create_table(
        "shop_separations",
        sa.Column("shop_a", sa.Integer, sa.ForeignKey("shops.id"), primary_key=True),
        sa.Column("shop_b", sa.Integer, sa.ForeignKey("shops.id"), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "shop_suggestions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("shop_a", sa.Integer, sa.ForeignKey("shops.id"), nullable=False),
        sa.Column("shop_b", sa.Integer, sa.ForeignKey("shops.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("evidence", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("shop_a", "shop_b", "kind", name="uq_shop_suggestions_pair"),
    )
    op.create_table(
        "item_signatures",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "signature_bands",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("band", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_signature_bands_bucket", "signature_bands", ["bucket"])
    warninglist = op.create_table(
        "warninglist",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("type", "value", name="uq_warninglist_type_value"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        warninglist,
        [{"list_name": name, "type": kind, "value": value, "added_by": "system", "added_at": now}
         for name, kind, value in default_entries()],
    )  # fmt: skip
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("roles", JSONType, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "takedowns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("shop_id", sa.Integer, sa.ForeignKey("shops.id")),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("blocked_at", UTCDateTime),
        sa.Column("verified_at", UTCDateTime),
        sa.Column("checked_at", UTCDateTime),
        sa.Column("check_result", sa.String(16)),
    )
    op.create_index("ix_takedowns_state", "takedowns", ["state"])
    op.create_index("ix_takedowns_target", "takedowns", ["target_type", "target"])
    op.create_table(
        "takedown_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("takedown_id", sa.Integer, sa.ForeignKey("takedowns.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("capture_ids", JSONType, nullable=False),
        sa.Column("detail", JSONType, nullable=False),
    )
    op.create_index("ix_takedown_events_takedown", "takedown_events", ["takedown_id"])


def downgrade() -> None:
    for index, table in [("ix_takedown_events_takedown", "takedown_events"), ("ix_takedowns_target", "takedowns"),
                         ("ix_takedowns_state", "takedowns"), ("ix_signature_bands_bucket", "signature_bands"),
                         ("ix_shop_items_shop", "shop_items"), ("ix_shop_indicators_shop", "shop_indicators"),
                         ("ix_shops_score", "shops")]:  # fmt: skip
        op.drop_index(index, table)
    for table in ["takedown_events", "takedowns", "users", "warninglist", "signature_bands", "item_signatures",
                  "shop_suggestions", "shop_separations", "shop_items", "shop_indicators", "shops"]:  # fmt: skip
        op.drop_table(table)
