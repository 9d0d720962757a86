"""The get path's shortcuts keep the rules of the long way round.

A pooled statement takes a fit idle connection without a coroutine (one worn by
``max_queries`` or idle past its lifetime is still retired); a pinned statement decides its
turn and takes the connection's lock inline (a failed or cancelled statement still frees
it); ``get()`` builds its query in one copy (every filter, Q object and slice rule kept); a
get by key binds an in-range int as it is only where the field's check would keep it, and
takes the statement it remembers only from the database it came from; SQLite datetimes
parse in one step to what they always read as.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

import aksara
from aksara import Count, Q, fields
from aksara.db import Database
from aksara.db.dialects import SQLiteDialect
from aksara.exceptions import DatabaseError
from aksara.orm.fields import keeps_ranged_ints
from tests.db.helpers import gather_all, own_pool, slow_sql
from tests.db.test_write_retry import category_table
from tests.debug.helpers import configured_database
from tests.models import Category, Kitchen, Tag


async def _pinned_connection(db: Database) -> object:
    async with db.connection() as binding:
        return binding.connection


async def test_worn_connection_is_retired(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1, max_queries=3) as db:
        first = await _pinned_connection(db)
        for _ in range(3):
            assert await db.fetchval("SELECT 1", read_only=True) == 1
        # Three statements wore it out: the next one runs on a fresh connection.
        assert await db.fetchval("SELECT 2", read_only=True) == 2
        second = await _pinned_connection(db)
        assert second is not first
        assert db.pool_status().size == 1


async def test_connection_idle_too_long_is_retired(database_url: str) -> None:
    async with own_pool(
        database_url, min_size=1, max_size=1, max_inactive_connection_lifetime=0.05
    ) as db:
        assert await db.fetchval("SELECT 1", read_only=True) == 1
        first = await _pinned_connection(db)
        await asyncio.sleep(0.2)
        assert await db.fetchval("SELECT 1", read_only=True) == 1
        assert await _pinned_connection(db) is not first


async def test_pinned_statements_of_child_tasks_take_turns(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, category_table():
        made = [await Category.objects.create(name=f"c{index}") for index in range(20)]
        for block in (db.connection, aksara.atomic):
            async with block():
                found = await gather_all(*(Category.objects.get(pk=c.pk) for c in made))
                assert [c.name for c in found] == [c.name for c in made]


async def test_failed_pinned_statement_frees_the_connection(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, db.connection() as binding:
        with pytest.raises(DatabaseError):
            await db.fetch("SELECT no_such_column FROM no_such_table", read_only=True)
        assert not binding.lock.locked()
        async with asyncio.timeout(5):
            assert await db.fetchval("SELECT 3", read_only=True) == 3


async def test_cancelled_pinned_statement_frees_the_connection(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=2) as db:
        sql = slow_sql(db, seconds=5, sqlite_rows=3_000_000)
        async with db.connection() as binding:
            task = asyncio.create_task(db.fetchval(sql, read_only=True))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not binding.lock.locked()
        # A fresh pinned connection works whatever became of the cancelled one.
        async with asyncio.timeout(10), db.connection():
            assert await db.fetchval("SELECT 4", read_only=True) == 4


async def test_pinned_lock_passes_over_a_cancelled_waiter(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with own_pool(database_url, min_size=1, max_size=2) as db:
        sql = slow_sql(db, seconds=5, sqlite_rows=3_000_000)
        async with db.connection() as binding:
            lock = binding.lock
            slow = asyncio.create_task(db.fetchval(sql, read_only=True))
            await asyncio.sleep(0.1)
            assert lock.locked()
            # Two children wait for the connection; one is cancelled while waiting.
            waiting = [asyncio.create_task(db.fetchval(f"SELECT {n}")) for n in (1, 2)]
            await asyncio.sleep(0.05)
            waiting[0].cancel()
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            with pytest.raises(asyncio.CancelledError):
                await waiting[0]
            async with asyncio.timeout(10):
                assert await waiting[1] == 2
            assert not lock.locked()

            # A statement finding the connection free takes it without waiting.
            async def refused(self: object) -> None:
                raise AssertionError("a free connection was waited for")

            monkeypatch.setattr(type(lock), "wait", refused, raising=False)
            assert await db.fetchval("SELECT 5") == 5
            assert not lock.locked()


async def test_get_builds_the_whole_filter(db: Database) -> None:
    food = await Category.objects.create(name="food")
    drink = await Category.objects.create(name="drink")
    tea = await Tag.objects.create(name="tea", category=drink)
    await Tag.objects.create(name="tart", category=food)
    await Tag.objects.create(name="toast", category=food)

    assert (await Category.objects.get(pk=food.pk)).name == "food"
    assert (await Category.objects.get(Q(name="drink") | Q(name="none"))).pk == drink.pk
    assert (await Tag.objects.filter(category=food).get(name="tart")).name == "tart"
    assert (await Tag.objects.get(Q(name__startswith="t"), category=drink)).pk == tea.pk
    with pytest.raises(Tag.DoesNotExist):
        await Tag.objects.filter(category=drink).get(name="tart")
    with pytest.raises(Tag.MultipleObjectsReturned):
        await Tag.objects.get(category=food)
    # A keyword naming an annotation compares the aggregate (HAVING), as in filter().
    busy = await Category.objects.annotate(n=Count("tags")).get(n=2)
    assert (busy.pk, busy.n) == (food.pk, 2)
    assert (await Category.objects.values_list("name", flat=True).get(pk=drink.pk)) == "drink"
    # A sliced query is got as it is; filtering it is refused.
    assert (await Category.objects.order_by("name")[1:].get()).name == "food"
    with pytest.raises(TypeError, match="sliced"):
        await Category.objects.all()[:1].get(pk=food.pk)


def test_sqlite_datetime_text_of_every_form_reads_back_aware_utc() -> None:
    convert = SQLiteDialect.converters["datetime"]
    utc = dt.UTC
    # Aksara's own form first; the others are what raw SQL or another program may store.
    for text, expected in {
        "2024-05-01 12:34:56.123456": dt.datetime(2024, 5, 1, 12, 34, 56, 123456, tzinfo=utc),
        "2024-05-01T12:34:56": dt.datetime(2024, 5, 1, 12, 34, 56, tzinfo=utc),
        "2024-05-01 12:34": dt.datetime(2024, 5, 1, 12, 34, tzinfo=utc),
        "2024-05-01": dt.datetime(2024, 5, 1, tzinfo=utc),
        "2024-05-01T12:34:56+00:00": dt.datetime(2024, 5, 1, 12, 34, 56, tzinfo=utc),
        "2024-05-01 12:34:56Z": dt.datetime(2024, 5, 1, 12, 34, 56, tzinfo=utc),
    }.items():
        value = convert(text)
        assert value == expected, text
        assert value.tzinfo is utc, text
    with pytest.raises(ValueError, match="Invalid isoformat string: 'noon'"):
        convert("noon")


def test_only_the_integer_fields_own_check_lets_an_in_range_int_skip_prepare() -> None:
    class Even(fields.Integer):
        def to_python(self, value: Any) -> Any:
            value = super().to_python(value)
            if value % 2:
                raise aksara.ValidationError("odd")
            return value

    for field in (fields.AutoField(), fields.Integer(), fields.BigInteger()):
        assert keeps_ranged_ints(field)
    assert not keeps_ranged_ints(Even())
    assert not keeps_ranged_ints(fields.String())


async def test_get_by_key_follows_the_default_database_and_its_adapters(
    database_url: str, tmp_path: Path
) -> None:
    # A get by key remembers its statement with its database's cache: each new default
    # database (of the same kind or not, back and forth) compiles its own on the first get
    # and binds it through its own adapters (a UUID is text on SQLite); the next get of
    # the same key takes it from there, a hit.
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    token = uuid.uuid4()
    for url in (database_url, other, database_url, other):
        async with configured_database(url) as database:
            made = await Kitchen.objects.create(label="k", token=token)
            statements = database.statements
            hits, misses = statements.hits, statements.misses
            for _ in range(2):
                found = await Kitchen.objects.get(token=token)
                assert (found.pk, found.token) == (made.pk, token)
                assert (await Kitchen.objects.get(pk=made.pk)).token == token
            assert (statements.hits, statements.misses) == (hits + 2, misses + 2)
            with pytest.raises(Kitchen.DoesNotExist):
                await Kitchen.objects.get(token=uuid.uuid4())
