"""Session state left by user SQL never reaches the next user of a pooled connection, and the
ORM's own statements cost no reset."""

from __future__ import annotations

import pytest

from aksara.db import Database
from examples.blog.models import User
from tests.db.helpers import own_pool, unique_name

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _pg_session(db: Database) -> dict[str, object]:
    """What the next user of the (only) connection sees of earlier session state."""
    return {
        "pid": await db.fetchval("SELECT pg_backend_pid()"),
        "search_path": await db.fetchval("SHOW search_path"),
        "statement_timeout": await db.fetchval("SHOW statement_timeout"),
        "advisory_locks": await db.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ),
        "listening": await db.fetchval("SELECT count(*) FROM pg_listening_channels()"),
        "temp_tables": await db.fetchval(
            "SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND pg_table_is_visible(oid)"
        ),
    }


async def _pg_dirty(db: Database, temp: str) -> None:
    await db.execute("SET search_path TO pg_catalog")
    await db.execute("SET statement_timeout = '4321s'")
    await db.fetchval("SELECT pg_advisory_lock(424242)")
    await db.execute("LISTEN aksara_session_test")
    await db.execute(f"CREATE TEMP TABLE {temp} (x int)")


@postgresql_only
async def test_raw_sql_session_state_is_reset_before_the_next_user(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db:
        clean = await _pg_session(db)
        assert clean["advisory_locks"] == clean["listening"] == clean["temp_tables"] == 0

        # Pooled statements: each goes back to the pool between them.
        await _pg_dirty(db, unique_name("temp"))
        assert await _pg_session(db) == clean  # the same backend, with none of it left

        # Pinned: the state lives until the block gives the connection back.
        async with db.connection() as binding:
            await _pg_dirty(db, unique_name("temp"))
            assert await db.fetchval("SHOW search_path") == "pg_catalog"
            assert binding.connection.dirty
        assert await _pg_session(db) == clean

        # A lock a raw statement took is free for everyone else at once.
        other = Database(database_url, db.pool_options)
        try:
            await db.fetchval("SELECT pg_advisory_lock(424243)")
            assert await other.fetchval("SELECT pg_try_advisory_lock(424243)") is True
        finally:
            await other.close()


@sqlite_only
async def test_raw_pragma_and_temp_table_never_reach_the_next_user(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db:
        temp = unique_name("temp")
        async with db.connection() as binding:
            await db.execute("PRAGMA foreign_keys = OFF")
            await db.execute(f"CREATE TEMP TABLE {temp} (x int)")
            assert binding.connection.dirty
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert (
            await db.fetchval(f"SELECT count(*) FROM sqlite_temp_master WHERE name = '{temp}'") == 0
        )

        await db.execute("PRAGMA case_sensitive_like = OFF")  # pooled, not pinned
        assert await db.fetchval("SELECT 'a' LIKE 'A'") == 0


async def test_orm_statements_leave_the_connection_clean(db: Database) -> None:
    """The ORM's statements promise to keep session state: no reset after them."""
    async with db.connection() as binding:
        user = await User.objects.create(name="Ada", email="ada@example.com")
        await User.objects.get(pk=user.pk)
        await User.objects.filter(name="Ada").update(name="Ada L.")
        assert await User.objects.count() == 1
        await User.objects.filter(pk=user.pk).delete()
        assert not binding.connection.dirty
        await db.fetchval("SELECT 1")
        assert binding.connection.dirty == (db.name == "postgresql")
        await db.fetchval("PRAGMA foreign_keys" if db.name == "sqlite" else "SHOW search_path")
        assert binding.connection.dirty
