"""A statement cancelled mid-flight leaves no transaction on a connection the pool hands out.

On SQLite the cancelled statement may still run later on aiosqlite's thread (a BEGIN
IMMEDIATE queued behind a busy lock), so its connection is closed and replaced. On
PostgreSQL the server is asked to cancel it, and the connection is reused only once the
server confirmed that (else it is terminated).
"""

from __future__ import annotations

import asyncio

import pytest

import aksara
from aksara.db import Database
from tests.db.helpers import gather_all, own_pool, slow_sql
from tests.db.test_write_retry import category_table
from tests.models import Category


async def _no_connection_in_a_transaction(db: Database) -> None:
    """Every connection of the pool, taken at once, is outside any transaction."""
    size = db.pool_options["max_size"]
    entered = asyncio.Barrier(size + 1)
    states: list[bool] = []

    async def probe() -> None:
        async with db.connection() as binding:
            await db.fetchval("SELECT 1")
            states.append(binding.connection.in_transaction)
            await entered.wait()
            await entered.wait()

    tasks = [asyncio.create_task(probe()) for _ in range(size)]
    await entered.wait()
    await entered.wait()
    await gather_all(*tasks)
    assert states == [False] * size


async def test_atomic_cancelled_while_waiting_for_a_writer(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=3) as db, category_table():
        holding, done = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with aksara.atomic():
                await Category.objects.create(name="held")  # the write lock / the row's lock
                holding.set()
                await done.wait()

        task = asyncio.create_task(holder())
        await holding.wait()
        for _ in range(3):
            # SQLite: its BEGIN IMMEDIATE waits for the write lock; PostgreSQL: the INSERT
            # waits for the holder's uncommitted row of the same unique name.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2), aksara.atomic():
                    await Category.objects.create(name="held")
        done.set()
        await task

        await _no_connection_in_a_transaction(db)
        first, second = await gather_all(
            Category.objects.create(name="a"), Category.objects.create(name="b")
        )
        assert first.pk != second.pk
        assert sorted(c.name for c in await Category.objects.all()) == ["a", "b", "held"]


async def test_cancelled_statements_leave_the_pool_clean(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=2) as db, category_table():
        sql = slow_sql(db, seconds=5, sqlite_rows=3_000_000)
        for _ in range(2):
            # A read cancelled on a pooled connection, then one on a pinned connection.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await db.fetchval(sql, read_only=True)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2), aksara.atomic():
                    await Category.objects.create(name="rolled back")
                    await db.fetchval(sql)
        await _no_connection_in_a_transaction(db)
        assert await Category.objects.count() == 0
        await Category.objects.create(name="kept")
        assert db.pool_status().in_use == 0
        assert await Category.objects.count() == 1
