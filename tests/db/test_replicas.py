"""Several databases and read replicas: ``DATABASES``, ``using()``, routing with
read-your-writes, and replica health (down, back, lagging) against a real streaming replica
the tests start themselves (see tests/db/pgcluster.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import aksara
from aksara.conf import POOL_DEFAULTS, settings
from aksara.db import atomic, databases, get_database, replica_monitor
from aksara.debug import capture_queries, metrics
from aksara.exceptions import ConfigurationError
from aksara.orm.schema import create_tables
from tests.db.pgcluster import Cluster
from tests.models import Category

TABLE = Category._meta.table_name
POOL = {**POOL_DEFAULTS, "min_size": 1, "max_size": 3, "acquire_timeout": 5.0}


async def _until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 15.0) -> None:
    """Wait (polling) until *check* holds; fail naming *what* after *limit* seconds."""
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"waited {limit}s in vain: {what}")
        await asyncio.sleep(0.05)


async def _aliases_of(action: Callable[[], Awaitable[Any]]) -> list[str]:
    async with capture_queries() as queries:
        await action()
    return [query.alias for query in queries]


async def _in_own_task(action: Awaitable[Any]) -> Any:
    """Run *action* in a task of its own, so its writes do not pin this task's reads."""

    async def run() -> Any:
        return await action

    return await asyncio.create_task(run())


