"""Two processes sharing Redis and PostgreSQL: one commits a counter in a loop, the other
reads it through the table-versioned cache; the reader never gets a value older than the
last write it saw acknowledged (see ``tests/cache/two_process.py``)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import sys

import pytest

from aksara.cache import Cache
from aksara.db import Database
from tests.cache.conftest import REDIS_URL
from tests.models import Category

ROOT = pathlib.Path(__file__).resolve().parents[2]
WRITES = 300


async def spawn(role: str, database: Database, prefix: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.cache.two_process",
        role,
        database.url,
        REDIS_URL,
        prefix,
        str(WRITES),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_reader_never_serves_a_value_older_than_an_acknowledged_write(
    db: Database, redis_cache: Cache
) -> None:
    await Category.objects.create(name="0")
    reader = await spawn("reader", db, redis_cache.key_prefix)
    writer = await spawn("writer", db, redis_cache.key_prefix)
    async with asyncio.timeout(120):
        (out, err), (_, writer_err) = await asyncio.gather(
            reader.communicate(), writer.communicate()
        )
    assert writer.returncode == 0, writer_err.decode()
    assert reader.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["stale_count"] == 0, report["stale"]
    assert report["final"] == WRITES  # it saw the last write
    # The cache did serve: hits between writes, and computations were stored.
    assert report["hits"] > WRITES, report
    assert report["stored"] > 10, report
