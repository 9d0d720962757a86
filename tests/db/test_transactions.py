"""``atomic()`` and ``connection()``: commit, rollback, savepoints, pinning, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars

import pytest

import aksara
from aksara.db import Database, in_atomic_block
from aksara.db.database import current_binding
from aksara.exceptions import TransactionError
from examples.blog.models import User
from tests.db.helpers import gather_all, insert_sql, own_pool, scratch_table, wait_until


class Boom(Exception):
    pass


async def _user_emails() -> list[str]:
    return sorted(await User.objects.values_list("email", flat=True))


async def _connection_identity(db: Database) -> object:
    """Which connection the statement ran on: the backend pid, or (SQLite, which has no
    session id) a TEMP table that only the connection that created it can see."""
    if db.name == "postgresql":
        return await db.fetchval("SELECT pg_backend_pid()")
    return await db.fetchval("SELECT 'pinned' FROM pinned_marker")


# --- commit and rollback -----------------------------------------------------------------


async def test_atomic_commits_on_success(db: Database) -> None:
    async with aksara.atomic():
        await User.objects.create(name="Ada", email="ada@example.com")
        await User.objects.create(name="Bob", email="bob@example.com")
    assert await _user_emails() == ["ada@example.com", "bob@example.com"]
    assert db.pool_status().in_use == 0


async def test_atomic_rolls_back_on_exception(db: Database) -> None:
    with pytest.raises(Boom):
        async with aksara.atomic():
            await User.objects.create(name="Ada", email="ada@example.com")
            await User.objects.create(name="Bob", email="bob@example.com")
            assert await User.objects.count() == 2  # visible inside the transaction
            raise Boom
    assert await User.objects.count() == 0
    assert db.pool_status().in_use == 0


async def test_atomic_as_decorator(db: Database) -> None:
    @aksara.atomic()
    async def create_two(fail: bool) -> None:
        await User.objects.create(name="Ada", email="ada@example.com")
        if fail:
            raise Boom
        await User.objects.create(name="Bob", email="bob@example.com")

    with pytest.raises(Boom):
        await create_two(True)
    assert await User.objects.count() == 0
    await create_two(False)
    assert await User.objects.count() == 2


async def test_nested_atomic_failure_discards_only_the_inner_work(db: Database) -> None:
    async with aksara.atomic():
        await User.objects.create(name="Outer", email="outer@example.com")
        with pytest.raises(Boom):
            async with aksara.atomic():
                await User.objects.create(name="Inner", email="inner@example.com")
                assert await User.objects.count() == 2
                raise Boom
        assert await _user_emails() == ["outer@example.com"]
        async with aksara.atomic():
            await User.objects.create(name="Second", email="second@example.com")
    assert await _user_emails() == ["outer@example.com", "second@example.com"]


async def test_three_levels_of_savepoints(db: Database) -> None:
    async with aksara.atomic():
        await User.objects.create(name="L1", email="l1@example.com")
        async with aksara.atomic():
            await User.objects.create(name="L2", email="l2@example.com")
            with pytest.raises(Boom):
                async with aksara.atomic():
                    await User.objects.create(name="L3", email="l3@example.com")
                    raise Boom
            async with aksara.atomic():
                await User.objects.create(name="L3b", email="l3b@example.com")
    assert await _user_emails() == ["l1@example.com", "l2@example.com", "l3b@example.com"]


async def test_outer_failure_discards_committed_inner_blocks(db: Database) -> None:
    with pytest.raises(Boom):
        async with aksara.atomic():
            async with aksara.atomic():
                await User.objects.create(name="Inner", email="inner@example.com")
            raise Boom
    assert await User.objects.count() == 0


async def test_in_atomic_block(db: Database) -> None:
    assert not in_atomic_block()
    async with db.connection():
        assert not in_atomic_block()
        async with aksara.atomic():
            assert in_atomic_block()
            assert in_atomic_block(db)
    async with aksara.atomic():
        assert in_atomic_block()
    assert not in_atomic_block()


# --- one connection per atomic block, shared with the tasks it starts --------------------


async def test_tasks_gathered_inside_atomic_share_its_connection(db: Database) -> None:
    async with aksara.atomic():
        await User.objects.create(name="Ada", email="ada@example.com")
        if db.name == "sqlite":
            await db.execute("CREATE TEMP TABLE pinned_marker (x INTEGER)")
            await db.execute("INSERT INTO pinned_marker VALUES (1)")
        outer = await _connection_identity(db)

        async def child(i: int) -> tuple[object, int, int]:
            await asyncio.sleep(0.001 * (i % 3))
            # On SQLite this fails with "no such table" on any other connection.
            identity = await _connection_identity(db)
            return identity, await User.objects.count(), db.pool_status().in_use

        results = await gather_all(*(child(i) for i in range(10)))

        assert all(count == 1 for _, count, _ in results)  # the uncommitted row is visible
        assert {identity for identity, _, _ in results} == {outer}
        assert all(in_use == 1 for _, _, in_use in results)  # nobody took another connection
        if db.name == "sqlite":
            await db.execute("DROP TABLE pinned_marker")
    assert await User.objects.count() == 1


async def test_uncommitted_rows_are_invisible_to_other_connections(db: Database) -> None:
    async def count_elsewhere() -> int:
        return await User.objects.count()

    async with aksara.atomic():
        await User.objects.create(name="Ada", email="ada@example.com")
        # A task with a context of its own uses another pooled connection.
        outside = asyncio.create_task(count_elsewhere(), context=contextvars.Context())
        assert await outside == 0
        assert await User.objects.count() == 1
    assert await count_elsewhere() == 1


async def test_task_outliving_its_atomic_block_is_refused(db: Database) -> None:
    started = asyncio.Event()

    async def late() -> int:
        started.set()
        await asyncio.sleep(0.05)
        return await User.objects.count()

    async with aksara.atomic():
        task = asyncio.create_task(late())
        await started.wait()
    with pytest.raises(TransactionError, match="already exited"):
        await task
    assert db.pool_status().in_use == 0


async def test_connection_block_pins_one_connection(db: Database) -> None:
    async with db.connection() as binding:
        assert current_binding() is binding
        if db.name == "postgresql":
            pids = {await db.fetchval("SELECT pg_backend_pid()") for _ in range(5)}
            assert len(pids) == 1
        else:
            await db.execute("CREATE TEMP TABLE pinned_connection (x INTEGER)")
            for _ in range(5):
                assert await db.fetchval("SELECT count(*) FROM pinned_connection") == 0
            await db.execute("DROP TABLE pinned_connection")
        async with db.connection() as again:  # nested blocks reuse the pinned connection
            assert again is binding
        assert db.pool_status().in_use == 1
        assert not binding.connection.in_transaction
    assert current_binding() is None
    assert db.pool_status().in_use == 0


async def test_concurrent_atomic_blocks_in_separate_tasks_are_independent(db: Database) -> None:
    async def writer(name: str, fail: bool) -> str:
        try:
            async with aksara.atomic():
                await User.objects.create(name=name, email=f"{name}@example.com")
                await asyncio.sleep(0.02)
                if fail:
                    raise Boom
        except Boom:
            return "rolled back"
        return "committed"

    outcomes = await gather_all(
        writer("a", False), writer("b", True), writer("c", False), writer("d", True)
    )
    assert outcomes == ["committed", "rolled back", "committed", "rolled back"]
    assert await _user_emails() == ["a@example.com", "c@example.com"]
    assert db.pool_status().in_use == 0


async def test_nested_atomic_blocks_in_gathered_tasks_are_isolated(database_url: str) -> None:
    """Tasks gathered inside atomic() each open a nested block (a savepoint).

    One child's failure must undo only that child's work, and a child that succeeded
    keeps its work, whatever the order the blocks exit in; a child that writes without a
    block of its own is not caught in a sibling's savepoint either.
    """
    async with own_pool(database_url, max_size=2) as db, scratch_table(db) as table:
        insert = insert_sql(db, table)

        async def child(i: int, *, fail: bool, hold: float) -> str:
            try:
                async with aksara.atomic():
                    await db.execute(insert, [i, f"child {i}"])
                    await asyncio.sleep(hold)
                    if fail:
                        raise Boom
            except Boom:
                return "rolled back"
            return "committed"

        async def plain_child() -> str:
            await asyncio.sleep(0.005)  # while child 1's savepoint is open
            await db.execute(insert, [5, "no block of its own"])
            return "written"

        async with aksara.atomic():
            await db.execute(insert, [0, "outer"])
            outcomes = await asyncio.gather(
                child(1, fail=True, hold=0.06),  # opens first, fails last
                child(2, fail=False, hold=0.01),
                child(3, fail=False, hold=0.03),
                child(4, fail=True, hold=0.02),
                plain_child(),
                return_exceptions=True,
            )
        assert outcomes == ["rolled back", "committed", "committed", "rolled back", "written"]
        rows = await db.fetch(f"SELECT id FROM {table} ORDER BY id")
        assert [row[0] for row in rows] == [0, 2, 3, 5]
        assert db.pool_status().in_use == 0


async def test_sibling_write_is_not_undone_by_a_failed_nested_block(database_url: str) -> None:
    """The smallest case: one gathered task's nested block fails while a sibling task
    writes without a block of its own; the sibling's row must survive the outer commit."""
    async with own_pool(database_url, max_size=2) as db, scratch_table(db) as table:
        insert = insert_sql(db, table)
        savepoint_open = asyncio.Event()

        async def failing() -> None:
            with contextlib.suppress(Boom):
                async with aksara.atomic():
                    await db.execute(insert, [1, "undone"])
                    savepoint_open.set()
                    await asyncio.sleep(0.05)
                    raise Boom

        async def sibling() -> None:
            await savepoint_open.wait()
            await db.execute(insert, [2, "sibling"])

        async with aksara.atomic():
            await gather_all(failing(), sibling())
        rows = await db.fetch(f"SELECT id FROM {table} ORDER BY id")
        assert [row[0] for row in rows] == [2]