# Several databases ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[None]:
    """DATABASES with "default" and "analytics" (two SQLite files, or two PostgreSQL
    databases of the test cluster's primary), Category's table on both, connected."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'default.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"]
    else:
        running: Cluster = request.getfixturevalue("cluster")
        admin = await asyncpg.connect(running.primary_url)
        try:
            for name in ("aksara_main", "aksara_analytics"):
                await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()
        base = running.primary_url.rsplit("/", 1)[0]
        urls = [f"{base}/aksara_main", f"{base}/aksara_analytics"]
    aksara.configure(
        DATABASES={
            "default": {"url": urls[0], "pool": POOL},
            "analytics": {"url": urls[1], "pool": POOL},
        }
    )
    await aksara.connect()
    for alias in ("default", "analytics"):
        await create_tables([Category], database=get_database(alias))
    yield


async def test_using_reads_and_writes_the_named_database(two_databases: None) -> None:
    await Category.objects.using("analytics").create(name="metrics")
    await Category.objects.create(name="home")
    assert await Category.objects.using("analytics").values_list("name", flat=True) == ["metrics"]
    assert await Category.objects.values_list("name", flat=True) == ["home"]
    only = await Category.objects.using("analytics").get(name="metrics")
    assert await Category.objects.using("analytics").count() == 1
    aliases = await _aliases_of(lambda: Category.objects.using("analytics").get(pk=only.pk))
    assert aliases == ["analytics"]
    with pytest.raises(Category.DoesNotExist):
        await Category.objects.get(name="metrics")


async def test_save_and_delete_using(two_databases: None) -> None:
    row = Category(name="copied")
    await row.save(using="analytics")
    assert await Category.objects.using("analytics").filter(name="copied").exists()
    assert not await Category.objects.filter(name="copied").exists()
    row.name = "renamed"
    aliases = await _aliases_of(lambda: row.save(using="analytics"))
    assert aliases == ["analytics"]
    assert await Category.objects.using("analytics").values_list("name", flat=True) == ["renamed"]
    assert await row.delete(using="analytics") == 1
    assert await Category.objects.using("analytics").count() == 0
    await Category.objects.using("analytics").bulk_create([Category(name="a"), Category(name="b")])
    assert await Category.objects.using("analytics").filter(name="a").update(name="c") == 1
    assert await Category.objects.using("analytics").filter(name="b").delete() == 1
    assert await Category.objects.using("analytics").values_list("name", flat=True) == ["c"]
    assert await Category.objects.count() == 0


async def test_atomic_using_commits_and_rolls_back_on_its_database(two_databases: None) -> None:
    async with atomic(using="analytics"):
        await Category.objects.using("analytics").create(name="kept")
    with pytest.raises(RuntimeError):
        async with atomic(using="analytics"):
            await Category.objects.using("analytics").create(name="undone")
            assert await Category.objects.using("analytics").count() == 2
            raise RuntimeError("roll back")
    assert await Category.objects.using("analytics").values_list("name", flat=True) == ["kept"]

    @atomic(using="analytics")
    async def failing() -> None:
        await Category.objects.using("analytics").create(name="also undone")
        raise KeyError("no")

    with pytest.raises(KeyError):
        await failing()
    assert await Category.objects.using("analytics").count() == 1
    assert await Category.objects.count() == 0


async def test_unknown_alias_lists_the_valid_ones(two_databases: None) -> None:
    with pytest.raises(ConfigurationError, match="Valid aliases: default, analytics"):
        Category.objects.using("analytic")
    with pytest.raises(ConfigurationError, match="analytics"):
        atomic(using="nope")
    with pytest.raises(ConfigurationError, match="Valid aliases"):
        await Category(name="x").save(using="nope")
    assert sorted(databases) == ["analytics", "default"]


def test_databases_and_its_shorthand_together_are_refused() -> None:
    entry = {"default": {"url": "sqlite:///:memory:"}}
    with pytest.raises(ConfigurationError, match="both DATABASES and DATABASE_URL"):
        aksara.configure(DATABASES=entry, DATABASE_URL="sqlite:///other.sqlite3")
    aksara.configure(DATABASES=entry)
    with pytest.raises(ConfigurationError, match="DATABASES is in force"):
        aksara.configure(DATABASE_URL="sqlite:///other.sqlite3")
    with pytest.raises(ConfigurationError, match="'default' entry"):
        aksara.configure(DATABASES={"main": {"url": "sqlite:///:memory:"}})
    with pytest.raises(ConfigurationError, match=r"Valid keys: max_lag, pgbouncer, pool, url"):
        aksara.configure(DATABASES={"default": {"url": "sqlite:///:memory:", "lag": 1}})


async def test_read_replicas_must_name_a_database(tmp_path: Path) -> None:
    aksara.configure(
        DATABASES={"default": {"url": f"sqlite:///{tmp_path / 'a.sqlite3'}"}},
        READ_REPLICAS=["replica"],
    )
    with pytest.raises(ConfigurationError, match=r"READ_REPLICAS names 'replica'.*default"):
        get_database()


class _AnalyticsReads:
    """Reads of Category from "analytics", writes left to the default."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return "analytics" if model is Category else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None


async def test_routers_choose_the_database_of_reads(two_databases: None) -> None:
    await Category.objects.using("analytics").create(name="routed")
    aksara.configure(DATABASE_ROUTERS=[_AnalyticsReads()])
    await aksara.disconnect()  # routing is built with the databases
    await _in_own_task(Category.objects.create(name="written"))
    names = await _in_own_task(Category.objects.values_list("name", flat=True))
    assert names == ["routed"]
    aliases = await _in_own_task(_aliases_of(lambda: Category.objects.count()))
    assert aliases == ["analytics"]
    assert await Category.objects.using("default").values_list("name", flat=True) == ["written"]


# Read replicas -------------------------------------------------------------------------


