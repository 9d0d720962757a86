"""The connection pools of both backends: concurrency, exhaustion, cancellation, recycling."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

import aksara
from aksara.db import Database, PoolStatus
from tests.db.helpers import (
    gather_all,
    own_pool,
    slow_sql,
    unique_name,
    wait_until,
    with_application_name,
)

REPO_ROOT = Path(aksara.__file__).resolve().parents[1]


# --- many concurrent queries ------------------------------------------------------------


async def test_200_gathered_queries_never_open_more_than_max_size(db: Database) -> None:
    assert db.pool_status().max_size == 5
    p = db.dialect.placeholder
    if db.name == "postgresql":
        sql = f"SELECT {p(1)}::int, pg_backend_pid() FROM pg_sleep(0.01)"
    else:
        # A few milliseconds of work, so that queries really overlap.
        cte = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)"
        sql = f"{cte} SELECT {p(1)}, count(*) FROM c"

    samples: list[PoolStatus] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            samples.append(db.pool_status())
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(monitor())
    try:
        with aksara.db.listen(lambda event: samples.append(db.pool_status())):
            rows = await gather_all(*(db.fetchrow(sql, [i]) for i in range(200)))
    finally:
        done.set()
        await watcher

    assert [row[0] for row in rows] == list(range(200))
    assert len(samples) >= 200
    assert max(s.size for s in samples) <= 5
    assert max(s.in_use for s in samples) <= 5
    # The queries did run side by side, on more than one connection.
    assert max(s.in_use for s in samples) > 1
    if db.name == "postgresql":
        pids = {row[1] for row in rows}
        assert 1 < len(pids) <= 5
    else:
        assert rows[0][1] == 20000
    status = db.pool_status()
    assert status.in_use == 0
    assert 1 < status.size <= 5


# --- exhaustion ---------------------------------------------------------------------------


async def test_exhausted_pool_raises_pool_timeout_error(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=2, acquire_timeout=0.2) as db:
        release = asyncio.Event()

        async def hold() -> int:
            async with db.connection():
                value: int = await db.fetchval("SELECT 1")
                await release.wait()
                return value

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        try:
            await wait_until(lambda: db.pool_status().in_use == 2)

            start = time.perf_counter()
            with pytest.raises(aksara.PoolTimeoutError) as info:
                await db.fetchval("SELECT 1")
            elapsed = time.perf_counter() - start
            assert 0.15 <= elapsed < 2.0
            assert 'DATABASE_POOL["max_size"]' in str(info.value)
            assert "2 connections" in str(info.value)
            assert isinstance(info.value, aksara.DatabaseError)

            # Pinning a connection and opening a transaction wait the same way.
            with pytest.raises(aksara.PoolTimeoutError, match=r'DATABASE_POOL\["max_size"\]'):
                async with db.connection():
                    pass
            with pytest.raises(aksara.PoolTimeoutError):
                async with aksara.atomic():
                    pass
            with pytest.raises(aksara.PoolTimeoutError):
                await db.execute("SELECT 1")
        finally:
            release.set()
            assert await gather_all(*holders) == [1, 1]

        # Nothing was left waiting or in use; the pool serves queries again.
        assert db.pool_status().in_use == 0
        values = await gather_all(*(db.fetchval("SELECT 2") for _ in range(6)))
        assert values == [2] * 6
        assert db.pool_status().size <= 2


async def test_waiting_query_gets_the_connection_released_in_time(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1, acquire_timeout=3.0) as db:
        release = asyncio.Event()

        async def hold() -> None:
            async with db.connection():
                await db.fetchval("SELECT 1")
                await release.wait()

        holder = asyncio.create_task(hold())
        await wait_until(lambda: db.pool_status().in_use == 1)
        waiting = asyncio.create_task(db.fetchval("SELECT 7"))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        release.set()
        async with asyncio.timeout(2):
            assert await waiting == 7
        await holder
        assert db.pool_status() == PoolStatus(1, 0, 1, 1)


# --- cancellation ------------------------------------------------------------------------


async def test_cancelling_100_in_flight_queries_leaves_the_pool_usable(database_url: str) -> None:
    application_name = unique_name("aksara_cancel")
    url = with_application_name(database_url, application_name)
    async with own_pool(url, min_size=3, max_size=3, acquire_timeout=5.0) as db:
        assert db.pool_status().size == 3  # every connection exists before the storm
        sql = slow_sql(db, seconds=5, sqlite_rows=3_000_000)
        tasks = [asyncio.create_task(db.fetchval(sql)) for _ in range(100)]
        await wait_until(lambda: db.pool_status().in_use == 3)
        await asyncio.sleep(0.1)  # the three statements are running on the server / thread
        assert not any(task.done() for task in tasks)

        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)

        status = db.pool_status()
        assert status.in_use == 0
        assert status.size <= 3

        # A cancelled statement must not keep its connection busy: max_size concurrent
        # queries afterwards run at once, one on each pooled connection.
        try:
            async with asyncio.timeout(0.75):
                await _one_query_per_connection(db, application_name, sql)
        except TimeoutError:
            pytest.fail("the pool's connections were still busy with the cancelled statements")
        assert db.pool_status().in_use == 0


async def _one_query_per_connection(db: Database, application_name: str, sql: str) -> None:
    """Run three concurrent queries, which need all three pooled connections."""
    if db.name == "postgresql":
        pids = await gather_all(
            *(db.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.05)") for _ in range(3))
        )
        assert len(set(pids)) == 3
        # The server stopped the cancelled statements too.
        still_running = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = $1 AND state = 'active' AND query = $2",
            [application_name, sql],
        )
        assert still_running == 0
    else:
        p = db.dialect.placeholder
        values = await gather_all(*(db.fetchval(f"SELECT {p(1)}", [i]) for i in range(3)))
        assert values == [0, 1, 2]


async def test_cancelling_queries_while_connections_open_leaks_nothing(
    database_url: str,
) -> None:
    """Queries cancelled while the pool is still opening their connection.

    Every connection the pool started to open must be closed (or kept in the pool): an
    aiosqlite connection dropped unclosed warns ``ResourceWarning`` when collected.
    """
    async with own_pool(database_url, min_size=0, max_size=4) as db:
        threads_before = threading.active_count()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(16):
                tasks = [asyncio.create_task(db.fetchval("SELECT 1")) for _ in range(4)]
                await asyncio.sleep(step * 0.0007)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # A cancel landing while release() waits on a shielded settle (the rollback
                # after a cancelled statement) leaves that settle to finish on its own: wait
                # for it, boundedly, rather than racing it.
                for _ in range(200):
                    if db.pool_status().in_use == 0:
                        break
                    await asyncio.sleep(0.01)
                assert db.pool_status().in_use == 0
                await db.close()  # the next round opens fresh connections
            await db.open()
            assert await db.fetchval("SELECT 1") == 1
            await db.close()
            await asyncio.sleep(0.05)
            gc.collect()
        leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
        assert leaked == [], [str(w.message) for w in leaked]
        await wait_until(lambda: threading.active_count() <= threads_before, within=2.0)


# --- recycling ---------------------------------------------------------------------------


async def _connection_identities(db: Database, count: int) -> list[object]:
    """The backend behind each of *count* successive statements (pid, or driver object)."""
    identities: list[object] = []
    for _ in range(count):
        async with db.connection() as binding:
            if db.name == "postgresql":
                identities.append(await db.fetchval("SELECT pg_backend_pid()"))
            else:
                assert await db.fetchval("SELECT 1") == 1
                identities.append(binding.connection.raw)  # kept alive: identities stay unique
    return identities


def _runs(identities: list[object]) -> list[int]:
    """Lengths of the runs of the same backend, in order."""
    runs: list[int] = []
    previous: object = object()
    for identity in identities:
        if identity is previous or identity == previous:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = identity
    return runs


async def test_max_queries_recycles_the_connection(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1, max_queries=3) as db:
        identities = await _connection_identities(db, 10)
        # Each backend serves three statements, then a new one replaces it.
        assert _runs(identities) == [3, 3, 3, 1]
        distinct = []
        for identity in identities:
            if not any(identity is seen or identity == seen for seen in distinct):
                distinct.append(identity)
        assert len(distinct) == 4
        assert db.pool_status().size == 1


async def test_connections_are_reused_below_max_queries(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1, max_queries=1000) as db:
        identities = await _connection_identities(db, 10)
        assert _runs(identities) == [10]


# --- closing -----------------------------------------------------------------------------


async def test_close_closes_connections_that_were_in_use(database_url: str) -> None:
    """``close()`` waits for connections in use (Backend.close's contract): none survives,
    and the statement that was running finishes normally."""
    async with own_pool(database_url, min_size=1, max_size=2) as db:
        backend = db.backend
        try:
            running = asyncio.create_task(
                db.fetchval(slow_sql(db, seconds=0.3, sqlite_rows=400_000))
            )
            await wait_until(lambda: db.pool_status().in_use == 1)
            try:
                async with asyncio.timeout(2):
                    await db.close()
            except TimeoutError:
                pytest.fail("Database.close() hung while a statement was running")
            async with asyncio.timeout(3):
                (outcome,) = await asyncio.gather(running, return_exceptions=True)
            assert not isinstance(outcome, BaseException), repr(outcome)
            await asyncio.sleep(0.05)
            assert db.pool_status().size == 0
            assert db.pool_status().in_use == 0
        finally:
            # Do not leak a connection into later tests if the pool kept one.
            idle = getattr(backend, "_idle", None)
            while idle:
                await idle.popleft().raw.close()


async def test_process_exits_without_disconnect(database_url: str, tmp_path: Path) -> None:
    """A script that forgets ``await aksara.disconnect()`` still exits promptly."""
    url = with_application_name(database_url, unique_name("aksara_exit"))
    script = tmp_path / "forgetful.py"
    script.write_text(
        "import asyncio, sys\n"
        "import aksara\n"
        "async def main():\n"
        "    aksara.configure(DATABASE_URL=sys.argv[1])\n"
        "    db = await aksara.connect()\n"
        "    print(await db.fetchval('SELECT 1'), flush=True)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONWARNINGS": "ignore"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(tmp_path),
    )
    try:
        async with asyncio.timeout(3):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        pytest.fail("the process did not exit within 3s: a pool thread keeps it alive")
    assert process.returncode == 0, stderr.decode()
    assert stdout.strip() == b"1"
