"""Fixtures: a temporary data directory, real SQLite and (when configured) real PostgreSQL,
and local HTTP servers. PostgreSQL runs when SHEKTEU_TEST_DATABASE_URL is set; each test gets a
schema of its own there, so tests stay independent and can run in parallel."""

from __future__ import annotations

import os

# The suite runs one test per core (pytest -n auto): a library's own thread pool on top (OpenMP in
# scikit-learn's boosted trees, PyTorch) oversubscribes the cores and made training tests 3-10× slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shekteu.runtime import Runtime
from shekteu.settings import Settings, load_settings
from tests.servers import LocalServer

PG_URL = os.environ.get("SHEKTEU_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PG_PLAIN = (PG_URL or "").replace("postgresql+psycopg://", "postgresql://")
if PG_URL:
    import psycopg


def _blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the requested backend: a file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    assert PG_URL
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(PG_PLAIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _in_schema(schema)
    finally:
        _drop(schema)


def _in_schema(schema: str) -> str:
    sep = "&" if "?" in (PG_URL or "") else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _drop(schema: str) -> None:
    with psycopg.connect(PG_PLAIN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The migrated schema, made once per test process: a SQLite file to copy, and for PostgreSQL
    the SQL that recreates it (pg_dump of a migrated schema). Running all migrations took 0.5 s per
    test on SQLite and 1.6 s on PostgreSQL — minutes of the suite; a copy takes milliseconds. The
    migrations themselves are still run and checked against the models in ``test_db.py``."""
    from shekteu.db import Database

    made: dict[str, Any] = {}
    folder = tmp_path_factory.mktemp("migrated")
    sqlite = folder / "template.db"
    Database(f"sqlite:///{sqlite}").close()  # closing the last connection folds the WAL into the file
    made["sqlite"] = sqlite
    schema = None
    if PG_URL and shutil.which("pg_dump"):
        schema = "tpl_" + uuid.uuid4().hex[:16]
        with psycopg.connect(PG_PLAIN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        Database(_in_schema(schema)).close()
        dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "--inserts", "-n", schema, PG_PLAIN],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if dump.returncode == 0:  # without psql's meta-commands (newer pg_dump writes \\restrict)
            sql = "\n".join(line for line in dump.stdout.splitlines() if not line.startswith("\\"))
            made["postgresql"] = (schema, sql)
    yield made
    if schema:
        _drop(schema)


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no migration has touched (for the tests of the migrations themselves)."""
    yield from _blank(request, tmp_path)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated: dict[str, Any]) -> Iterator[str]:
    """A database of its own for the test, at the head revision (a copy of the migrated template)."""
    if request.param == "sqlite":
        shutil.copyfile(migrated["sqlite"], tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if "postgresql" not in migrated:  # no pg_dump here: migrate this schema from scratch
        yield from _blank(request, tmp_path)
        return
    template, sql = migrated["postgresql"]
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(PG_PLAIN, autocommit=True) as conn:
        conn.execute(sql.replace(template, schema))  # the random template name occurs nowhere else
    try:
        yield _in_schema(schema)
    finally:
        _drop(schema)


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Settings as environment variables (also handed to CLI subprocesses)."""
    return {
        "SHEKTEU_DATA_DIR": str(tmp_path / "data"),
        "SHEKTEU_DATABASE_URL": database_url,
        "SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        "SHEKTEU_FETCH_TIMEOUT": "5",
        "SHEKTEU_CAPTURE_WORKERS": "4",
        # No periodic re-check of takedowns in a test's background worker: a test re-checks when it means to.
        "SHEKTEU_RECHECK_EVERY_HOURS": "0",
        # No screenshot unless a test asks (each `shekteu capture` started Chromium: about a second);
        # tests/test_screenshot.py covers the default and this setting.
        "SHEKTEU_SCREENSHOTS": "false",
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
def make_runtime(env: dict[str, str]) -> Iterator:
    opened: list[Runtime] = []

    def make(**overrides: str) -> Runtime:
        rt = Runtime(load_settings({**env, **overrides}))
        opened.append(rt)
        return rt

    yield make
    for rt in opened:
        rt.close()


@pytest.fixture
def rt(make_runtime) -> Runtime:
    return make_runtime()


@pytest.fixture
def web() -> Iterator[LocalServer]:
    server = LocalServer("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def web2() -> Iterator[LocalServer]:
    """A second server on 127.0.0.2: outside the tests' allow-list of 127.0.0.1/32."""
    server = LocalServer("127.0.0.2")
    yield server
    server.close()


@pytest.fixture
def tesseract() -> None:
    """Tests that read walls with Tesseract skip where it is not installed (a newcomer's machine) and
    fail where CI says it must be (SHEKTEU_REQUIRE_TESSERACT=1)."""
    if shutil.which("tesseract") is None:
        if os.environ.get("SHEKTEU_REQUIRE_TESSERACT"):
            pytest.fail("Tesseract is required (SHEKTEU_REQUIRE_TESSERACT) but not installed")
        pytest.skip("Tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-kaz")