# --- connections go back to the pool clean -------------------------------------------------


async def test_connection_released_mid_transaction_is_rolled_back(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
        async with db.connection() as binding:
            await db.execute(db.dialect.begin_statement)
            assert await db.execute(insert_sql(db, table), [1, "never committed"]) == 1
            assert binding.connection.in_transaction
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 1
        assert db.pool_status().in_use == 0

        # max_size is 1: this is the very connection that was left in the transaction.
        async with db.connection() as binding:
            assert not binding.connection.in_transaction
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0

        # And it works normally afterwards.
        async with aksara.atomic():
            await db.execute(insert_sql(db, table), [2, "committed"])
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 1


async def test_releasing_mid_transaction_reports_no_loop_error(database_url: str) -> None:
    """The documented rollback-on-release must not go through the event loop's exception
    handler (asyncpg reports 'Resetting connection with an active transaction' there when
    the pool itself has to roll back)."""
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    try:
        async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
            async with db.connection():
                await db.execute(db.dialect.begin_statement)
                await db.execute(insert_sql(db, table), [1, "never committed"])
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


async def test_failed_statement_inside_connection_block_does_not_poison_the_pool(
    database_url: str,
) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
        with pytest.raises(aksara.DatabaseError):
            async with db.connection():
                await db.execute(db.dialect.begin_statement)
                await db.execute(insert_sql(db, table), [1, "x"])
                await db.execute("SELECT * FROM no_such_table_anywhere")
        async with db.connection() as binding:
            assert not binding.connection.in_transaction
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_task_cancelled_inside_atomic_leaves_the_pool_clean(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
        inserted = asyncio.Event()

        async def worker() -> None:
            async with aksara.atomic():
                await db.execute(insert_sql(db, table), [1, "doomed"])
                inserted.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(worker())
        await inserted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert db.pool_status().in_use == 0
        async with db.connection() as binding:
            assert not binding.connection.in_transaction
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0
        async with aksara.atomic():
            await db.execute(insert_sql(db, table), [2, "kept"])
        assert await db.fetchval(f"SELECT label FROM {table}") == "kept"


async def test_task_cancelled_during_a_statement_inside_atomic(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
        inserted = asyncio.Event()
        slow = (
            "SELECT pg_sleep(5)"
            if db.name == "postgresql"
            else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 3000000) SELECT count(*) FROM c"
        )

        async def worker() -> None:
            async with aksara.atomic():
                await db.execute(insert_sql(db, table), [1, "doomed"])
                inserted.set()
                await db.fetch(slow)

        task = asyncio.create_task(worker())
        await inserted.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        async with asyncio.timeout(4):
            with pytest.raises(asyncio.CancelledError):
                await task
        await wait_until(lambda: db.pool_status().in_use == 0)
        async with asyncio.timeout(4), db.connection() as binding:
            assert not binding.connection.in_transaction
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0
