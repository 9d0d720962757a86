"""The ORM behind a real PgBouncer in transaction mode (started by the test on its own
port, two server connections shared by every client): ``"pgbouncer": True`` keeps asyncpg
from naming prepared statements, which another client's transaction would not find."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

import aksara
from aksara.conf import POOL_DEFAULTS
from aksara.db import atomic, get_database
from aksara.exceptions import DatabaseError
from aksara.orm.schema import create_tables
from tests.conftest import IN_CI
from tests.db.pgcluster import Cluster, ClusterError, pgbouncer
from tests.models import Category

POOL = {**POOL_DEFAULTS, "min_size": 1, "max_size": 4, "acquire_timeout": 10.0}


@pytest.fixture(scope="module")
def bouncer(cluster: Cluster) -> Iterator[int]:
    """The port of a PgBouncer (transaction mode, two server connections) on the primary."""
    try:
        with pgbouncer(cluster, pool_size=2) as port:
            yield port
            return
    except ClusterError as error:
        if IN_CI:
            pytest.fail(f"PgBouncer did not start (CI requires it): {error}")
        pytest.skip(f"PgBouncer did not start: {error}")


async def _through(port: int, *, option: bool) -> None:
    aksara.configure(
        DATABASES={
            "default": {
                "url": f"postgresql://postgres@127.0.0.1:{port}/postgres",
                "pool": POOL,
                "pgbouncer": option,
            }
        }
    )
    await aksara.connect()


@pytest.fixture
async def table(cluster: Cluster) -> AsyncIterator[None]:
    """Category's table on the primary, empty."""
    aksara.configure(DATABASES={"default": {"url": cluster.primary_url, "pool": POOL}})
    database = await aksara.connect()
    await create_tables([Category], database=database)
    await database.execute(f'TRUNCATE "{Category._meta.table_name}" CASCADE')
    await aksara.disconnect()
    aksara.configure(DATABASES=None)
    yield


async def _workload(worker: int) -> int:
    """Writes and reads of one worker, some in transactions; the rows it saw."""
    for step in range(5):
        name = f"w{worker}-{step}"
        if step % 2:
            async with atomic():
                row = await Category.objects.create(name=name)
                assert (await Category.objects.get(pk=row.pk)).name == name
        else:
            row = await Category.objects.create(name=name)
        assert await Category.objects.filter(name=name).count() == 1
        assert await Category.objects.get(name=name) == row
    return await Category.objects.filter(name__startswith=f"w{worker}-").count()


async def test_the_orm_works_through_pgbouncer_in_transaction_mode(
    bouncer: int, table: None
) -> None:
    await _through(bouncer, option=True)
    assert get_database().pgbouncer
    seen = await asyncio.gather(*(_workload(worker) for worker in range(6)))
    assert seen == [5] * 6
    assert await Category.objects.count() == 30


async def test_without_the_option_named_statements_collide(bouncer: int, table: None) -> None:
    await _through(bouncer, option=False)
    # Every worker runs to its end (no task outlives the test).
    outcomes = await asyncio.gather(
        *(_workload(worker) for worker in range(6)), return_exceptions=True
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert failures, "named prepared statements survived transaction pooling"
    assert all(isinstance(failure, DatabaseError) for failure in failures), failures
    assert any("prepared statement" in str(failure) for failure in failures), failures
