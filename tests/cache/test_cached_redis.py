"""@cached against Redis only: the lock across processes never blocks for long, and a
Redis that does not answer leaves the function computing (fail open)."""

from __future__ import annotations

import time

from aksara.cache import Cache, cached, caches
from tests.cache.conftest import configured_cache


async def test_a_lock_left_by_a_dead_process_delays_but_never_blocks(
    redis_cache: Cache,
) -> None:
    backend = redis_cache

    @cached(ttl=60)
    async def value() -> int:
        return 42

    await backend.redis.set(backend.make_key(f"lock:{value.key()}"), "dead", px=60_000)
    started = time.perf_counter()
    assert await value() == 42
    assert 0.9 < time.perf_counter() - started < 3
    assert await value() == 42


async def test_redis_down_the_function_still_answers() -> None:
    await configured_cache("redis", url="redis://127.0.0.1:1/0", timeout_ms=50)
    calls: list[int] = []

    @cached(ttl=60)
    async def value() -> str:
        calls.append(1)
        return "computed"

    try:
        started = time.perf_counter()
        assert [await value(), await value()] == ["computed", "computed"]
        assert time.perf_counter() - started < 1
        assert len(calls) == 2
        assert caches["default"].stats().errors >= 1
    finally:
        await caches.close_all()


async def test_invalidate_all_reaches_another_process(redis_cache: Cache) -> None:
    calls: list[int] = []

    async def report(number: int) -> int:
        calls.append(number)
        return number

    # Two decorations of one function: two processes' views of it, sharing Redis.
    first, second = cached(ttl=60)(report), cached(ttl=60)(report)
    assert [await first(1), await second(1), await second(2)] == [1, 1, 2]
    assert calls == [1, 2]
    await first.invalidate_all()
    assert [await second(1), await second(2), await first(2)] == [1, 2, 2]
    assert calls == [1, 2, 1, 2]
    await second.invalidate(2)
    assert await first(2) == 2
    assert calls == [1, 2, 1, 2, 2]
