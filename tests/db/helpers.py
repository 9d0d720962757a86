"""Helpers shared by the database-layer tests: own pools, scratch tables, slow statements."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

import aksara
from aksara.conf import settings
from aksara.db import Database
from tests.conftest import pool_options

T = TypeVar("T")

#: A recursive CTE that keeps SQLite busy for a while (about 0.5 s on one core).
SQLITE_SLOW_SQL = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) "
    "SELECT count(*) FROM c"
)


def slow_sql(database: Database, *, seconds: float, sqlite_rows: int = 2_000_000) -> str:
    """A read-only statement that runs for a while: pg_sleep, or a long recursive CTE."""
    if database.name == "postgresql":
        return f"SELECT pg_sleep({seconds})"
    return SQLITE_SLOW_SQL.format(rows=sqlite_rows)


def unique_name(prefix: str) -> str:
    """A name no other test (or concurrent test run) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def with_application_name(url: str, application_name: str) -> str:
    """*url* with its ``application_name`` query parameter replaced (PostgreSQL URLs only)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "application_name"]
    query.append(("application_name", application_name))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def own_pool(database_url: str, **pool: object) -> AsyncIterator[Database]:
    """The default database on *database_url* with DATABASE_POOL overrides; always closed."""
    # A default database left over (e.g. by a fixture that failed) would be reused as is.
    await aksara.disconnect()
    settings.reset()
    hung = False
    try:
        aksara.configure(DATABASE_URL=database_url, DATABASE_POOL=pool_options(**pool))
        database = await aksara.connect()
        assert database.url == database_url
        yield database
    finally:
        try:
            async with asyncio.timeout(10):
                await aksara.disconnect()
        except TimeoutError:
            hung = True  # disconnect() forgot the pool already; cancelling closed it
        settings.reset()
    if hung:
        pytest.fail("closing the pool hung (a connection was never given back)")


@asynccontextmanager
async def scratch_table(database: Database) -> AsyncIterator[str]:
    """A table ``(id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL)`` dropped afterwards."""
    name = unique_name("scratch")
    await database.execute(
        f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL)"
    )
    try:
        yield name
    finally:
        await database.execute(f"DROP TABLE IF EXISTS {name}")


def insert_sql(database: Database, table: str) -> str:
    """``INSERT INTO table (id, label) VALUES (?, ?)`` in the database's placeholders."""
    p = database.dialect.placeholder
    return f"INSERT INTO {table} (id, label) VALUES ({p(1)}, {p(2)})"


async def wait_until(condition: Callable[[], bool], *, within: float = 3.0) -> None:
    """Poll *condition* until it holds; fail the test after *within* seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {within}s")
        await asyncio.sleep(0.005)


async def gather_all(*awaitables: Awaitable[T]) -> list[T]:
    """Like ``asyncio.gather``, but every awaitable has finished before an error is raised,
    so that no query keeps running behind the test's back."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]
