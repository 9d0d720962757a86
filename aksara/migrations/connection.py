"""SQLAlchemy engines on Aksara's database URLs, for Alembic alone.

Alembic runs synchronously; here it runs on SQLAlchemy's asyncio engine (``run_sync``) over
the same drivers Aksara uses (asyncpg, aiosqlite), so a data step can run Aksara's queries on
the very connection, in the very transaction, of the revision (:mod:`aksara.migrations.data`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiosqlite
import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from aksara.conf import mask_url
from aksara.db.url import parse_url
from aksara.migrations.errors import MigrationError
from aksara.migrations.rebuild import MIGRATION_FLAG, install

__all__ = ["MIGRATION_LOCK_KEY", "migration_connection", "sqlalchemy_url"]

T = TypeVar("T")

#: The PostgreSQL advisory lock ``migrate`` holds: one bigint derived from a fixed name.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha1(b"aksara.migrations").digest()[:8], "big", signed=True
)

# foreign_keys is OFF while migrating: SQLite's table rebuilds (batch mode) drop and rename
# tables, which would fire ON DELETE CASCADE; every commit checks the keys instead.
_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys = OFF",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA case_sensitive_like = ON",
)


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL of an Aksara ``DATABASE_URL`` (asyncpg or aiosqlite driver)."""
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        return "sqlite+aiosqlite:///" + parsed.target
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


def _creator(url: str) -> Callable[[], Any]:
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        if parsed.is_memory:
            raise MigrationError(
                "Migrations need a database that outlives one connection: an in-memory SQLite "
                "database is gone when the migration's connection closes. Use a file."
            )

        async def sqlite() -> aiosqlite.Connection:
            pending = aiosqlite.connect(parsed.target, isolation_level=None)
            thread = getattr(pending, "_thread", None)
            if thread is not None:
                thread.daemon = True
            connection = await pending
            for pragma in _SQLITE_PRAGMAS:
                await connection.execute_fetchall(pragma)
            return connection

        return sqlite

    async def postgres() -> asyncpg.Connection:
        settings = {} if "application_name" in url else {"application_name": "aksara-migrate"}
        try:
            return await asyncpg.connect(url, server_settings=settings)
        except Exception as error:
            raise MigrationError(
                f"Cannot connect to {mask_url(url)}: {type(error).__name__}: {error}."
            ) from error

    return postgres


def _check_foreign_keys(connection: SAConnection) -> None:
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if rows:
        found = ", ".join(f"{row[0]} row {row[1]} -> {row[2]}" for row in rows[:5])
        raise MigrationError(
            f"The migration leaves rows whose foreign keys point at no row ({found}); "
            "it was rolled back. Fix the data (a data step) before the schema change."
        )


@asynccontextmanager
async def migration_connection(url: str, *, lock: bool = False) -> AsyncIterator[_Runner]:
    """A connection for Alembic on *url*; ``lock`` holds the PostgreSQL advisory lock of
    ``migrate`` (waiting for another process that holds it) until the block ends."""
    backend = parse_url(url).backend
    install()
    engine = create_async_engine(
        sqlalchemy_url(url), async_creator=_creator(url), poolclass=NullPool
    )
    if backend == "sqlite":
        # The driver connection is in autocommit mode; SQLAlchemy's transactions (one per
        # revision) begin here, so DDL is transactional as it is on PostgreSQL.
        def begin(connection: SAConnection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        def commit(connection: SAConnection) -> None:
            _check_foreign_keys(connection)

        event.listen(engine.sync_engine, "begin", begin)
        event.listen(engine.sync_engine, "commit", commit)
    try:
        async with engine.connect() as connection:
            (await connection.get_raw_connection()).info[MIGRATION_FLAG] = True
            runner = _Runner(connection, backend)
            if lock and backend == "postgresql":
                await connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
                await connection.commit()
            try:
                yield runner
            finally:
                if lock and backend == "postgresql":
                    await connection.rollback()
                    await asyncio.shield(
                        connection.exec_driver_sql(
                            f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"
                        )
                    )
                    await connection.commit()
    finally:
        await engine.dispose()


class _Runner:
    """Runs a synchronous Alembic function on the connection (in SQLAlchemy's greenlet)."""

    def __init__(self, connection: Any, backend: str) -> None:
        self.connection = connection
        self.backend = backend

    async def run(self, function: Callable[[SAConnection], T]) -> T:
        """Call ``function(sync_connection)``; it may await Aksara code via the data bridge."""
        result: T = await self.connection.run_sync(function)
        return result
