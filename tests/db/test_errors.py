"""Driver errors come out as Aksara's exceptions, with the constraint named where known."""

from __future__ import annotations

import time

import pytest

import aksara
from aksara.db import Database
from aksara.exceptions import DatabaseError, IntegrityError
from examples.blog.models import Post, User
from tests.db.helpers import gather_all, insert_sql, own_pool, scratch_table, slow_sql


def _user_insert(db: Database) -> str:
    p = db.dialect.placeholder
    return (
        "INSERT INTO users (name, email, is_active, created_at) "
        f"VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)})"
    )


def _user_params(db: Database, name: str | None, email: str) -> list[object]:
    created = "2024-01-01T00:00:00+00:00"
    if db.name == "postgresql":
        from datetime import datetime

        return [name, email, True, datetime.fromisoformat(created)]
    return [name, email, 1, created]


# --- unique ------------------------------------------------------------------------------


async def test_unique_violation_through_the_orm(db: Database) -> None:
    await User.objects.create(name="Ada", email="ada@example.com")
    with pytest.raises(IntegrityError) as info:
        await User.objects.create(name="Other Ada", email="ada@example.com")
    assert info.value.constraint == "users_email_key"
    assert isinstance(info.value, aksara.DatabaseError)
    assert info.value.__cause__ is not None  # the driver's exception is chained
    assert await User.objects.count() == 1


async def test_unique_violation_through_raw_sql(db: Database) -> None:
    assert await db.execute(_user_insert(db), _user_params(db, "Ada", "ada@example.com")) == 1
    with pytest.raises(IntegrityError) as info:
        await db.execute(_user_insert(db), _user_params(db, "Bob", "ada@example.com"))
    assert info.value.constraint == "users_email_key"
    assert await db.fetchval("SELECT count(*) FROM users") == 1


# --- foreign key -------------------------------------------------------------------------


async def test_foreign_key_violation_through_the_orm(db: Database) -> None:
    with pytest.raises(IntegrityError) as info:
        await Post.objects.create(title="Orphan", slug="orphan", author_id=987654)
    assert info.value.constraint == "posts_author_id_fkey"
    assert await Post.objects.count() == 0


async def test_foreign_key_violation_through_raw_sql(db: Database) -> None:
    p = db.dialect.placeholder
    sql = (
        "INSERT INTO posts (title, slug, content, metadata, author_id, is_published, "
        f"view_count, created_at) VALUES ({p(1)}, {p(2)}, '', '{{}}', {p(3)}, "
        f"{'false' if db.name == 'postgresql' else '0'}, 0, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError) as info:
        await db.execute(sql, ["Orphan", "orphan", 987654])
    if db.name == "postgresql":
        assert info.value.constraint == "posts_author_id_fkey"
    else:
        # SQLite's message does not name the constraint; raw SQL has no model to ask.
        assert "FOREIGN KEY" in str(info.value)
    assert await db.fetchval("SELECT count(*) FROM posts") == 0


async def test_deleting_a_referenced_row_cascades(db: Database) -> None:
    author = await User.objects.create(name="Ada", email="ada@example.com")
    await Post.objects.create(title="One", slug="one", author=author)
    await author.delete()
    assert await Post.objects.count() == 0  # ON DELETE CASCADE (foreign keys are enforced)


# --- not null ----------------------------------------------------------------------------


async def test_not_null_violation_through_raw_sql(db: Database) -> None:
    with pytest.raises(IntegrityError) as info:
        await db.execute(_user_insert(db), _user_params(db, None, "ada@example.com"))
    assert info.value.constraint == "users_name_not_null"
    assert await db.fetchval("SELECT count(*) FROM users") == 0


# --- nothing half-written ----------------------------------------------------------------


async def test_integrity_error_inside_atomic_leaves_nothing_half_written(db: Database) -> None:
    await User.objects.create(name="Existing", email="taken@example.com")
    with pytest.raises(IntegrityError) as info:
        async with aksara.atomic():
            author = await User.objects.create(name="Ada", email="ada@example.com")
            await Post.objects.create(title="One", slug="one", author=author)
            await User.objects.create(name="Dup", email="taken@example.com")
    assert info.value.constraint == "users_email_key"
    assert await _emails() == ["taken@example.com"]
    assert await Post.objects.count() == 0
    assert db.pool_status().in_use == 0


async def test_integrity_error_caught_in_nested_atomic_keeps_the_outer_work(
    db: Database,
) -> None:
    await User.objects.create(name="Existing", email="taken@example.com")
    async with aksara.atomic():
        await User.objects.create(name="Ada", email="ada@example.com")
        with pytest.raises(IntegrityError):
            async with aksara.atomic():
                await User.objects.create(name="Dup", email="taken@example.com")
        # The transaction is still usable (on PostgreSQL only thanks to the savepoint).
        await User.objects.create(name="Bob", email="bob@example.com")
    assert await _emails() == ["ada@example.com", "bob@example.com", "taken@example.com"]


async def test_bulk_write_failing_midway_inside_atomic_rolls_back_all(db: Database) -> None:
    emails = [f"user{i}@example.com" for i in range(5)]
    with pytest.raises(IntegrityError):
        async with aksara.atomic():
            for email in [*emails, "user2@example.com"]:
                await User.objects.create(name="U", email=email)
    assert await User.objects.count() == 0


async def _emails() -> list[str]:
    return sorted(await User.objects.values_list("email", flat=True))


# --- other errors ------------------------------------------------------------------------


async def test_syntax_error_is_a_database_error_and_the_pool_survives(db: Database) -> None:
    for _ in range(10):  # more failures than pooled connections
        with pytest.raises(DatabaseError) as info:
            await db.fetch("SELEKT 1")
        assert not isinstance(info.value, IntegrityError)
        assert info.value.__cause__ is not None
    with pytest.raises(DatabaseError):
        await db.execute("INSERT INTO no_such_table VALUES (1)")
    assert db.pool_status().in_use == 0
    assert await gather_all(*(db.fetchval("SELECT 1") for _ in range(10))) == [1] * 10


async def test_error_inside_connection_block_with_raw_transaction(database_url: str) -> None:
    async with own_pool(database_url, min_size=1, max_size=1) as db, scratch_table(db) as table:
        await db.execute(insert_sql(db, table), [1, "first"])
        with pytest.raises(IntegrityError):
            async with db.connection():
                await db.execute(db.dialect.begin_statement)
                await db.execute(insert_sql(db, table), [2, "second"])
                await db.execute(insert_sql(db, table), [1, "duplicate key"])
        rows = await db.fetch(f"SELECT id FROM {table} ORDER BY id")
        assert [row[0] for row in rows] == [1]


async def test_command_timeout_stops_a_slow_statement(database_url: str) -> None:
    """DATABASE_POOL["command_timeout"] bounds every statement, on both backends, and the
    error is one of Aksara's."""
    async with own_pool(database_url, min_size=1, max_size=1, command_timeout=0.2) as db:
        sql = slow_sql(db, seconds=3, sqlite_rows=4_000_000)
        start = time.perf_counter()
        with pytest.raises(DatabaseError):
            await db.fetch(sql)
        assert time.perf_counter() - start < 1.0
        assert db.pool_status().in_use == 0
        assert await db.fetchval("SELECT 1") == 1