@pytest.fixture
async def replicated(cluster: Cluster) -> AsyncIterator[Cluster]:
    """DATABASES on the cluster (the replica in READ_REPLICAS, checked every 0.1 s),
    connected, with Category's table on the primary, empty, and its emptiness replicated."""
    aksara.configure(
        DATABASES={
            "default": {"url": cluster.primary_url, "pool": POOL},
            "replica": {"url": cluster.replica_url, "pool": POOL, "max_lag": 1.0},
        },
        READ_REPLICAS=["replica"],
        REPLICA_CHECK_INTERVAL=0.1,
    )
    await aksara.connect()
    primary, replica = get_database("default"), get_database("replica")
    await create_tables([Category], database=primary)
    await primary.execute(f'TRUNCATE "{TABLE}" CASCADE')

    async def replicated_empty() -> bool:
        try:
            return await replica.fetchval(f'SELECT count(*) FROM "{TABLE}"') == 0
        except Exception:
            return False

    await _until(replicated_empty, "the replica has the empty table")
    monitor = replica_monitor()
    assert monitor is not None

    async def healthy() -> bool:
        return monitor.healthy == ("replica",)

    await _until(healthy, "the replica is healthy")
    yield cluster


async def _replicated(name: str) -> None:
    replica = get_database("replica")

    async def there() -> bool:
        count = await replica.fetchval(f'SELECT count(*) FROM "{TABLE}" WHERE name = $1', [name])
        return bool(count)

    await _until(there, f"{name!r} reached the replica")


async def test_reads_go_to_the_replica_and_writes_to_the_primary(replicated: Cluster) -> None:
    created = await _in_own_task(Category.objects.create(name="news"))
    await _replicated("news")

    async def reads() -> None:
        assert (await Category.objects.get(pk=created.pk)).name == "news"
        assert await Category.objects.filter(name="news").count() == 1
        assert await Category.objects.values_list("name", flat=True) == ["news"]

    assert await _in_own_task(_aliases_of(reads)) == ["replica", "replica", "replica"]
    by_alias = metrics()["databases"]
    assert set(by_alias) == {"default", "replica"}
    assert by_alias["replica"]["queries"] >= 3
    assert by_alias["replica"]["database"] == "postgresql"
    # A write goes to the primary; the same task's reads then follow it there.
    created.name = "sport"
    aliases = await _aliases_of(created.save)
    assert aliases == ["default"]
    assert await _aliases_of(lambda: Category.objects.get(pk=created.pk)) == ["default"]
    assert (await Category.objects.get(pk=created.pk)).name == "sport"


async def test_reads_inside_atomic_see_the_uncommitted_write(replicated: Cluster) -> None:
    async def in_block() -> list[str]:
        async with atomic():
            row = await Category.objects.create(name="pending")
            async with capture_queries() as queries:
                assert (await Category.objects.get(pk=row.pk)).name == "pending"
                assert await Category.objects.count() == 1
        return [query.alias for query in queries]

    assert await _in_own_task(in_block()) == ["default", "default"]

    async def read_only_block() -> list[str]:
        async with atomic():
            return await _aliases_of(Category.objects.count)

    assert await _in_own_task(read_only_block()) == ["default"]


async def test_a_write_pins_only_its_own_task(replicated: Cluster) -> None:
    await _in_own_task(Category.objects.create(name="seed"))
    await _replicated("seed")
    wrote = asyncio.Event()

    async def writer() -> list[str]:
        await Category.objects.create(name="writer")
        wrote.set()
        return await _aliases_of(Category.objects.count)

    async def reader() -> list[str]:
        await wrote.wait()
        return await _aliases_of(Category.objects.count)

    writes, reads = await asyncio.gather(writer(), reader())
    assert writes == ["default"]
    assert reads == ["replica"]


async def test_sticky_seconds_bound_how_long_reads_follow_a_write(replicated: Cluster) -> None:
    aksara.configure(REPLICA_STICKY_SECONDS=0.3)

    async def task() -> tuple[list[str], list[str]]:
        await Category.objects.create(name="sticky")
        right_after = await _aliases_of(Category.objects.count)
        await asyncio.sleep(0.4)
        later = await _aliases_of(Category.objects.count)
        return right_after, later

    assert await _in_own_task(task()) == (["default"], ["replica"])


