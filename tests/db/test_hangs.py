"""Waits that used to be unbounded end with a named error: a sibling task's nested block,
disconnect() while an atomic() block is open, one atomic() object in two tasks, queries
queued on a pool that disconnect() closes."""

from __future__ import annotations

import asyncio

import pytest

import aksara
from aksara.exceptions import ConfigurationError, DatabaseClosedError, TransactionError
from tests.db.helpers import own_pool
from tests.db.test_write_retry import category_table
from tests.models import Category


async def test_sibling_waiting_behind_a_nested_block_that_waits_for_it(database_url: str) -> None:
    async with own_pool(database_url, acquire_timeout=0.5) as _, category_table():
        go, done = asyncio.Event(), asyncio.Event()

        async def nested_holder() -> None:
            async with aksara.atomic():
                await Category.objects.create(name="x")
                go.set()
                await done.wait()  # waits for the sibling, which waits for this block

        async def sibling() -> None:
            await go.wait()
            try:
                await Category.objects.create(name="y")
            finally:
                done.set()

        async with asyncio.timeout(10):
            with pytest.raises(TransactionError, match="sibling task keeps a nested atomic"):
                async with aksara.atomic():
                    results = await asyncio.gather(
                        nested_holder(), sibling(), return_exceptions=True
                    )
                    assert results[0] is None
                    raise results[1]
        assert await Category.objects.count() == 0


async def test_disconnect_is_bounded_by_an_open_atomic_block(database_url: str) -> None:
    async with own_pool(database_url, close_timeout=0.3) as db, category_table():
        holding, resume = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with aksara.atomic():
                await Category.objects.create(name="never committed")
                holding.set()
                await resume.wait()
                await Category.objects.create(name="after disconnect")

        task = asyncio.create_task(holder())
        await holding.wait()
        async with asyncio.timeout(5):
            await aksara.disconnect()
        assert not db.is_open
        resume.set()
        with pytest.raises(DatabaseClosedError, match="disconnect"):
            await task

        await aksara.connect()
        assert await Category.objects.count() == 0


async def test_one_atomic_object_entered_by_two_tasks(database_url: str) -> None:
    async with own_pool(database_url) as db, category_table():
        shared = aksara.atomic()
        entered = asyncio.Event()

        async def first() -> None:
            async with shared:
                await Category.objects.create(name="first")
                entered.set()
                await asyncio.sleep(0.05)

        async def second() -> None:
            await entered.wait()
            async with shared:
                await Category.objects.create(name="second")

        async with asyncio.timeout(10):
            results = await asyncio.gather(first(), second(), return_exceptions=True)
            assert results[0] is None
            assert isinstance(results[1], TransactionError)
            assert "another task" in str(results[1])
            assert db.pool_status().in_use == 0
            # The object is free again once its task left it.
            await second()
        assert sorted(c.name for c in await Category.objects.all()) == ["first", "second"]


async def test_disconnect_with_queued_queries(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1, close_timeout=0.3) as db:
        holding, resume = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with db.connection():
                holding.set()
                await resume.wait()

        task = asyncio.create_task(holder())
        await holding.wait()
        queued = [asyncio.create_task(db.fetchval("SELECT 1")) for _ in range(5)]
        await asyncio.sleep(0.05)
        async with asyncio.timeout(5):
            await aksara.disconnect()
        results = await asyncio.gather(*queued, return_exceptions=True)
        assert all(isinstance(result, DatabaseClosedError) for result in results), results
        resume.set()
        await task


def test_close_timeout_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="close_timeout"):
        aksara.configure(DATABASE_POOL={"close_timeout": -1})
    with pytest.raises(ConfigurationError, match="close_timeout"):
        aksara.configure(DATABASE_POOL={"close_timeout": "10"})
