"""The caches the decorator tests run on: the memory backend and the real Redis (a database
number and a key prefix of this test session's own, emptied around each test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

import aksara
from aksara.cache import Cache, caches

REDIS_URL = os.environ.get("AKSARA_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_DB = 1 + os.getpid() % 15


def cache_settings(backend: str, prefix: str, **options: Any) -> dict[str, Any]:
    """A CACHE setting whose default cache is *backend* under *prefix*."""
    if backend == "redis":
        options = {"url": f"{REDIS_URL}/{REDIS_DB}", "timeout_ms": 1000, **options}
    return {"default": {"backend": backend, "key_prefix": prefix, **options}}


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """The default cache, empty, on the memory backend and on Redis."""
    prefix = f"deco{os.getpid()}"
    aksara.configure(CACHE=cache_settings(request.param, prefix))
    cache = caches["default"]
    await cache.open()
    await cache.clear()
    try:
        yield cache
    finally:
        await cache.clear()
        await caches.close_all()


@pytest.fixture
async def redis_cache() -> AsyncIterator[Cache]:
    """The default cache on Redis, empty."""
    aksara.configure(CACHE=cache_settings("redis", f"deco{os.getpid()}"))
    cache = caches["default"]
    await cache.open()
    await cache.clear()
    try:
        yield cache
    finally:
        await cache.clear()
        await caches.close_all()
