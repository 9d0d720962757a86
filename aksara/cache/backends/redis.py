"""The Redis backend: ``redis.asyncio`` over a blocking pool of ``pool_size`` connections,
each command bounded by ``timeout_ms`` (connect, socket and pool wait alike)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from aksara.cache.backends.base import Cache
from aksara.cache.codec import CacheValueError
from aksara.conf import mask_url

__all__ = ["RedisCache"]

_GLOB = re.compile(r"([*?\[\]\\])")
_CLEAR_BATCH = 1000


def _milliseconds(ttl: float) -> int:
    return max(1, round(ttl * 1000))


class RedisCache(Cache):
    """A cache shared by every process that uses the same Redis ``url`` and ``key_prefix``.

    The client is built on first use and again after :meth:`close` or in another event loop
    (a pool's connections belong to the loop that opened them).
    """

    backend = "redis"
    outage_errors = (RedisConnectionError, RedisTimeoutError, OSError)

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.url: str = options["url"]
        self.pool_size: int = options["pool_size"]
        self.timeout = options["timeout_ms"] / 1000
        self._client: redis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def redis(self) -> redis.Redis:
        """The ``redis.asyncio.Redis`` client of this cache (for scripts and pipelines)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            pool = redis.BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.pool_size,
                timeout=self.timeout,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                # Never retried: a failed command is a miss, answered within timeout_ms.
                retry=Retry(NoBackoff(), 0),
            )
            self._client = redis.Redis(connection_pool=pool)
            self._loop = loop
        return self._client

    async def open(self) -> None:
        """Build the pool and check that the server answers (a failure is logged, not raised)."""
        await self._guard(self.redis.ping(), None)

    async def close(self) -> None:
        """Close the pool's connections."""
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose(close_connection_pool=True)

    async def _get(self, key: str) -> bytes | None:
        return cast("bytes | None", await self.redis.get(key))

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        return cast("list[bytes | None]", await self.redis.mget(keys))

    async def _set(self, key: str, data: bytes, ttl: float | None) -> bool:
        expiry = None if ttl is None else _milliseconds(ttl)
        return bool(await self.redis.set(key, data, px=expiry))

    async def _set_many(self, items: list[tuple[str, bytes]], ttl: float | None) -> bool:
        expiry = None if ttl is None else _milliseconds(ttl)
        async with self.redis.pipeline(transaction=False) as pipeline:
            for key, data in items:
                pipeline.set(key, data, px=expiry)
            await pipeline.execute()
        return True

    async def _add(self, key: str, data: bytes, ttl: float | None) -> bool:
        expiry = None if ttl is None else _milliseconds(ttl)
        return bool(await self.redis.set(key, data, px=expiry, nx=True))

    async def _delete(self, key: str) -> bool:
        return bool(await self.redis.delete(key))

    async def _delete_many(self, keys: list[str]) -> int:
        removed: int = await self.redis.delete(*keys)
        return removed

    async def _incr(self, key: str, delta: int) -> int:
        try:
            value: int = await self.redis.incrby(key, delta)
        except ResponseError as error:
            raise CacheValueError(
                f"Cannot incr the cache key {key!r}: it does not hold an integer ({error})."
            ) from None
        return value

    async def _touch(self, key: str, ttl: float | None) -> bool:
        if ttl is not None:
            return bool(await self.redis.pexpire(key, _milliseconds(ttl)))
        async with self.redis.pipeline(transaction=False) as pipeline:
            pipeline.exists(key)
            pipeline.persist(key)
            exists, _ = await pipeline.execute()
        return bool(exists)

    async def _clear(self) -> None:
        # SCAN + UNLINK in batches: the server never blocks on one huge command, and keys
        # outside the prefix (glob characters in it escaped) are never touched.
        pattern = _GLOB.sub(r"\\\1", self._prefix) + "*"
        batch: list[bytes] = []
        async for key in self.redis.scan_iter(match=pattern, count=_CLEAR_BATCH):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                await self.redis.unlink(*batch)
                batch = []
        if batch:
            await self.redis.unlink(*batch)

    def __repr__(self) -> str:
        return f"<RedisCache {self.alias!r} {mask_url(self.url)} prefix={self.key_prefix!r}>"
