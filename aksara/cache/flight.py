"""Single flight: concurrent misses of one key compute once. In the process they share one
task; across processes sharing Redis, the first takes a short lock (``SET NX PX``) and the
others poll for its result a little while, then compute anyway rather than wait forever."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aksara.cache.backends.base import Cache

__all__ = ["Flights", "cross_process_lock"]

T = TypeVar("T")

#: How long a lock holds when its owner dies without releasing it.
LOCK_MS = 5000
#: How long the others wait for the lock owner's result before computing it themselves.
WAIT_SECONDS = 1.0
POLL_SECONDS = 0.02

_FAILED: Any = object()
_RELEASE = """
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
"""


class Flights:
    """The computations in flight in this process, by key."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[Any]] = {}

    async def run(self, key: str, compute: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """*compute*'s result, and whether this caller started it; callers arriving while it
        runs share it. Cancelling one caller does not cancel the computation the others await."""
        task = self.running.get(key)
        leader = task is None
        if task is None:
            task = asyncio.ensure_future(compute())
            self.running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        result: T = await asyncio.shield(task)
        return result, leader

    def _forget(self, key: str, task: asyncio.Task[Any]) -> None:
        if self.running.get(key) is task:
            del self.running[key]
        # A failure nobody awaits any more (every caller cancelled) is still retrieved.
        if not task.cancelled():
            task.exception()


async def cross_process_lock(
    cache: Cache, key: str, ready: Callable[[], Awaitable[tuple[bool, Any]]]
) -> tuple[bool, Any, Callable[[], Awaitable[None]] | None]:
    """Take the lock of *key* on the cache's Redis, or wait for its owner's result.

    Returns ``(found, value, release)``: a value found while waiting, or the function that
    releases the lock taken (None when no lock was taken: no Redis, an error, a timeout).
    """
    client = cache.redis
    if client is None:
        return False, None, None
    lock = cache.make_key(f"lock:{key}")
    token = os.urandom(8).hex()
    # Under the cache's fail-open guard: a failure is computing without the lock.
    taken: Any = await cache.run(client.set(lock, token, nx=True, px=LOCK_MS), _FAILED)
    if taken is _FAILED:
        return False, None, None
    if taken:

        async def release() -> None:
            # Only the owner's token is deleted: a lock that expired and was taken by
            # another process stays with it.
            await cache.run(client.eval(_RELEASE, 1, lock, token), 0)

        return False, None, release
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        found, value = await ready()
        if found:
            return True, value, None
    return False, None, None
