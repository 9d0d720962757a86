"""``Cache``: the async cache API over a backend's byte operations, with its counters and
the fail-open guard that turns every backend failure into a miss or a no-op."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from aksara.cache.codec import CacheValueError, Codec, CodecError, codec
from aksara.cache.stats import CacheStats

__all__ = ["Cache"]

logger = logging.getLogger("aksara.cache")
T = TypeVar("T")
_MISSING: Any = object()


class Cache:
    """One configured cache (``caches[alias]``). Every operation fails open: a backend error
    or a timeout is counted, logged at most once a minute, and answered as a miss or no-op.
    """

    backend: ClassVar[str] = ""
    #: True when entries live in this process only (the memory backend).
    is_local: ClassVar[bool] = False
    #: Seconds between two log lines about the same cache's failures.
    log_interval: ClassVar[float] = 60.0
    #: After a connection failure, operations skip the backend this long (seconds), so an
    #: outage costs one timeout now and then instead of one per operation.
    retry_interval: ClassVar[float] = 1.0
    #: The errors that mean the backend is unreachable (they open the retry interval).
    outage_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        self.alias = alias
        self.options = dict(options)
        self.key_prefix: str = options["key_prefix"]
        self.default_ttl: float | None = options.get("default_ttl")
        self.codec: Codec = codec
        self.timeout: float | None = None
        self._prefix: str = self.key_prefix + ":"
        self.hits = self.misses = self.sets = self.deletes = self.errors = 0
        self._down_until = 0.0
        self._failing = False
        self._logged_at = -math.inf
        self._unlogged = 0

    @property
    def redis(self) -> Any:
        """The ``redis.asyncio.Redis`` client (for scripts and pipelines); None for memory."""
        return None

    def make_key(self, key: str) -> str:
        """The backend key of *key*: the cache's ``key_prefix``, a colon, the key."""
        return self._prefix + key

    def stats(self) -> CacheStats:
        """A snapshot of the counters."""
        return CacheStats(self.hits, self.misses, self.sets, self.deletes, self.errors)

    def reset_stats(self) -> None:
        """Set the counters back to zero."""
        self.hits = self.misses = self.sets = self.deletes = self.errors = 0

    # --- values ----------------------------------------------------------------------------

    async def get(self, key: str, default: Any = None) -> Any:
        """The value stored under *key*, or *default*."""
        data = await self.get_raw(key)
        return default if data is None else self._decode(key, data, default)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store *value* for *ttl* seconds (None: the cache's ``default_ttl``, else forever).

        A value the codec cannot store raises :class:`CacheValueError` (a bug, not an outage).
        """
        await self.set_raw(key, self.codec.encode(value), ttl)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Store *value* only if *key* holds nothing; True when it was stored."""
        data, seconds = self.codec.encode(value), self._ttl(ttl)
        if seconds is not None and seconds <= 0:
            return False
        added: bool = await self._guard(self._add(self.make_key(key), data, seconds), False)
        self.sets += added
        return added

    async def get_or_set(
        self, key: str, default: Any | Callable[[], Any], ttl: float | None = None
    ) -> Any:
        """The value under *key*; on a miss, *default* (called, and awaited, if it is a
        callable) is stored and returned."""
        data = await self.get_raw(key)
        if data is not None:
            value = self._decode(key, data, _MISSING)
            if value is not _MISSING:
                return value
        value = default() if callable(default) else default
        if inspect.isawaitable(value):
            value = await value
        await self.set(key, value, ttl)
        return value

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values found among *keys* (missing keys are left out)."""
        keys = list(keys)
        if not keys:
            return {}
        found = await self._guard(self._get_many([self.make_key(k) for k in keys]), None)
        if found is None:
            self.misses += len(keys)
            return {}
        values: dict[str, Any] = {}
        for key, data in zip(keys, found, strict=True):
            if data is None:
                self.misses += 1
                continue
            self.hits += 1
            value = self._decode(key, data, _MISSING)
            if value is not _MISSING:
                values[key] = value
        return values

    async def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        """Store every item of *mapping* (one round trip on Redis)."""
        items = [(self.make_key(key), self.codec.encode(value)) for key, value in mapping.items()]
        seconds = self._ttl(ttl)
        if not items:
            return
        if seconds is not None and seconds <= 0:
            await self._guard(self._delete_many([key for key, _ in items]), 0)
            return
        if await self._guard(self._set_many(items, seconds), False):
            self.sets += len(items)

    async def delete(self, key: str) -> bool:
        """Remove *key*; True when it was there."""
        removed: bool = await self._guard(self._delete(self.make_key(key)), False)
        self.deletes += removed
        return removed

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove *keys*; returns how many were there."""
        backend_keys = [self.make_key(key) for key in keys]
        if not backend_keys:
            return 0
        removed: int = await self._guard(self._delete_many(backend_keys), 0)
        self.deletes += removed
        return removed

    async def incr(self, key: str, delta: int = 1) -> int:
        """Add *delta* to the integer under *key* (a missing key counts as 0) and return it;
        when the backend fails, *delta* is returned."""
        result: int = await self._guard(self._incr(self.make_key(key), delta), delta)
        return result

    async def touch(self, key: str, ttl: float | None = None) -> bool:
        """Give *key* a new time to live; True when the key exists."""
        seconds = self._ttl(ttl)
        if seconds is not None and seconds <= 0:
            return await self.delete(key)
        touched: bool = await self._guard(self._touch(self.make_key(key), seconds), False)
        return touched

    async def clear(self) -> None:
        """Remove every key under this cache's ``key_prefix`` (and no other)."""
        await self._guard(self._clear(), None, bounded=False)

    # --- bytes, for the decorators and invalidation ----------------------------------------

    async def get_raw(self, key: str) -> bytes | None:
        """The bytes stored under *key* (no decoding), or None."""
        data: bytes | None = await self._guard(self._get(self.make_key(key)), None)
        if data is None:
            self.misses += 1
        else:
            self.hits += 1
        return data

    async def set_raw(self, key: str, data: bytes, ttl: float | None = None) -> None:
        """Store encoded *data* under *key* (see :meth:`set` for *ttl*)."""
        seconds = self._ttl(ttl)
        if seconds is not None and seconds <= 0:
            await self._guard(self._delete(self.make_key(key)), False)
        elif await self._guard(self._set(self.make_key(key), data, seconds), False):
            self.sets += 1

    async def run(self, operation: Awaitable[T], fallback: T) -> T:
        """Await *operation* (a call on :attr:`redis`, say) under the cache's fail-open
        guard: within ``timeout_ms``, counted and logged as an error and *fallback* if it fails."""
        return await self._guard(operation, fallback)

    async def open(self) -> None:
        """Make the backend ready (Redis: build the pool and check the server answers)."""

    async def close(self) -> None:
        """Release the backend's connections; the cache opens again on next use."""

    # --- the fail-open guard -------------------------------------------------------------------

    async def _guard(self, operation: Awaitable[T], fallback: T, *, bounded: bool = True) -> T:
        if self._down_until:
            if time.monotonic() < self._down_until:
                if isinstance(operation, Coroutine):
                    operation.close()
                self._failed(None)
                return fallback
            self._down_until = 0.0
        try:
            if self.timeout is None or not bounded:
                result = await operation
            else:
                async with asyncio.timeout(self.timeout):
                    result = await operation
        except (CacheValueError, CodecError):
            raise
        except Exception as error:
            self._failed(error)
            return fallback
        if self._failing:
            self._failing = False
            logger.warning("Cache %r (%s) answers again.", self.alias, self.backend)
        return result

    def _failed(self, error: Exception | None) -> None:
        self.errors += 1
        self._unlogged += 1
        if error is not None:
            self._failing = True
            if isinstance(error, (*self.outage_errors, TimeoutError)):
                self._down_until = time.monotonic() + self.retry_interval
        now = time.monotonic()
        if now - self._logged_at >= self.log_interval:
            self._logged_at = now
            logger.warning(
                "Cache %r (%s) failed, so it serves misses: %s (%d errors since the last "
                "report; logged at most every %.0f s).",
                self.alias,
                self.backend,
                f"{type(error).__name__}: {error}" if error else "backend unreachable",
                self._unlogged,
                self.log_interval,
            )
            self._unlogged = 0

    def _decode(self, key: str, data: bytes, default: Any) -> Any:
        try:
            return self.codec.decode(data)
        except CodecError as error:
            self.hits -= 1
            self.misses += 1
            logger.warning("Cache %r: the entry %r is a miss: %s", self.alias, key, error)
            return default

    def _ttl(self, ttl: float | None) -> float | None:
        return self.default_ttl if ttl is None else ttl

    # --- what a backend implements, on backend keys and bytes ----------------------------

    async def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        raise NotImplementedError

    async def _set(self, key: str, data: bytes, ttl: float | None) -> bool:
        raise NotImplementedError

    async def _set_many(self, items: list[tuple[str, bytes]], ttl: float | None) -> bool:
        raise NotImplementedError

    async def _add(self, key: str, data: bytes, ttl: float | None) -> bool:
        raise NotImplementedError

    async def _delete(self, key: str) -> bool:
        raise NotImplementedError

    async def _delete_many(self, keys: list[str]) -> int:
        raise NotImplementedError

    async def _incr(self, key: str, delta: int) -> int:
        raise NotImplementedError

    async def _touch(self, key: str, ttl: float | None) -> bool:
        raise NotImplementedError

    async def _clear(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.alias!r} prefix={self.key_prefix!r}>"
