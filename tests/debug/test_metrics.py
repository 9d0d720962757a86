"""metrics() / reset_metrics(): query and error counts, time, histogram and pool use."""

from __future__ import annotations

import asyncio

import pytest

from aksara.db import Database
from aksara.debug import capture_queries, metrics, reset_metrics
from aksara.exceptions import DatabaseError, IntegrityError
from examples.blog.models import Post, User

BUCKETS = ["1", "2.5", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "+Inf"]


def assert_consistent(snapshot: dict[str, object]) -> None:
    histogram = snapshot["duration_histogram"]
    assert isinstance(histogram, dict)
    assert list(histogram) == BUCKETS
    counts = list(histogram.values())
    assert counts == sorted(counts), f"histogram is not cumulative: {histogram}"
    assert histogram["+Inf"] == snapshot["queries"]


async def test_metrics_shape(db: Database) -> None:
    snapshot = metrics()
    assert set(snapshot) >= {"queries", "errors", "query_time_ms", "duration_histogram", "pool"}
    assert snapshot["database"] == db.name
    assert isinstance(snapshot["queries"], int)
    assert isinstance(snapshot["errors"], int)
    assert isinstance(snapshot["query_time_ms"], float)
    assert set(snapshot["pool"]) == {"size", "in_use", "idle", "max_size"}
    assert_consistent(snapshot)
    assert metrics(db) == metrics()  # the default database when none is given


async def test_reset_metrics_zeroes_the_counters(db: Database) -> None:
    await User.objects.count()
    with pytest.raises(DatabaseError):
        await db.fetch("SELEKT 1")
    assert metrics()["queries"] > 0
    assert metrics()["errors"] > 0

    reset_metrics()
    snapshot = metrics()
    assert snapshot["queries"] == 0
    assert snapshot["errors"] == 0
    assert snapshot["query_time_ms"] == 0
    assert set(snapshot["duration_histogram"].values()) == {0}
    assert_consistent(snapshot)


async def test_counts_increase_by_the_queries_run(db: Database) -> None:
    before = metrics()
    async with capture_queries(include_transaction_control=True) as queries:
        user = await User.objects.create(name="Ann", email="ann@example.com")
        await Post.objects.create(title="t", slug="t", author=user)
        await Post.objects.filter(author=user).count()
        await asyncio.gather(*(User.objects.filter(id=user.id).exists() for _ in range(4)))
    after = metrics()
    assert len(queries) == 7
    assert after["queries"] - before["queries"] == len(queries)
    assert after["errors"] == before["errors"]
    spent = after["query_time_ms"] - before["query_time_ms"]
    assert spent == pytest.approx(sum(query.duration for query in queries))
    assert_consistent(after)
    grown = after["duration_histogram"]["+Inf"] - before["duration_histogram"]["+Inf"]
    assert grown == len(queries)


async def test_histogram_buckets_follow_the_durations(db: Database) -> None:
    reset_metrics()
    async with capture_queries() as queries:
        for _ in range(5):
            await User.objects.count()
    histogram = metrics()["duration_histogram"]
    for bound in BUCKETS[:-1]:
        expected = sum(1 for query in queries if query.duration <= float(bound))
        assert histogram[bound] == expected, (bound, [q.duration for q in queries])
    assert histogram["+Inf"] == 5


async def test_errors_count_failed_statements(db: Database) -> None:
    await User.objects.create(name="Ann", email="ann@example.com")
    reset_metrics()
    with pytest.raises(IntegrityError):
        await User.objects.create(name="Again", email="ann@example.com")
    with pytest.raises(DatabaseError):
        await db.fetch("SELEKT 1")
    await User.objects.count()
    snapshot = metrics()
    assert snapshot["errors"] == 2
    assert snapshot["queries"] == 3  # failed statements are counted (and timed) as queries
    assert_consistent(snapshot)


async def test_pool_use(db: Database) -> None:
    await User.objects.count()
    pool = metrics()["pool"]
    assert pool["max_size"] == 5  # tests.conftest.pool_options()
    assert pool["size"] >= 1
    assert pool["in_use"] == 0
    assert pool["idle"] == pool["size"]

    async with db.connection():
        held = metrics()["pool"]
        assert held["in_use"] == 1
        assert held["size"] == held["in_use"] + held["idle"]
    assert metrics()["pool"]["in_use"] == 0
