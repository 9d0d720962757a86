"""capture_queries: what ran in this task (and the tasks it starts), with the line behind
each query; assert_num_queries / assert_max_queries."""

from __future__ import annotations

import asyncio

import pytest

import aksara
from aksara.db import Database
from aksara.debug import (
    CapturedQuery,
    QueryCapture,
    assert_max_queries,
    assert_num_queries,
    capture_queries,
    detect_n_plus_one,
    profile_queries,
)
from aksara.exceptions import DatabaseError, IntegrityError
from examples.blog.models import Post, User
from examples.blog.seed import seed
from tests.debug.helpers import marked_line

HERE = __file__


def test_public_imports() -> None:
    import aksara.debug

    for name in ("capture_queries", "profile_queries", "detect_n_plus_one"):
        assert name in aksara.debug.__all__
    assert callable(capture_queries)
    assert callable(profile_queries)
    assert callable(detect_n_plus_one)


async def test_spec_snippet_captures_one_plus_n_queries(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    async with capture_queries() as queries:
        posts = await Post.objects.all()  # <spec-all>
        for post in posts:
            author = await post.author  # <spec-author>
            assert author.id == post.author_id

    assert isinstance(queries, QueryCapture)
    assert len(posts) == 10
    assert len(queries) == 1 + len(posts)
    assert all(isinstance(query, CapturedQuery) for query in queries)

    first, *rest = queries
    assert first.sql.startswith("SELECT ")
    assert 'FROM "posts"' in first.sql
    assert list(first.params) == []
    assert first.rows == 10
    assert first.line == marked_line(HERE, "spec-all")

    for query, post in zip(rest, posts, strict=True):
        assert 'FROM "users"' in query.sql
        assert query.params[0] == post.author_id
        assert query.rows == 1
        assert query.line == marked_line(HERE, "spec-author")

    for query in queries:
        assert isinstance(query.duration, float)
        assert 0 < query.duration < 5_000  # milliseconds
        assert query.file == HERE
        assert query.function == "test_spec_snippet_captures_one_plus_n_queries"
        assert query.location == f"{HERE}:{query.line}"
        assert query.database == db.name
        assert query.error is None

    # Indexing and slicing work like a list; total_time sums the durations.
    assert queries[0] is first
    assert queries[1:] == rest
    assert queries.total_time == pytest.approx(sum(q.duration for q in queries))
    assert f"1. {first.sql} (" in queries.report()
    assert f"{HERE}:{marked_line(HERE, 'spec-author')}" in queries.report()


async def test_nothing_is_captured_outside_the_block(db: Database) -> None:
    await User.objects.count()
    async with capture_queries() as queries:
        await User.objects.filter(name="inside").count()
    await User.objects.filter(name="after").count()
    assert len(queries) == 1
    assert list(queries[0].params) == ["inside"]


async def test_transaction_control_is_left_out_unless_asked(db: Database) -> None:
    async def work() -> None:
        async with aksara.atomic():
            await User.objects.count()
            async with aksara.atomic():
                await Post.objects.count()

    async with capture_queries() as plain:
        await work()
    assert [query.sql for query in plain] == [
        'SELECT COUNT(*) FROM "users"',
        'SELECT COUNT(*) FROM "posts"',
    ]

    async with capture_queries(include_transaction_control=True) as everything:
        await work()
    heads = [query.sql.split()[0].upper() for query in everything]
    assert heads == ["BEGIN", "SELECT", "SAVEPOINT", "SELECT", "RELEASE", "COMMIT"]


async def test_rolled_back_transaction_control_is_included_when_asked(db: Database) -> None:
    async with capture_queries(include_transaction_control=True) as queries:
        with pytest.raises(RuntimeError):
            async with aksara.atomic():
                await User.objects.create(name="gone", email="gone@example.com")
                raise RuntimeError("roll back")
    heads = [query.sql.split()[0].upper() for query in queries]
    assert heads == ["BEGIN", "INSERT", "ROLLBACK"]
    assert await User.objects.count() == 0


async def test_captures_nest(db: Database) -> None:
    async with capture_queries() as outer:
        await User.objects.filter(name="a").count()
        async with capture_queries() as inner:
            await User.objects.filter(name="b").count()
            await User.objects.filter(name="c").count()
        await User.objects.filter(name="d").count()
    assert [q.params[0] for q in outer] == ["a", "b", "c", "d"]
    assert [q.params[0] for q in inner] == ["b", "c"]


async def test_gathered_tasks_are_captured(db: Database) -> None:
    await seed(users=4, posts=0, comments=0)
    ids = [user.id for user in await User.objects.order_by("id")]

    async def load(user_id: int) -> str:
        user = await User.objects.get(id=user_id)  # <gathered>
        return user.name

    async with capture_queries() as queries:
        names = await asyncio.gather(*(load(user_id) for user_id in ids))
        task = asyncio.create_task(User.objects.filter(name="task").count())
        assert await task == 0
    assert names == [f"User {i}" for i in range(4)]
    assert len(queries) == 5
    gathered = [q for q in queries if q.function == "load"]
    assert sorted(q.params[0] for q in gathered) == ids
    assert all(q.file == HERE and q.line == marked_line(HERE, "gathered") for q in gathered)
    assert list(queries[-1].params) == ["task"]


async def test_a_task_started_before_the_block_is_not_captured(db: Database) -> None:
    go = asyncio.Event()
    finished = asyncio.Event()

    async def background() -> None:
        await go.wait()
        for i in range(3):
            await User.objects.filter(name=f"background{i}").count()
        finished.set()

    task = asyncio.create_task(background())  # its context is copied now, outside the block
    try:
        async with capture_queries() as queries:
            go.set()
            await User.objects.filter(name="mine").count()
            await asyncio.wait_for(finished.wait(), timeout=10)
            await User.objects.filter(name="mine again").count()
    finally:
        await task
    assert [list(q.params) for q in queries] == [["mine"], ["mine again"]]


async def test_concurrent_captures_see_only_their_own_queries(db: Database) -> None:
    async def worker(name: str) -> list[str]:
        async with capture_queries() as queries:
            for i in range(5):
                await User.objects.filter(name=f"{name}{i}").count()
                await asyncio.sleep(0)
        return [q.params[0] for q in queries]

    first, second = await asyncio.gather(worker("x"), worker("y"))
    assert first == [f"x{i}" for i in range(5)]
    assert second == [f"y{i}" for i in range(5)]


async def test_failed_statements_are_captured_with_their_error(db: Database) -> None:
    await User.objects.create(name="taken", email="taken@example.com")
    async with capture_queries() as queries:
        with pytest.raises(IntegrityError) as duplicate:
            await User.objects.create(name="again", email="taken@example.com")  # <dup>
        with pytest.raises(DatabaseError) as syntax:
            await db.fetch("SELEKT 1")
        assert await User.objects.count() == 1
    assert len(queries) == 3
    insert, bad, count = queries
    assert insert.sql.startswith('INSERT INTO "users"')
    assert insert.error is duplicate.value
    assert insert.rows == 0
    assert insert.file == HERE
    assert insert.line == marked_line(HERE, "dup")
    assert "taken@example.com" in insert.params
    assert bad.sql == "SELEKT 1"
    assert bad.error is syntax.value
    assert count.error is None
    assert count.rows == 1


# --- assert_num_queries / assert_max_queries -------------------------------------------


async def test_assert_num_queries_passes_on_the_exact_count(db: Database) -> None:
    async with assert_num_queries(2) as queries:
        await User.objects.count()
        await Post.objects.count()
    assert len(queries) == 2

    async with assert_num_queries(0):
        pass


async def test_assert_num_queries_fails_on_more_listing_the_queries(db: Database) -> None:
    with pytest.raises(AssertionError) as info:
        async with assert_num_queries(1):
            await User.objects.filter(name="one").count()
            await Post.objects.filter(title="two").count()
    message = str(info.value)
    assert "Expected 1 queries, 2 ran" in message
    assert 'SELECT COUNT(*) FROM "users"' in message
    assert 'SELECT COUNT(*) FROM "posts"' in message
    assert HERE in message


async def test_assert_num_queries_fails_on_fewer(db: Database) -> None:
    with pytest.raises(AssertionError, match="Expected 3 queries, 1 ran") as info:
        async with assert_num_queries(3):
            await User.objects.count()
    assert 'SELECT COUNT(*) FROM "users"' in str(info.value)


async def test_assert_num_queries_ignores_transaction_control(db: Database) -> None:
    async with assert_num_queries(1), aksara.atomic():
        await User.objects.count()


async def test_assert_max_queries(db: Database) -> None:
    async with assert_max_queries(2) as queries:
        await User.objects.count()
        await Post.objects.count()
    assert len(queries) == 2

    async with assert_max_queries(2):
        await User.objects.count()

    with pytest.raises(AssertionError) as info:
        async with assert_max_queries(2):
            await User.objects.filter(name="a").count()
            await User.objects.filter(name="b").count()
            await Post.objects.filter(title="c").count()
    message = str(info.value)
    assert "Expected at most 2 queries, 3 ran" in message
    assert 'SELECT COUNT(*) FROM "users"' in message
    assert 'SELECT COUNT(*) FROM "posts"' in message


async def test_an_error_in_the_block_propagates_unchanged(db: Database) -> None:
    with pytest.raises(KeyError):
        async with assert_num_queries(5):
            await User.objects.count()
            raise KeyError("mine")
