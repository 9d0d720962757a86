"""Entries of the cache decorators: a value stored with what makes it stale (see
:mod:`aksara.cache.versions`). Each decorated function has a generation, kept as one more
table version: ``invalidate_all()`` bumps it, and its entries are stale in every process."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aksara.cache import versions

if TYPE_CHECKING:
    from aksara.cache.backends.base import Cache

__all__ = ["begin", "bump", "load", "store"]


async def load(cache: Cache, key: str) -> tuple[bool, Any]:
    """``(True, value)`` for a fresh entry of *key*, else ``(False, None)``: one round trip."""
    return await versions.get_fresh(cache, key)


async def begin(cache: Cache) -> int:
    """The token to store a value computed from now on with."""
    return await versions.begin(cache)


async def store(
    cache: Cache,
    key: str,
    value: Any,
    generation: str,
    token: int,
    tables: Iterable[str],
    ttl: float,
) -> bool:
    """Store *value* under *key* unless the generation or a table in *tables* moved since
    *token*; False when it was not stored."""
    return await versions.set_fresh(cache, key, value, {*tables, generation}, token, ttl)


async def bump(cache: Cache, generation: str) -> None:
    """Make every entry stored under *generation* stale."""
    await versions.bump(cache, [generation])
