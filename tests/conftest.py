"""Fixtures: a temporary data directory, real SQLite and (when configured) real PostgreSQL,
and local HTTP servers. PostgreSQL runs when SHEKTEU_TEST_DATABASE_URL is set; each test gets a
schema of its own there, so tests stay independent and can run in parallel."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shekteu.runtime import Runtime
from shekteu.settings import Settings, load_settings
from tests.servers import LocalServer

PG_URL = os.environ.get("SHEKTEU_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    import psycopg

    assert PG_URL
    schema = "t_" + uuid.uuid4().hex[:16]
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


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
