"""PostgreSQL only: pooled connections killed by the server (pg_terminate_backend).

Each test gives its pool a unique ``application_name`` and kills only those sessions, so
other tests and other test runs sharing the server are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

import aksara
from aksara.db import Database
from aksara.exceptions import ConnectionLostError
from tests.db.helpers import (
    gather_all,
    insert_sql,
    own_pool,
    scratch_table,
    unique_name,
    wait_until,
    with_application_name,
)

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class Killer:
    """An independent connection that terminates the sessions of one application_name."""

    def __init__(self, connection: asyncpg.Connection, application_name: str) -> None:
        self.connection = connection
        self.application_name = application_name

    async def sessions(self) -> int:
        count: int = await self.connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            self.application_name,
        )
        return count

    async def kill(self, *, wait: bool) -> int:
        """Terminate every session of the pool.

        With *wait*, return once the server has ended all of them and the client has had
        time to read the end of each connection (a backend leaves pg_stat_activity before
        its socket closes). The pool may open replacements meanwhile: those are left alone.
        """
        pids: list[int] = [
            row[0]
            for row in await self.connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                self.application_name,
            )
        ]
        killed: int = await self.connection.fetchval(
            "SELECT count(*) FROM unnest($1::int[]) AS pid WHERE pg_terminate_backend(pid)",
            pids,
        )
        if wait:
            for _ in range(300):
                alive = await self.connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
                )
                if alive == 0:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the terminated sessions did not end")
            await asyncio.sleep(0.2)
        return killed


@asynccontextmanager
async def killable_pool(
    database_url: str, **pool: object
) -> AsyncIterator[tuple[Database, Killer]]:
    application_name = unique_name("aksara_kill")
    url = with_application_name(database_url, application_name)
    admin = await asyncpg.connect(
        with_application_name(database_url, unique_name("aksara_killer")), timeout=5
    )
    try:
        async with own_pool(url, **pool) as db:
            yield db, Killer(admin, application_name)
    finally:
        await admin.close()


async def _pids(db: Database, count: int) -> set[int]:
    """The backends behind *count* overlapping queries."""
    return set(
        await gather_all(
            *(db.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.02)") for _ in range(count))
        )
    )


@postgresql_only
async def test_killed_connections_are_replaced(database_url: str) -> None:
    async with killable_pool(database_url, min_size=3, max_size=3) as (db, killer):
        before = await _pids(db, 3)
        assert len(before) == 3
        assert await killer.sessions() == 3

        assert await killer.kill(wait=True) == 3

        # Sequential queries.
        for i in range(5):
            assert await db.fetchval("SELECT $1::int", [i]) == i
        assert await db.execute("SELECT 1") == 1

        # Gathered queries, after killing every connection again.
        await _pids(db, 3)
        assert await killer.kill(wait=True) >= 1
        after = await gather_all(
            *(db.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.01)") for _ in range(20))
        )
        assert not set(after) & before
        assert len(set(after)) <= 3
        counts = await gather_all(*(db.execute("SELECT 1") for _ in range(10)))
        assert counts == [1] * 10

        status = db.pool_status()
        assert status.in_use == 0
        assert status.size <= 3


@postgresql_only
async def test_reads_right_after_the_server_killed_the_connections_succeed(
    database_url: str,
) -> None:
    """No waiting for the client to notice the kill: a read (a statement marked read_only) on
    a dead pooled connection is retried on a live one; a write may fail, but only with
    ConnectionLostError."""
    async with killable_pool(database_url, min_size=3, max_size=3) as (db, killer):
        for round_ in range(6):
            await _pids(db, 3)  # three live connections in the pool
            await killer.kill(wait=False)
            assert await db.fetchval("SELECT $1::int", [round_], read_only=True) == round_

        for _ in range(4):
            await _pids(db, 3)
            await killer.kill(wait=False)
            values = await gather_all(
                *(db.fetchval("SELECT $1::int", [i], read_only=True) for i in range(6))
            )
            assert values == list(range(6))

        for _ in range(4):
            await _pids(db, 3)
            await killer.kill(wait=False)
            # A write may fail, but only with ConnectionLostError.
            with contextlib.suppress(ConnectionLostError):
                await db.execute("SELECT 1")

        await wait_until(lambda: db.pool_status().in_use == 0)
        assert await db.fetchval("SELECT 1") == 1


@postgresql_only
async def test_connection_killed_inside_atomic(database_url: str) -> None:
    async with (
        killable_pool(database_url, min_size=1, max_size=1) as (db, killer),
        scratch_table(db) as table,
    ):
        with pytest.raises(ConnectionLostError):
            async with aksara.atomic():
                await db.execute(insert_sql(db, table), [1, "lost"])
                await killer.kill(wait=True)
                await db.execute(insert_sql(db, table), [2, "never sent"])

        assert db.pool_status().in_use == 0
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0
        async with aksara.atomic():
            await db.execute(insert_sql(db, table), [3, "after"])
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 1


@postgresql_only
async def test_pinned_connection_killed_between_statements(database_url: str) -> None:
    async with killable_pool(database_url, min_size=1, max_size=2) as (db, killer):
        with pytest.raises(ConnectionLostError):
            async with db.connection():
                assert await db.fetchval("SELECT 1") == 1
                await killer.kill(wait=True)
                await db.fetchval("SELECT 2")
        assert db.pool_status().in_use == 0
        assert await db.fetchval("SELECT 3") == 3
