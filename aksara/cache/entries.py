"""Entries of the cache decorators: a value stored with what makes it stale. Each decorated
function has a generation (``invalidate_all()`` moves it); an entry stored under an older
generation, or before a committed write to a table its computation read, is a miss."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aksara.cache.backends.base import Cache

__all__ = ["begin", "bump", "load", "store"]


async def load(cache: Cache, key: str, generation: str) -> tuple[bool, Any]:
    """``(True, value)`` for a fresh entry of *key*, else ``(False, None)``: one round trip."""
    found = await cache.get_many([generation, key])
    entry: Any = found.get(key)
    if type(entry) not in (list, tuple) or len(entry) != 2:
        return False, None
    if entry[0] != (found.get(generation) or 0):
        return False, None
    return True, entry[1]


async def begin(cache: Cache, generation: str) -> Any:
    """The token to store a value computed from now on with: what it must still match."""
    return await cache.get(generation) or 0


async def store(
    cache: Cache,
    key: str,
    value: Any,
    generation: str,
    token: Any,
    tables: Iterable[str],
    ttl: float,
) -> bool:
    """Store *value* under *key* unless something it depends on moved since *token*."""
    await cache.set(key, [token, value], ttl=ttl)
    return True


async def bump(cache: Cache, generation: str) -> None:
    """Make every entry stored under *generation* stale."""
    await cache.incr(generation)
