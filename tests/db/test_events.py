"""Query events (``listen``), the per-database counters and the slow-query log."""

from __future__ import annotations

import asyncio
import logging

import pytest

import aksara
from aksara.db import Database, QueryEvent, listen
from aksara.db.events import current_listeners
from aksara.db.stats import DURATION_BUCKETS_MS
from aksara.exceptions import DatabaseError, IntegrityError
from tests.db.helpers import gather_all, insert_sql, scratch_table


async def test_listen_reports_sql_params_rows_and_duration(db: Database) -> None:
    p = db.dialect.placeholder
    events: list[QueryEvent] = []
    async with scratch_table(db) as table:
        with listen(events.append):
            assert await db.execute(insert_sql(db, table), [1, "one"]) == 1
            assert await db.execute(insert_sql(db, table), [2, "two"]) == 1
            rows = await db.fetch(f"SELECT id FROM {table} WHERE id >= {p(1)}", [1])
            changed = await db.execute(f"UPDATE {table} SET label = {p(1)}", ["x"])
    assert len(rows) == 2
    assert changed == 2

    assert [event.sql for event in events] == [
        insert_sql(db, table),
        insert_sql(db, table),
        f"SELECT id FROM {table} WHERE id >= {p(1)}",
        f"UPDATE {table} SET label = {p(1)}",
    ]
    assert [list(event.params) for event in events] == [[1, "one"], [2, "two"], [1], ["x"]]
    assert [event.rows for event in events] == [1, 1, 2, 2]
    for event in events:
        assert event.database == db.name
        assert event.error is None
        assert isinstance(event.duration, float)
        assert 0 < event.duration < 5000
        assert not event.is_transaction_control


async def test_listen_stops_at_the_end_of_the_block(db: Database) -> None:
    events: list[QueryEvent] = []
    with listen(events.append):
        assert current_listeners() == (events.append,)
        await db.fetchval("SELECT 1")
    assert current_listeners() == ()
    await db.fetchval("SELECT 2")
    assert [event.sql for event in events] == ["SELECT 1"]


async def test_nested_listeners_both_see_inner_queries(db: Database) -> None:
    outer: list[str] = []
    inner: list[str] = []
    with listen(lambda e: outer.append(e.sql)):
        await db.fetchval("SELECT 1")
        with listen(lambda e: inner.append(e.sql)):
            await db.fetchval("SELECT 2")
        await db.fetchval("SELECT 3")
    assert outer == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert inner == ["SELECT 2"]


async def test_listener_does_not_see_a_concurrent_tasks_queries(db: Database) -> None:
    p = db.dialect.placeholder
    seen: dict[str, list[object]] = {"a": [], "b": []}

    async def worker(name: str) -> None:
        with listen(lambda event: seen[name].append(event.params[0])):
            for i in range(10):
                await db.fetchval(f"SELECT {p(1)}", [f"{name}{i}"])
                await asyncio.sleep(0)

    async def unobserved() -> None:
        for i in range(10):
            await db.fetchval(f"SELECT {p(1)}", [f"c{i}"])
            await asyncio.sleep(0)

    await gather_all(worker("a"), worker("b"), unobserved())
    assert seen["a"] == [f"a{i}" for i in range(10)]
    assert seen["b"] == [f"b{i}" for i in range(10)]


async def test_tasks_started_inside_listen_are_seen(db: Database) -> None:
    p = db.dialect.placeholder
    params: list[object] = []
    with listen(lambda event: params.append(event.params[0])):
        await gather_all(*(db.fetchval(f"SELECT {p(1)}", [f"g{i}"]) for i in range(8)))
        task = asyncio.create_task(db.fetchval(f"SELECT {p(1)}", ["late"]))
    assert await task == "late"  # started inside the block: still reported
    await db.fetchval(f"SELECT {p(1)}", ["outside"])  # not reported
    assert sorted(params) == sorted([*(f"g{i}" for i in range(8)), "late"])  # type: ignore[type-var]


async def test_failed_statement_reports_its_error(db: Database) -> None:
    events: list[QueryEvent] = []
    async with scratch_table(db) as table:
        await db.execute(insert_sql(db, table), [1, "one"])
        with listen(events.append), pytest.raises(IntegrityError) as info:
            await db.execute(insert_sql(db, table), [1, "again"])
        with listen(events.append), pytest.raises(DatabaseError) as syntax:
            await db.fetch("SELEKT 1")
    assert len(events) == 2
    assert events[0].error is info.value
    assert events[0].rows == 0
    assert events[0].sql == insert_sql(db, table)
    assert list(events[0].params) == [1, "again"]
    assert events[0].duration >= 0
    assert events[1].error is syntax.value
    assert events[1].sql == "SELEKT 1"


async def test_transaction_statements_are_reported_and_flagged(db: Database) -> None:
    events: list[QueryEvent] = []
    with listen(events.append):
        async with aksara.atomic():
            await db.fetchval("SELECT 1")
            async with aksara.atomic():
                await db.fetchval("SELECT 2")
    flags = [(event.sql.split()[0].upper(), event.is_transaction_control) for event in events]
    assert flags == [
        ("BEGIN", True),
        ("SELECT", False),
        ("SAVEPOINT", True),
        ("SELECT", False),
        ("RELEASE", True),
        ("COMMIT", True),
    ]


async def test_stats_count_queries_errors_and_time(db: Database) -> None:
    db.stats.reset()
    assert db.stats.queries == 0
    assert db.stats.errors == 0
    assert db.stats.total_time_ms == 0
    assert sum(db.stats.histogram) == 0

    for _ in range(3):
        await db.fetchval("SELECT 1")
    await db.execute("SELECT 1")
    with pytest.raises(DatabaseError):
        await db.fetch("SELEKT 1")

    # Every statement run is counted and timed, the failed one also as an error.
    assert db.stats.queries == 5
    assert db.stats.errors == 1
    assert db.stats.total_time_ms > 0
    assert sum(db.stats.histogram) == 5
    assert len(db.stats.histogram) == len(DURATION_BUCKETS_MS) + 1

    db.stats.reset()
    assert (db.stats.queries, db.stats.errors, sum(db.stats.histogram)) == (0, 0, 0)


async def test_stats_histogram_places_slow_statements_in_high_buckets(db: Database) -> None:
    db.stats.reset()
    if db.name == "postgresql":
        await db.fetch("SELECT pg_sleep(0.06)")
    else:
        await db.fetch(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) "
            "SELECT count(*) FROM c"
        )
    (bucket,) = [i for i, count in enumerate(db.stats.histogram) if count]
    assert db.stats.total_time_ms > 25
    assert bucket >= DURATION_BUCKETS_MS.index(50)  # the "up to 50 ms" bucket or above


async def test_stats_are_counted_under_concurrency(db: Database) -> None:
    db.stats.reset()
    await gather_all(*(db.fetchval("SELECT 1") for _ in range(50)))
    assert db.stats.queries == 50
    assert sum(db.stats.histogram) == 50


async def test_slow_queries_are_logged(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    threshold = db.slow_query_ms
    try:
        db.slow_query_ms = 10_000
        with caplog.at_level(logging.WARNING, logger="aksara.db.slow"):
            await db.fetchval("SELECT 1")
        assert caplog.records == []

        db.slow_query_ms = 0
        with caplog.at_level(logging.WARNING, logger="aksara.db.slow"):
            await db.fetchval("SELECT 42")
        assert len(caplog.records) == 1
        assert caplog.records[0].name == "aksara.db.slow"
        assert "SELECT 42" in caplog.records[0].getMessage()
    finally:
        db.slow_query_ms = threshold
