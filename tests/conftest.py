"""Fixtures: every database test runs on SQLite and on PostgreSQL (a real server).

PostgreSQL is found at ``AKSARA_TEST_POSTGRES_URL`` (default: the local ``test`` database).
Each test session works in a database of its own, ``aksara_test_<pid>``, created there and
dropped at the end, so concurrent runs never meet. When the server cannot be reached the
PostgreSQL half is skipped locally, and fails under CI.

``db`` shares one schema per session and database, emptied before each test (see
``tests/schema.py``); ``fresh_db`` and ``database_url`` are for tests that need a database
of their own: their own pool options, file, scratch tables or killed connections.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

import aksara
import examples.blog.models  # noqa: F401 - registers User, Post, Comment
import tests.models  # noqa: F401 - registers the test models
from aksara.conf import POOL_DEFAULTS, settings
from aksara.db import Database
from tests.schema import prepare

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
                # Commits need not wait for the disk: a throwaway database survives no crash
                # anyway, and each test commits dozens of single-row writes.
                await connection.execute(
                    f'ALTER DATABASE "{DATABASE_NAME}" SET synchronous_commit = off'
                )
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


@pytest.fixture(autouse=True)
async def _isolated() -> AsyncIterator[None]:
    """Every test starts with the default settings and no default database left open,
    whatever the test before it configured or forgot to close."""
    await aksara.disconnect()
    settings.reset()
    yield
    await aksara.disconnect()
    settings.reset()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of the test's own: a new SQLite file, or the PostgreSQL test
    database (which may hold the models' tables: name scratch tables with unique_name)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    problem = await _postgres_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI requires it)")
        pytest.skip(problem)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def shared_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQLite file that every ``db`` test of the session shares."""
    return f"sqlite:///{tmp_path_factory.mktemp('shared') / 'test.sqlite3'}"


def pool_options(**overrides: object) -> dict[str, object]:
    """DATABASE_POOL for tests: small and quick to time out."""
    options: dict[str, object] = {"min_size": 1, "max_size": 5, "acquire_timeout": 5.0}
    options.update(overrides)
    return options


@asynccontextmanager
async def default_database(url: str) -> AsyncIterator[Database]:
    """The default database on *url* built from the default settings, connected; closed
    after. A pool that hangs while closing fails the test."""
    await aksara.disconnect()
    settings.reset()
    aksara.configure(DATABASE_URL=url, DATABASE_POOL=pool_options())
    try:
        yield await aksara.connect()
    finally:
        try:
            async with asyncio.timeout(10):
                await aksara.disconnect()
        except TimeoutError:
            pytest.fail("closing the pool hung (a connection was never given back)")
        finally:
            settings.reset()


@pytest.fixture(scope="session")
async def schema_keepers() -> AsyncIterator[dict[str, Database]]:
    """One connection per shared database, open all session, that empties it between tests.

    A new server session starts with cold caches: emptying the tables through the test's own
    fresh pool cost PostgreSQL 15 ms more a test than through this warm one.
    """
    keepers: dict[str, Database] = {}
    yield keepers
    for keeper in keepers.values():
        await keeper.close()


@pytest.fixture
async def db(
    database_url: str, shared_sqlite_url: str, schema_keepers: dict[str, Database]
) -> AsyncIterator[Database]:
    """The default database, connected, with every registered model's table present and
    empty (ids start at 1). The schema is shared by the session's tests: a test that needs
    its own pool options, file or scratch tables uses ``fresh_db`` or ``database_url``."""
    # database_url carries the parameter (so `indirect` parametrization keeps working).
    url = shared_sqlite_url if database_url.startswith("sqlite") else database_url
    keeper = schema_keepers.get(url)
    if keeper is None:
        pool = {**POOL_DEFAULTS, **pool_options(min_size=1, max_size=1)}
        keeper = schema_keepers[url] = Database(url, pool)
    await prepare(keeper)
    async with default_database(url) as database:
        yield database


@pytest.fixture
async def fresh_db(database_url: str) -> AsyncIterator[Database]:
    """Like ``db``, on a database of the test's own: a new SQLite file, or the PostgreSQL
    test database with its tables dropped and made anew."""
    async with default_database(database_url) as database:
        await prepare(database, rebuild=True)
        yield database
