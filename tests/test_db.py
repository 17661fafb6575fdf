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
        assert MigrationContext.configure(conn).get_current_revision() == upgrade(again.engine) == "0021"
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


def _sqlite(url: str) -> None:
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock; PostgreSQL writers run side by side")


def test_writers_of_one_process_take_turns_before_they_reach_sqlite(database_url: str) -> None:
    # A writer that found SQLite's lock taken slept in steps of up to 100 ms, so under load the lock
    # sat free while writers slept. Now they queue in the process: the second is not inside write()
    # while the first is, even before either has sent a statement (SQLite's BEGIN comes with the first).
    import threading

    _sqlite(database_url)
    db = Database(database_url)
    both_inside = threading.Barrier(2, timeout=2)
    met: list[bool] = []

    def writer(n: int) -> None:
        with db.write() as s:
            try:
                both_inside.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)
            audit.record(s, "test.action", f"thing:{n}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert met == [False, False]  # the barrier never saw both writers inside
    with db.read() as s:
        assert s.query(AuditEntry).count() == 2 and audit.verify_chain(s) == []
    db.close()


def test_a_writer_that_waited_as_long_as_sqlite_would_gets_sqlites_busy_error(database_url: str) -> None:
    import threading

    from sqlalchemy.exc import OperationalError

    _sqlite(database_url)
    db = Database(database_url)
    db.write_wait = 0.2
    inside, done = threading.Event(), threading.Event()

    def holder() -> None:
        with db.write() as s:
            audit.record(s, "test.action", "held")
            inside.set()
            done.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(30)
    try:
        with pytest.raises(OperationalError, match="database is locked"), db.write() as s:
            audit.record(s, "test.action", "waited")
    finally:
        done.set()
        t.join()
    with db.write() as s:  # the turn came back
        audit.record(s, "test.action", "after")
    with db.read() as s:
        assert [e.target for e in s.query(AuditEntry).order_by(AuditEntry.id)] == ["held", "after"]
    db.close()


def test_writers_of_two_processes_take_turns_on_the_file_beside_the_database(database_url: str) -> None:
    # The other process is inside write() but has sent no statement, so SQLite's own lock is free:
    # only the turn keeps this process's writer out until it leaves.
    import subprocess
    import sys

    from sqlalchemy.exc import OperationalError

    _sqlite(database_url)
    Database(database_url).close()  # migrated here, not in the child
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from shekteu.db import Database\n"
         "db = Database(sys.argv[1], migrate=False)\n"
         "with db.write():\n    print('in', flush=True); sys.stdin.readline()\n"
         "print('out', flush=True)", database_url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "in"
        db = Database(database_url, migrate=False)
        db.write_wait = 0.3
        with pytest.raises(OperationalError, match="database is locked"), db.write() as s:
            audit.record(s, "test.action", "while the other writes")
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "out"
        with db.write() as s:
            audit.record(s, "test.action", "after")
        with db.read() as s:
            assert [e.target for e in s.query(AuditEntry)] == ["after"]
        db.close()
    finally:
        child.kill()
        child.wait(30)


def test_a_lock_file_that_cannot_be_made_leaves_writers_to_sqlites_own_lock(database_url: str) -> None:
    # The name beside the database is a folder (as a read-only folder would refuse it): writes still land.
    from pathlib import Path

    _sqlite(database_url)
    Path(database_url.split("///", 1)[1] + "-writers").mkdir()
    db = Database(database_url)
    for n in range(2):
        with db.write() as s:
            audit.record(s, "test.action", f"thing:{n}")
    with db.read() as s:
        assert s.query(AuditEntry).count() == 2 and audit.verify_chain(s) == []
    db.close()
