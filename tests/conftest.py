"""Fixtures: every database test runs on SQLite and on PostgreSQL (a real server).

PostgreSQL is found at ``AKSARA_TEST_POSTGRES_URL`` (default: the local ``test`` database).
Each test session works in a database of its own, ``aksara_test_<pid>``, created there and
dropped at the end, so concurrent runs never meet. When the server cannot be reached the
PostgreSQL half is skipped locally, and fails under CI.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

import aksara
import examples.blog.models  # noqa: F401 - registers User, Post, Comment
import tests.models  # noqa: F401 - registers the test models
from aksara.conf import settings
from aksara.db import Database

ADMIN_URL = os.environ.get(
    "AKSARA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test?application_name=aksara_tests"
)
DATABASE_NAME = f"aksara_test_{os.getpid()}"
POSTGRES_URL = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{DATABASE_NAME}"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_postgres_error: str | None = None
_postgres_created = False
_postgres_checked = False


async def _postgres_unavailable() -> str | None:
    """Create this session's database on first use; return why that failed, if it did."""
    global _postgres_checked, _postgres_error, _postgres_created
    if not _postgres_checked:
        _postgres_checked = True
        try:
            connection = await asyncpg.connect(ADMIN_URL, timeout=5)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
                await connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
                _postgres_created = True
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError) as error:
            _postgres_error = f"PostgreSQL at {ADMIN_URL} is unreachable: {error}"
    return _postgres_error


async def _drop_session_database() -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
    finally:
        await connection.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _postgres_created:
        asyncio.run(_drop_session_database())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    problem = await _postgres_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI requires it)")
        pytest.skip(problem)
    return POSTGRES_URL


def pool_options(**overrides: object) -> dict[str, object]:
    """DATABASE_POOL for tests: small and quick to time out."""
    options: dict[str, object] = {"min_size": 1, "max_size": 5, "acquire_timeout": 5.0}
    options.update(overrides)
    return options


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The default database, connected, with every registered model's tables freshly made."""
    settings.reset()
    aksara.configure(DATABASE_URL=database_url, DATABASE_POOL=pool_options())
    database = await aksara.connect()
    await aksara.drop_tables()
    await aksara.create_tables()
    try:
        yield database
    finally:
        await aksara.drop_tables()
        await aksara.disconnect()
        settings.reset()
