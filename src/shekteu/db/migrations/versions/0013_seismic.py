"""Covert seismic sensors: the registry, network events and alerts (issue 22).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shekteu.db.tables import JSONType, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SENSOR_ACTIVE = "removed_on IS NULL"
ALERT_OPEN = "state = 'open'"


def upgrade() -> None:
    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seed_id", sa.String(64), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("field_sites.id")),
        sa.Column("place", sa.Text),
        sa.Column("installed_on", sa.String(10), nullable=False),
        sa.Column("removed_on", sa.String(10)),
        sa.Column("rate", sa.Float),
        sa.Column("gain", sa.Float),
        sa.Column("response", sa.Text),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("quiet_hours", JSONType, nullable=False),
        sa.Column("last_data_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("uq_sensors_active_seed_id", "sensors", ["seed_id"], unique=True,
                    postgresql_where=sa.text(SENSOR_ACTIVE), sqlite_where=sa.text(SENSOR_ACTIVE))  # fmt: skip
    op.create_table(
        "seismic_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("site_key", sa.Text, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("field_sites.id")),
        sa.Column("sensor_id", sa.Integer, sa.ForeignKey("sensors.id")),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("first_at", UTCDateTime, nullable=False),
        sa.Column("last_at", UTCDateTime, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("notified_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("uq_seismic_alerts_open", "seismic_alerts", ["kind", "subject"], unique=True,
                    postgresql_where=sa.text(ALERT_OPEN), sqlite_where=sa.text(ALERT_OPEN))  # fmt: skip
    op.create_index("ix_seismic_alerts_recent", "seismic_alerts", ["last_at"])
    op.create_table(
        "seismic_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("site_key", sa.Text, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("field_sites.id")),
        sa.Column("start", UTCDateTime, nullable=False),
        sa.Column("end", UTCDateTime, nullable=False),
        sa.Column("stations", JSONType, nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("waveform", sa.LargeBinary),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("seismic_alerts.id")),
        sa.Column("quiet", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_seismic_events_site", "seismic_events", ["site_key", "start"])


def downgrade() -> None:
    op.drop_index("ix_seismic_events_site", "seismic_events")
    op.drop_table("seismic_events")
    op.drop_index("ix_seismic_alerts_recent", "seismic_alerts")
    op.drop_index("uq_seismic_alerts_open", "seismic_alerts")
    op.drop_table("seismic_alerts")
    op.drop_index("uq_sensors_active_seed_id", "sensors")
    op.drop_table("sensors")
