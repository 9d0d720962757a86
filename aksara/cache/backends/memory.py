"""The memory backend: entries in this process, least recently used dropped past
``max_entries``, each with an optional expiry time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aksara.cache.backends.base import Cache
from aksara.cache.codec import CacheValueError

__all__ = ["MemoryCache"]

_Entry = tuple[bytes, float | None]


class MemoryCache(Cache):
    """A bounded LRU of encoded entries, per process (workers do not share it).

    Every operation is O(1) per key and runs without an ``await`` inside, so concurrent
    tasks of the event loop never see it half changed. Values are stored encoded, so a
    caller changing a value it got never changes the cached one.
    """

    backend = "memory"
    is_local = True

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.max_entries: int = options["max_entries"]
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        data, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return data

    def _store(self, key: str, data: bytes, expires: float | None) -> None:
        entries = self._entries
        entries[key] = (data, expires)
        entries.move_to_end(key)
        if len(entries) > self.max_entries:
            entries.popitem(last=False)

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return None if ttl is None else time.monotonic() + ttl

    async def _get(self, key: str) -> bytes | None:
        return self._lookup(key)

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        return [self._lookup(key) for key in keys]

    async def _set(self, key: str, data: bytes, ttl: float | None) -> bool:
        self._store(key, data, self._expiry(ttl))
        return True

    async def _set_many(self, items: list[tuple[str, bytes]], ttl: float | None) -> bool:
        expires = self._expiry(ttl)
        for key, data in items:
            self._store(key, data, expires)
        return True

    async def _add(self, key: str, data: bytes, ttl: float | None) -> bool:
        if self._lookup(key) is not None:
            return False
        self._store(key, data, self._expiry(ttl))
        return True

    async def _delete(self, key: str) -> bool:
        # An expired entry still present counts as gone, as on Redis.
        found = self._lookup(key) is not None
        self._entries.pop(key, None)
        return found

    async def _delete_many(self, keys: list[str]) -> int:
        return sum([await self._delete(key) for key in keys])

    async def _incr(self, key: str, delta: int) -> int:
        data = self._lookup(key)
        if data is None:
            value, expires = delta, None
        else:
            try:
                value = int(data) + delta
            except ValueError:
                raise CacheValueError(
                    f"Cannot incr the cache key {key!r}: it does not hold an integer."
                ) from None
            expires = self._entries[key][1]
        self._store(key, str(value).encode(), expires)
        return value

    async def _touch(self, key: str, ttl: float | None) -> bool:
        data = self._lookup(key)
        if data is None:
            return False
        self._entries[key] = (data, self._expiry(ttl))
        return True

    async def _clear(self) -> None:
        # This store holds this cache's keys alone.
        self._entries.clear()
