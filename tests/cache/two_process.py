"""The two processes of ``test_two_processes``: ``writer`` commits counter values 1..N to
one row, acknowledging each in Redis once its write call returned; ``reader`` reads the
counter through ``versions.get_fresh``/``set_fresh`` until the writer is done, and reports
every value older than the acknowledgement it had read before asking.

    python -m tests.cache.two_process writer|reader DATABASE_URL REDIS_URL PREFIX COUNT
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import redis.asyncio as redis

import aksara
import tests.models  # noqa: F401 - registers Category
from aksara.cache import Cache, caches, tracking, versions
from tests.models import Category

KEY = "counter"


class Rollback(Exception):
    """Ends a block whose write must never be seen."""


async def write(count: int, client: redis.Redis, acked: str) -> None:
    """Commit 1..count, alternating plain writes, atomic() blocks and rolled-back savepoints."""
    for value in range(1, count + 1):
        if value % 3 == 0:
            await Category.objects.filter(id=1).update(name=str(value))
        else:
            async with aksara.atomic():
                if value % 3 == 1:
                    try:
                        async with aksara.atomic():
                            await Category.objects.filter(id=1).update(name="-1")
                            raise Rollback
                    except Rollback:
                        pass
                await Category.objects.filter(id=1).update(name=str(value))
        # The write call has returned: the write is committed and acknowledged.
        await client.set(acked, value)
        await asyncio.sleep(0.004)


async def read_once(cache: Cache, stats: dict[str, int]) -> int:
    found, value = await versions.get_fresh(cache, KEY)
    if found:
        stats["hits"] += 1
        return int(value)
    token = await versions.begin(cache)
    with tracking() as read:
        value = (await Category.objects.get(id=1)).name
    stats["stored"] += await versions.set_fresh(cache, KEY, value, read.tables, token, 30)
    stats["computed"] += 1
    return int(value)


async def read(cache: Cache, client: redis.Redis, acked: str, done: str) -> dict[str, Any]:
    stats = {"hits": 0, "computed": 0, "stored": 0, "reads": 0}
    stale: list[tuple[int, int]] = []

    async def reader() -> None:
        while True:
            finished = await client.exists(done)
            seen = int(await client.get(acked) or 0)  # read before asking the cache
            value = await read_once(cache, stats)
            stats["reads"] += 1
            if value < seen:
                stale.append((value, seen))
            if finished:
                return

    async with asyncio.timeout(60):
        await asyncio.gather(*(reader() for _ in range(4)))
    final = await read_once(cache, stats)
    return {**stats, "stale": stale[:20], "stale_count": len(stale), "final": final}


async def main(role: str, database_url: str, redis_url: str, prefix: str, count: int) -> None:
    aksara.configure(
        DATABASE_URL=database_url,
        CACHE={"default": {"backend": "redis", "url": redis_url, "key_prefix": prefix}},
    )
    await aksara.connect()
    cache = caches["default"]
    await cache.open()
    client = redis.Redis.from_url(redis_url)
    acked, done = f"{prefix}:test:acked", f"{prefix}:test:done"
    try:
        if role == "writer":
            await write(count, client, acked)
            await client.set(done, 1)
        else:
            print(json.dumps(await read(cache, client, acked, done)))
    finally:
        await client.aclose()
        await caches.close_all()
        await aksara.disconnect()


if __name__ == "__main__":
    role, database_url, redis_url, prefix, count = sys.argv[1:6]
    asyncio.run(main(role, database_url, redis_url, prefix, int(count)))