async def test_a_stopped_replica_is_skipped_and_used_again_once_back(
    replicated: Cluster,
) -> None:
    monitor = replica_monitor()
    assert monitor is not None
    await _in_own_task(Category.objects.create(name="kept"))
    await _replicated("kept")
    await asyncio.to_thread(replicated.pg_ctl, "replica", "stop")
    try:

        async def skipped() -> bool:
            return monitor.healthy == ()

        await _until(skipped, "the stopped replica is skipped")
        assert monitor.status["replica"].error is not None
        reads = await _in_own_task(_aliases_of(Category.objects.count))
        assert reads == ["default"]
        assert await _in_own_task(Category.objects.values_list("name", flat=True)) == ["kept"]
    finally:
        await asyncio.to_thread(replicated.pg_ctl, "replica", "start")

    async def back() -> bool:
        return monitor.healthy == ("replica",)

    await _until(back, "the restarted replica is used again")
    assert await _in_own_task(_aliases_of(Category.objects.count)) == ["replica"]
    assert await _in_own_task(Category.objects.values_list("name", flat=True)) == ["kept"]


async def test_a_lagging_replica_is_skipped_until_it_catches_up(replicated: Cluster) -> None:
    monitor = replica_monitor()
    assert monitor is not None
    control = await asyncpg.connect(replicated.replica_url)
    try:
        await control.execute("SELECT pg_wal_replay_pause()")
        await _in_own_task(Category.objects.create(name="late"))

        async def lagging() -> bool:
            return monitor.healthy == ()

        await _until(lagging, "the paused replica is skipped")
        lag = monitor.status["replica"].lag
        assert lag is not None and lag > 1.0
        assert "max_lag" in (monitor.status["replica"].error or "")
        # Reads fall back to the primary, which has the row the replica lacks.
        assert await _in_own_task(Category.objects.values_list("name", flat=True)) == ["late"]
        assert await control.fetchval(f'SELECT count(*) FROM "{TABLE}"') == 0
    finally:
        await control.execute("SELECT pg_wal_replay_resume()")
        await control.close()

    async def caught_up() -> bool:
        return monitor.healthy == ("replica",)

    await _until(caught_up, "the replica is used again once it caught up")
    assert await _in_own_task(_aliases_of(Category.objects.count)) == ["replica"]
    assert await _in_own_task(Category.objects.values_list("name", flat=True)) == ["late"]


async def test_without_replicas_every_read_is_the_default_database(tmp_path: Path) -> None:
    aksara.configure(DATABASE_URL=f"sqlite:///{tmp_path / 'one.sqlite3'}")
    await aksara.connect()
    await create_tables([Category])
    assert replica_monitor() is None
    await Category.objects.create(name="solo")
    assert await _aliases_of(Category.objects.count) == ["default"]
    assert settings.DATABASES is None


async def test_a_read_finding_the_replica_gone_runs_on_the_primary(replicated: Cluster) -> None:
    monitor = replica_monitor()
    assert monitor is not None
    await monitor.stop()  # no background check: the read itself must notice
    await _in_own_task(Category.objects.create(name="there"))
    await _replicated("there")
    await asyncio.to_thread(replicated.pg_ctl, "replica", "stop")
    try:
        assert monitor.healthy == ("replica",)
        async with capture_queries() as queries:
            names = await _in_own_task(Category.objects.values_list("name", flat=True))
        assert names == ["there"]
        assert [query.alias for query in queries][-1] == "default"
        assert queries[0].alias == "replica" and queries[0].error is not None
        assert monitor.healthy == ()
        assert await _in_own_task(_aliases_of(Category.objects.count)) == ["default"]
        # A write is never sent elsewhere: it does not go to a replica in the first place.
        assert await _in_own_task(_aliases_of(Category.objects.filter(name="x").delete)) == [
            "default"
        ]
    finally:
        await asyncio.to_thread(replicated.pg_ctl, "replica", "start")
    assert await monitor.check() == ("replica",)
    assert await _in_own_task(_aliases_of(Category.objects.count)) == ["replica"]
