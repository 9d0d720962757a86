"""Every operation of the Cache API, on the memory backend and on the real Redis."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

import aksara
from aksara.cache import Cache, CacheValueError, cache, caches
from tests.cache.conftest import configured_cache


async def test_get_and_set_round_trip_and_a_missing_key_gives_the_default(
    any_cache: Cache,
) -> None:
    assert await any_cache.get("absent") is None
    assert await any_cache.get("absent", "fallback") == "fallback"
    await any_cache.set("key", {"a": [1, 2.5, "three", None, True]})
    assert await any_cache.get("key") == {"a": [1, 2.5, "three", None, True]}
    await any_cache.set("key", "replaced")
    assert await any_cache.get("key") == "replaced"


async def test_a_stored_none_is_a_value_for_get_or_set(any_cache: Cache) -> None:
    await any_cache.set("none", None)
    assert await any_cache.get_or_set("none", "computed") is None


async def test_the_module_cache_is_the_default_cache(any_cache: Cache) -> None:
    await cache.set("through-proxy", 7)
    assert await any_cache.get("through-proxy") == 7
    assert cache.alias == "default"
    assert cache.key_prefix == any_cache.key_prefix


async def test_add_stores_only_when_the_key_is_free(any_cache: Cache) -> None:
    assert await any_cache.add("key", 1) is True
    assert await any_cache.add("key", 2) is False
    assert await any_cache.get("key") == 1


async def test_delete_and_delete_many_tell_what_was_there(any_cache: Cache) -> None:
    await any_cache.set_many({"a": 1, "b": 2, "c": 3})
    assert await any_cache.delete("a") is True
    assert await any_cache.delete("a") is False
    assert await any_cache.delete_many(["b", "c", "never"]) == 2
    assert await any_cache.get_many(["a", "b", "c"]) == {}
    assert await any_cache.delete_many([]) == 0


async def test_get_many_leaves_out_missing_keys(any_cache: Cache) -> None:
    await any_cache.set_many({"a": 1, "b": [2]})
    assert await any_cache.get_many(["a", "missing", "b"]) == {"a": 1, "b": [2]}
    assert await any_cache.get_many([]) == {}


async def test_incr_counts_from_zero_and_keeps_working_with_get(any_cache: Cache) -> None:
    assert await any_cache.incr("counter") == 1
    assert await any_cache.incr("counter", 10) == 11
    assert await any_cache.incr("counter", -2) == 9
    assert await any_cache.get("counter") == 9
    await any_cache.set("stored", 40)
    assert await any_cache.incr("stored", 2) == 42


async def test_incr_of_a_value_that_is_no_integer_is_an_error(any_cache: Cache) -> None:
    await any_cache.set("text", "abc")
    with pytest.raises(CacheValueError, match="does not hold an integer"):
        await any_cache.incr("text")
    assert any_cache.stats().errors == 0


async def test_concurrent_incr_loses_no_update(any_cache: Cache) -> None:
    await asyncio.gather(*(any_cache.incr("hits") for _ in range(200)))
    assert await any_cache.get("hits") == 200


async def test_get_or_set_calls_and_awaits_the_default_on_a_miss_only(any_cache: Cache) -> None:
    calls = 0

    async def compute() -> list[int]:
        nonlocal calls
        calls += 1
        return [1, 2]

    assert await any_cache.get_or_set("key", compute, ttl=30) == [1, 2]
    assert await any_cache.get_or_set("key", compute, ttl=30) == [1, 2]
    assert calls == 1
    assert await any_cache.get_or_set("plain", lambda: "value") == "value"
    assert await any_cache.get_or_set("literal", 5) == 5
    assert await any_cache.get("literal") == 5


async def test_ttl_expires_entries(any_cache: Cache) -> None:
    await any_cache.set("short", "x", ttl=0.05)
    await any_cache.set("long", "y", ttl=30)
    await any_cache.set_many({"many": 1}, ttl=0.05)
    assert await any_cache.get("short") == "x"
    await asyncio.sleep(0.15)
    assert await any_cache.get("short") is None
    assert await any_cache.get("many") is None
    assert await any_cache.get("long") == "y"
    assert await any_cache.add("short", "again") is True


async def test_a_zero_ttl_stores_nothing(any_cache: Cache) -> None:
    await any_cache.set("key", 1)
    await any_cache.set("key", 2, ttl=0)
    assert await any_cache.get("key") is None
    assert await any_cache.add("key", 3, ttl=0) is False


async def test_touch_gives_a_new_ttl_to_existing_keys(any_cache: Cache) -> None:
    await any_cache.set("key", 1, ttl=0.1)
    assert await any_cache.touch("key", ttl=30) is True
    assert await any_cache.touch("missing", ttl=30) is False
    await asyncio.sleep(0.2)
    assert await any_cache.get("key") == 1
    await any_cache.set("forever", 2, ttl=0.1)
    assert await any_cache.touch("forever") is True  # no ttl: no expiry
    await asyncio.sleep(0.2)
    assert await any_cache.get("forever") == 2
    await any_cache.set("soon", 3)
    assert await any_cache.touch("soon", ttl=0.05) is True
    await asyncio.sleep(0.15)
    assert await any_cache.get("soon") is None


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_default_ttl_applies_when_no_ttl_is_given(backend: str) -> None:
    configured = await configured_cache(backend, default_ttl=0.05)
    try:
        await configured.set("key", 1)
        await configured.set("kept", 2, ttl=30)
        await asyncio.sleep(0.15)
        assert await configured.get("key") is None
        assert await configured.get("kept") == 2
    finally:
        await configured.clear()


async def test_clear_removes_only_the_cache_s_own_prefix(redis_cache: Cache) -> None:
    client = redis_cache.redis
    outside = [f"{redis_cache.key_prefix}x:key", f"{redis_cache.key_prefix}", "other:key"]
    try:
        for key in outside:
            await client.set(key, b"keep")
        await redis_cache.set_many({f"k{index}": index for index in range(2500)})
        await redis_cache.clear()
        assert await redis_cache.get_many([f"k{index}" for index in range(2500)]) == {}
        assert await client.mget(outside) == [b"keep"] * 3
    finally:
        await client.delete(*outside)


async def test_clear_escapes_glob_characters_of_the_prefix(redis_cache: Cache) -> None:
    client = redis_cache.redis
    glob = await configured_cache("redis", key_prefix=f"{redis_cache.key_prefix}[*]")
    lookalike = f"{redis_cache.key_prefix}a:key"  # what [*] would match unescaped
    try:
        await client.set(lookalike, b"keep")
        await glob.set("mine", 1)
        await glob.clear()
        assert await glob.get("mine") is None
        assert await client.get(lookalike) == b"keep"
    finally:
        await client.delete(lookalike)


async def test_memory_clear_empties_only_its_own_cache() -> None:
    aksara.configure(CACHE={"default": {"backend": "memory"}, "other": {"backend": "memory"}})
    default, other = caches["default"], caches["other"]
    await default.set("key", 1)
    await other.set("key", 2)
    await default.clear()
    assert await other.get("key") == 2


async def test_memory_backend_drops_the_least_recently_used_past_max_entries() -> None:
    small = await configured_cache("memory", max_entries=3)
    await small.set_many({"a": 1, "b": 2, "c": 3})
    assert await small.get("a") == 1  # a is now the most recently used
    await small.set("d", 4)
    assert await small.get("b") is None
    assert await small.get_many(["a", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    for index in range(100):
        await small.set(f"n{index}", index)
    assert len(small) == 3  # type: ignore[arg-type]  # MemoryCache has a length


async def test_memory_operations_stay_constant_time() -> None:
    """A get among 100,000 entries costs what it costs among 100 (no scan anywhere)."""

    async def per_get(entries: int) -> float:
        store = await configured_cache("memory", max_entries=entries)
        await store.set_many({f"k{index}": index for index in range(entries + 10)})
        start = time.perf_counter()
        for index in range(20_000):
            await store.get(f"k{index % 50 + 20}")
            await store.set(f"k{index % 50 + 20}", index)
        return time.perf_counter() - start

    small, large = await per_get(100), await per_get(100_000)
    assert large < small * 3


async def test_stats_count_hits_misses_sets_and_deletes(any_cache: Cache) -> None:
    await any_cache.get("missing")
    await any_cache.set("key", 1)
    await any_cache.get("key")
    await any_cache.get_many(["key", "missing"])
    await any_cache.delete("key")
    stats = any_cache.stats()
    assert (stats.hits, stats.misses, stats.sets, stats.deletes, stats.errors) == (2, 2, 1, 1, 0)
    assert stats.hit_ratio == 0.5
    any_cache.reset_stats()
    assert any_cache.stats().hit_ratio == 0.0


async def test_the_raw_api_stores_bytes_under_the_prefixed_key(any_cache: Cache) -> None:
    key = any_cache.make_key("raw")
    assert key == f"{any_cache.key_prefix}:raw"
    await any_cache.set_raw("raw", b"\x00bytes", ttl=30)
    assert await any_cache.get_raw("raw") == b"\x00bytes"
    if any_cache.redis is not None:
        assert await any_cache.redis.get(key) == b"\x00bytes"
        assert any_cache.is_local is False
    else:
        assert any_cache.is_local is True


async def test_run_guards_a_call_on_the_client(redis_cache: Cache) -> None:
    client = redis_cache.redis
    assert await redis_cache.run(client.set(redis_cache.make_key("x"), b"1"), False) is True
    assert await redis_cache.run(client.execute_command("NO-SUCH-COMMAND"), "fallback") == (
        "fallback"
    )
    assert redis_cache.stats().errors == 1


async def test_values_are_copies_so_changing_one_changes_no_entry(any_cache: Cache) -> None:
    await any_cache.set("list", [1, 2])
    got = await any_cache.get("list")
    got.append(3)
    assert await any_cache.get("list") == [1, 2]


async def test_unstorable_values_are_a_clear_error(any_cache: Cache) -> None:
    with pytest.raises(CacheValueError, match="Cannot cache a object: cached values are made"):
        await any_cache.set("key", object())


async def test_redis_uses_the_url_s_database_and_at_most_pool_size_connections() -> None:
    from tests.cache.conftest import REDIS_DB, require_redis

    url = await require_redis()
    assert url.endswith(f"/{REDIS_DB}") or "AKSARA_TEST_REDIS_URL" in os.environ
    small = await configured_cache("redis", pool_size=2)
    try:
        await asyncio.gather(*(small.set(f"k{index}", index) for index in range(50)))
        values = await asyncio.gather(*(small.get(f"k{index}") for index in range(50)))
        assert values == list(range(50))
        assert small.stats().errors == 0
        pool = small.redis.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
        database = int(url.rsplit("/", 1)[1])
        assert pool.connection_kwargs["db"] == database
        assert await small.redis.exists(small.make_key("k1")) == 1
    finally:
        await small.clear()
