"""The audit chain's turn in one round trip on PostgreSQL (issue 20).

A writer chaining audit entries takes an advisory lock and then reads the newest hash; every other
auditing writer waits from the lock until this one commits. Two statements meant two round trips
inside the turn, each a wait for the client's interpreter on the way back (under 200 concurrent
reports the longest write transactions were turns waiting so). They cannot be one plain statement:
a statement reads from the snapshot taken as it starts, before the lock was granted, and would miss
the entry the previous holder just committed. A VOLATILE function takes a fresh snapshot for each
query it runs, so its read after the lock sees that entry. SQLite needs none of this (one writer).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION shekteu_audit_turn(seen bigint) RETURNS TABLE (head text, seen_hash text)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(7242001);
            RETURN QUERY SELECT (SELECT a.hash FROM audit_log a ORDER BY a.id DESC LIMIT 1)::text,
                                (SELECT a.hash FROM audit_log a WHERE a.id = seen)::text;
        END
        $$
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS shekteu_audit_turn(bigint)")
