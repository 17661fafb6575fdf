"""Faults injected in the real database: a trigger that makes one row's insert fail, on SQLite and
PostgreSQL alike. The code under test is not touched; the database refuses, as a full disk, a broken
constraint or a bug in a stage would make it."""

from __future__ import annotations

from sqlalchemy import text

from shekteu.runtime import Runtime


def refuse_insert(rt: Runtime, table: str, condition: str, name: str = "poison", sqlstate: str = "P0001") -> None:
    """Make inserts into ``table`` whose NEW row meets ``condition`` (SQL over NEW.…) fail; on
    PostgreSQL with ``sqlstate`` (``40P01``: a deadlock, as a busy database gives)."""
    with rt.db.write() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text(
                f"CREATE FUNCTION {name}_fn() RETURNS trigger AS $$ BEGIN IF {condition} THEN "
                f"RAISE EXCEPTION 'injected fault' USING ERRCODE = '{sqlstate}'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            ))  # fmt: skip
            s.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn()"))
        else:
            s.execute(text(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN {condition} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            ))  # fmt: skip
