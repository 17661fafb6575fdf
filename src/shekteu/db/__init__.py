"""Opening the database: engine, SQLite tuning, migrations on start, and transactional sessions.

SQLite is the embedded default (WAL, busy timeout, foreign keys on); PostgreSQL is a setting away.
Write transactions on SQLite begin IMMEDIATE so two writers queue up instead of failing halfway
through a read-then-write (the audit chain reads its last hash before writing the next), and the
writers of all our processes take turns before they ask SQLite (``write_turn.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from shekteu.db.write_turn import WriteTurn

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The database cannot be opened or migrated; the message says which and why."""


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below, not the driver, open transactions.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_file(engine: Engine) -> Path | None:
    name = engine.url.database
    return Path(name).resolve() if name and name != ":memory:" and not name.startswith("file:") else None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    # hide_parameters: a database error's message (and so any log line or traceback) never carries the
    # values bound to the statement — a reporter's text, a contact, a password hash.
    # application_name: pg_stat_activity says which of our processes holds a transaction or a lock.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                         connect_args={"application_name": application_name()})  # fmt: skip


def application_name() -> str:
    """``shekteu serve``, ``shekteu worker`` …: the command this process runs, as PostgreSQL shows it."""
    import sys

    command = next((a for a in sys.argv[1:] if a and not a.startswith("-")), "")
    return f"shekteu {command}"[:63].strip()


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> str:
    """Apply pending migrations; returns the revision now in force."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    if current == head:
        return head or ""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two processes starting at once must not both migrate.
            conn.execute(text("SELECT pg_advisory_xact_lock(7242000)"))
        command.upgrade(_alembic_config(conn), "head")
    return head or ""


class Database:
    """The engine plus session factories; `write()` and `read()` are the only ways in."""

    def __init__(
        self, url: str, migrate: bool = True, *, audit_key: bytes | None = None, audit_witness: Path | None = None
    ) -> None:
        """``audit_key`` seals audit entries and ``audit_witness`` is the file outside the database that
        remembers the newest committed entry (``audit.py``); both come from the runtime's settings."""
        from shekteu.db import evidence_tables, ops_tables, posts_tables, seismic_tables, stats_tables  # noqa: F401  (their models join the metadata)

        self.url = url
        self.engine = make_engine(url)
        try:
            if migrate:
                upgrade(self.engine)
        except Exception as exc:
            self.engine.dispose()
            raise DatabaseError(f"cannot open database {self.engine.url!r}: {exc}") from exc
        from shekteu.audit import KEY, WITNESS

        # Writers of one SQLite file take turns before they ask SQLite (``write_turn.py``).
        self._turn = WriteTurn(_sqlite_file(self.engine)) if self.engine.dialect.name == "sqlite" else None
        self._sessions = sessionmaker(expire_on_commit=False, info={KEY: audit_key, WITNESS: audit_witness})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._turn.held() if self._turn else nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with self._sessions(bind=conn) as session, session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions(bind=self.engine) as session, session.begin():
            yield session

    @property
    def write_wait(self) -> float:
        """Seconds a writer waits for its turn before SQLite's "database is locked" (SQLite only)."""
        return self._turn.seconds if self._turn else 0.0

    @write_wait.setter
    def write_wait(self, seconds: float) -> None:
        if self._turn:
            self._turn.seconds = seconds

    def close(self) -> None:
        if self._turn:
            self._turn.close()
        self.engine.dispose()
