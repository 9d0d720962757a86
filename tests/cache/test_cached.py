"""@cached on the memory backend and Redis: keys, templates, invalidate / invalidate_all,
single flight (50 concurrent misses, 1 computation), errors and cancellation, the lock
across processes, methods, TTL, transactions and stats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aksara
from aksara.cache import Cache, cached
from aksara.cache.keys import CacheKeyError
from aksara.db import Database
from aksara.debug import capture_queries, metrics
from examples.blog.models import Post, User


class Counter:
    def __init__(self) -> None:
        self.calls: list[Any] = []


async def test_a_second_call_is_a_hit_and_other_arguments_a_miss(any_cache: Cache) -> None:
    seen = Counter()

    @cached(ttl=60)
    async def square(number: int, scale: int = 1) -> int:
        seen.calls.append(number)
        return number * number * scale

    assert [await square(3), await square(3), await square(number=3, scale=1)] == [9, 9, 9]
    assert await square(4) == 16
    assert await square(3, 2) == 18
    assert seen.calls == [3, 4, 3]
    stats = square.stats()
    assert (stats.hits, stats.misses, stats.sets) == (2, 3, 3)
    assert stats.hit_ratio == pytest.approx(0.4)


async def test_values_round_trip(any_cache: Cache) -> None:
    @cached(ttl=60)
    async def value() -> dict[str, Any]:
        return {"a": [1, 2.5, None, "x"], "b": {"c": True}}

    first = await value()
    second = await value()
    assert first == second == {"a": [1, 2.5, None, "x"], "b": {"c": True}}
    second["a"].append("changed")
    assert await value() == first


async def test_the_spec_get_popular_posts_caches_model_instances(
    db: Database, any_cache: Cache
) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    for number in range(12):
        await Post.objects.create(
            title=f"p{number}",
            slug=f"p{number}",
            author=author,
            is_published=number != 5,
            view_count=number,
        )

    @cached(ttl=300)
    async def get_popular_posts():  # type: ignore[no-untyped-def]
        return await Post.objects.filter(is_published=True).order_by("-view_count").limit(10).all()

    assert get_popular_posts.cache is any_cache
    first = await get_popular_posts()
    async with capture_queries() as queries:
        second = await get_popular_posts()
    assert len(queries) == 0
    assert all(isinstance(post, Post) for post in second)
    assert [post.view_count for post in second] == [11, 10, 9, 8, 7, 6, 4, 3, 2, 1]
    assert [(post.pk, post.title, post.author_id) for post in second] == [
        (post.pk, post.title, post.author_id) for post in first
    ]


async def test_a_template_key_names_the_entry(any_cache: Cache) -> None:
    @cached(ttl=60, key="post:{post_id}")
    async def title(post_id: int, verbose: bool = False) -> str:
        return f"title {post_id}"

    await title(7)
    assert title.key(7) == (
        "cached:tests.cache.test_cached.test_a_template_key_names_the_entry.<locals>.title:post:7"
    )
    assert await any_cache.get_raw(title.key(7)) is not None
    assert title.key(7, verbose=True) == title.key(7)

    @cached(ttl=60, key=lambda post_id: f"p{post_id}")
    async def body(post_id: int) -> str:
        return "body"

    assert body.key(3).endswith(":p3")


async def test_invalidate_drops_one_entry_and_invalidate_all_every_one(any_cache: Cache) -> None:
    seen = Counter()

    @cached(ttl=60)
    async def double(number: int) -> int:
        seen.calls.append(number)
        return number * 2

    for number in (1, 2, 3):
        await double(number)
    await double.invalidate(2)
    for number in (1, 2, 3):
        await double(number)
    assert seen.calls == [1, 2, 3, 2]
    await double.invalidate_all()
    for number in (1, 2, 3):
        await double(number)
    assert seen.calls == [1, 2, 3, 2, 1, 2, 3]
    await double.invalidate_all()
    await double(1)
    assert seen.calls[-1] == 1 and len(seen.calls) == 8


async def test_fifty_concurrent_misses_compute_once(any_cache: Cache) -> None:
    seen = Counter()

    @cached(ttl=60)
    async def slow(number: int) -> int:
        seen.calls.append(number)
        await asyncio.sleep(0.05)
        return number + 1

    results = await asyncio.gather(*(slow(1) for _ in range(50)))
    assert results == [2] * 50
    assert len(seen.calls) == 1
    assert slow.stats().computations == 1


async def test_a_failing_computation_reaches_every_waiter_and_is_not_cached(
    any_cache: Cache,
) -> None:
    seen = Counter()

    @cached(ttl=60)
    async def flaky() -> str:
        seen.calls.append(1)
        await asyncio.sleep(0.02)
        if len(seen.calls) == 1:
            raise RuntimeError("database went away")
        return "ok"

    results = await asyncio.gather(*(flaky() for _ in range(50)), return_exceptions=True)
    assert len(seen.calls) == 1
    assert all(isinstance(result, RuntimeError) for result in results)
    assert await flaky() == "ok"
    assert await flaky() == "ok"
    assert len(seen.calls) == 2
    assert flaky.stats().errors == 1


async def test_cancelling_the_first_caller_does_not_cancel_the_others(any_cache: Cache) -> None:
    seen = Counter()

    @cached(ttl=60)
    async def slow() -> str:
        seen.calls.append(1)
        await asyncio.sleep(0.1)
        return "done"

    first = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    others = [asyncio.create_task(slow()) for _ in range(10)]
    await asyncio.sleep(0.01)
    first.cancel()
    assert await asyncio.gather(*others) == ["done"] * 10
    assert first.cancelled()
    assert len(seen.calls) == 1
    assert await slow() == "done" and len(seen.calls) == 1


async def test_two_processes_compute_once_under_the_redis_lock(any_cache: Cache) -> None:
    seen = Counter()

    async def report() -> str:
        seen.calls.append(1)
        await asyncio.sleep(0.1)
        return "report"

    # Two decorations of one function: two processes' views of it (one key, two flights).
    first, second = cached(ttl=60)(report), cached(ttl=60)(report)
    results = await asyncio.gather(*(first() for _ in range(10)), *(second() for _ in range(10)))
    assert results == ["report"] * 20
    assert len(seen.calls) == (1 if any_cache.redis is not None else 2)


async def test_an_argument_that_cannot_be_keyed_asks_for_key(any_cache: Cache) -> None:
    @cached(ttl=60)
    async def lookup(filters: Any) -> int:
        return 1

    with pytest.raises(CacheKeyError, match="pass key="):
        await lookup(object())
    assert await lookup({"a": [1, 2]}) == 1


async def test_methods_skip_self_and_invalidate_through_the_instance(any_cache: Cache) -> None:
    seen = Counter()

    class Service:
        def __init__(self, name: str) -> None:
            self.name = name

        @cached(ttl=60)
        async def fetch(self, post_id: int) -> str:
            seen.calls.append((self.name, post_id))
            return f"post {post_id}"

    one, two = Service("one"), Service("two")
    assert await one.fetch(1) == await two.fetch(1) == "post 1"
    assert seen.calls == [("one", 1)]
    await two.fetch.invalidate(1)
    assert await one.fetch(1) == "post 1"
    assert seen.calls == [("one", 1), ("one", 1)]
    assert Service.fetch.stats().hits == 1


async def test_entries_expire_after_the_ttl(any_cache: Cache) -> None:
    seen = Counter()

    @cached(ttl=0.2)
    async def value() -> int:
        seen.calls.append(1)
        return len(seen.calls)

    assert await value() == 1
    assert await value() == 1
    await asyncio.sleep(0.3)
    assert await value() == 2


async def test_inside_a_transaction_nothing_is_read_from_or_stored_in_the_cache(
    db: Database, any_cache: Cache
) -> None:
    @cached(ttl=60)
    async def count() -> int:
        return await User.objects.count()

    assert await count() == 0

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        async with aksara.atomic():
            await User.objects.create(name="Bea", email="bea@example.com")
            assert await count() == 1
            raise Rollback
    assert await count() == 0
    assert count.stats().sets == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="seconds above 0"):
        cached(ttl=0)
    with pytest.raises(TypeError, match="async function"):
        cached(ttl=1)(lambda: 1)  # type: ignore[arg-type, return-value]


async def test_function_counters_reach_the_metrics(db: Database, any_cache: Cache) -> None:
    @cached(ttl=60)
    async def counted() -> int:
        return 1

    for _ in range(3):
        await counted()
    reported = metrics()["cached_functions"][counted.keys.name]
    assert reported == {
        "hits": 2,
        "misses": 1,
        "computations": 1,
        "sets": 1,
        "invalidations": 0,
        "errors": 0,
        "hit_ratio": pytest.approx(2 / 3),
    }
