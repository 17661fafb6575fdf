"""Storage: migrations match the models, times stay UTC, the audit chain shows tampering."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import update

from shekteu import audit
from shekteu.db import Database, upgrade
from shekteu.db.tables import AuditEntry, Base, Capture, utcnow


def test_migrations_create_exactly_the_models(blank_database_url: str) -> None:
    db = Database(blank_database_url)  # every migration, from an empty database
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.close()
    assert diff == []


def test_reopening_keeps_data_and_the_head_revision(blank_database_url: str) -> None:
    database_url = blank_database_url
    first = Database(database_url)
    with first.write() as s:
        audit.record(s, "test.action", "kept")
    first.close()
    again = Database(database_url)  # migrations already at head: nothing re-created or dropped
    with again.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == upgrade(again.engine) == "0018"
    with again.read() as s:
        assert [e.target for e in s.query(AuditEntry)] == ["kept"]
    again.close()


def test_times_come_back_as_utc(database_url: str) -> None:
    db = Database(database_url)
    now = utcnow()
    with db.write() as s:
        s.add(Capture(url="https://x/", fetched_at=now, redirects=[], truncated=False))
    with db.read() as s:
        row = s.query(Capture).one()
        assert row.fetched_at == now and row.fetched_at.tzinfo is not None
    with pytest.raises(Exception, match="naive"), db.write() as s:
        s.add(Capture(url="https://y/", fetched_at=datetime(2026, 1, 1), redirects=[], truncated=False))
        s.flush()
    db.close()


def test_the_audit_chain_detects_an_edited_entry(database_url: str) -> None:
    db = Database(database_url)
    with db.write() as s:
        for i in range(3):
            audit.record(s, "test.action", f"thing:{i}", reason="because", detail={"i": i})
    with db.read() as s:
        assert audit.verify_chain(s) == []
    with db.write() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(reason="rewritten"))
    with db.read() as s:
        assert audit.verify_chain(s) == [2]
    db.close()


def test_a_failed_transaction_leaves_nothing(database_url: str) -> None:
    db = Database(database_url)
    with pytest.raises(RuntimeError), db.write() as s:
        audit.record(s, "test.action", "x")
        raise RuntimeError("crash mid-write")
    with db.read() as s:
        assert s.query(AuditEntry).count() == 0
    db.close()
