"""Cache fixtures: caches built from the ``CACHE`` setting, on the memory backend and on the
real Redis (``AKSARA_TEST_REDIS_URL``, default 127.0.0.1:6379 in a database number of this
session's own). Each test gets a key prefix of its own and clears only that prefix after.
When Redis cannot be reached its tests are skipped locally and fail under CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

import aksara
from aksara.cache import Cache, caches
from tests.conftest import IN_CI

#: Sessions running side by side pick different databases most of the time, and their
#: keys never meet anyway: every test has a prefix of its own.
REDIS_DB = 1 + os.getpid() % 15
REDIS_URL = os.environ.get("AKSARA_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
_redis_problem: list[str | None] = []


async def redis_unavailable() -> str | None:
    """Why the test Redis cannot be used, or None (checked once per session)."""
    if not _redis_problem:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
            _redis_problem.append(None)
        except (redis.RedisError, OSError) as error:
            _redis_problem.append(f"Redis at {REDIS_URL} is unreachable: {error}")
        finally:
            await client.aclose()
    return _redis_problem[0]


async def require_redis() -> str:
    """The test Redis URL; skips the test locally when Redis is down, fails it under CI."""
    problem = await redis_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI requires it)")
        pytest.skip(problem)
    return REDIS_URL


def unique_prefix() -> str:
    """A key prefix no other test (or session) uses."""
    return f"aksara-test-{os.getpid()}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
async def _close_caches() -> AsyncIterator[None]:
    """Caches built by a test are closed after it (their pools belong to its settings)."""
    yield
    await caches.close_all()


async def configured_cache(backend: str, **options: Any) -> Cache:
    """``caches["default"]`` configured for *backend* with a unique prefix, opened."""
    config: dict[str, Any] = {"backend": backend, "key_prefix": unique_prefix(), **options}
    if backend == "redis":
        config.setdefault("url", await require_redis())
        config.setdefault("timeout_ms", 1000)
    aksara.configure(CACHE={"default": config})
    cache = caches["default"]
    await cache.open()
    return cache


@pytest.fixture(params=["memory", "redis"])
async def any_cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """The default cache, once on each backend, empty, with a prefix of the test's own."""
    cache = await configured_cache(request.param)
    yield cache
    await cache.clear()


@pytest.fixture
async def redis_cache() -> AsyncIterator[Cache]:
    """The default cache on the test Redis, with a prefix of the test's own."""
    cache = await configured_cache("redis")
    yield cache
    await cache.clear()
