"""Write-aware invalidation: entries stored with versions of the tables their computation
read go stale when a write to one of them commits (never before, never on rollback), on
both backends and both databases; a write racing a computation keeps it from being stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aksara import atomic, get_database
from aksara.cache import Cache, tracking, versions
from aksara.db import Database
from examples.blog.models import Comment, Post, Tag, User
from tests.models import Category

KEY = "overview"


async def overview() -> list[Any]:
    """A value computed from posts, their authors and tags, and comments."""
    posts = await Post.objects.select_related("author").prefetch_related("tags").order_by("id")
    comments = await Comment.objects.count()
    return [[p.title, p.author.name, [t.name for t in p.tags]] for p in posts] + [comments]


async def store(cache: Cache, compute: Callable[[], Awaitable[Any]] = overview) -> bool:
    token = await versions.begin(cache)
    with tracking() as read:
        value = await compute()
    assert not read.unknown
    return await versions.set_fresh(cache, KEY, value, read.tables, token, 60)


async def fresh(cache: Cache) -> bool:
    found, _ = await versions.get_fresh(cache, KEY)
    return found


async def seed() -> tuple[User, Post, Tag]:
    user = await User.objects.create(name="ann", email="ann@example.com")
    post = await Post.objects.create(title="first", slug="first", author=user)
    tag = await Tag.objects.create(name="news")
    await post.tags.add(tag)
    await Comment.objects.create(post=post, author=user, body="hi")
    return user, post, tag


async def test_tracking_names_the_tables_read(db: Database) -> None:
    await seed()
    with tracking() as read:
        await overview()
    assert read.tables == {"posts", "users", "posts_tags", "tags", "comments"}
    assert not read.unknown
    with tracking() as read:
        await asyncio.gather(Category.objects.count(), db.fetch("SELECT 1 AS one"))
    assert read.tables == {"categories"} and not read.unknown  # child tasks tracked
    with tracking() as read:
        await db.fetch("SELECT count(*) FROM users")
    assert read.unknown  # a raw source that cannot be told


async def test_a_stored_entry_is_fresh_until_a_table_it_read_is_written(
    db: Database, any_cache: Cache
) -> None:
    await seed()
    assert not await fresh(any_cache)
    assert await store(any_cache)
    found, value = await versions.get_fresh(any_cache, KEY)
    assert found and value == [["first", "ann", ["news"]], 1]
    await Category.objects.create(name="elsewhere")
    assert await fresh(any_cache)  # a table it did not read
    await Comment.objects.filter(body="hi").update(body="changed")
    assert not await fresh(any_cache)


async def _add_new_tag(post: Post) -> None:
    await post.tags.add(await Tag.objects.create(name="c"))


async def _save(user: User, post: Post, tag: Tag) -> None:
    post.title = "renamed"
    await post.save()


WRITES: dict[str, Callable[[User, Post, Tag], Awaitable[Any]]] = {
    "save": _save,
    "create": lambda u, p, t: Post.objects.create(title="two", slug="two", author=u),
    "update": lambda u, p, t: User.objects.filter(id=u.id).update(name="bob"),
    "delete": lambda u, p, t: t.delete(),
    "queryset_delete": lambda u, p, t: Comment.objects.all().delete(),
    "bulk_create": lambda u, p, t: Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")]),
    "bulk_update": lambda u, p, t: Post.objects.bulk_update([p], ["view_count"]),
    "m2m_add": lambda u, p, t: _add_new_tag(p),
    "m2m_remove": lambda u, p, t: p.tags.remove(t),
    "m2m_set": lambda u, p, t: p.tags.set([]),
    "m2m_clear": lambda u, p, t: p.tags.clear(),
    "get_or_create": lambda u, p, t: Tag.objects.get_or_create(name="new"),
    "update_or_create": lambda u, p, t: Tag.objects.update_or_create(
        name="news", defaults={"name": "old"}
    ),
    "cascade": lambda u, p, t: u.delete(),
    "raw_update": lambda u, p, t: _raw_update(u),
}


async def _raw_update(user: User) -> int:
    database = get_database()
    p = database.dialect.placeholder
    return await database.execute(
        f"UPDATE users SET name = {p(1)} WHERE id = {p(2)}", ["x", user.id]
    )


@pytest.mark.parametrize("kind", sorted(WRITES))
async def test_each_kind_of_write_invalidates(db: Database, any_cache: Cache, kind: str) -> None:
    user, post, tag = await seed()
    assert await store(any_cache)
    assert await fresh(any_cache)
    await WRITES[kind](user, post, tag)
    assert not await fresh(any_cache)


async def test_inside_atomic_fresh_until_the_commit(db: Database, any_cache: Cache) -> None:
    user, post, _ = await seed()
    assert await store(any_cache)
    async with atomic():
        post.title = "inside"
        await post.save()
        async with atomic():
            await Comment.objects.create(post=post, author=user, body="more")
        assert await fresh(any_cache)  # nothing committed yet: others still read the old rows
    assert not await fresh(any_cache)


async def test_a_rolled_back_write_invalidates_nothing(db: Database, any_cache: Cache) -> None:
    _, post, _ = await seed()
    assert await store(any_cache)
    with pytest.raises(RuntimeError):
        async with atomic():
            await Post.objects.filter(id=post.id).update(title="never")
            raise RuntimeError
    assert await fresh(any_cache)
    async with atomic():
        await Category.objects.create(name="kept")
        with pytest.raises(RuntimeError):
            async with atomic():
                await Post.objects.filter(id=post.id).update(title="never")
                raise RuntimeError
    assert await fresh(any_cache)  # the savepoint's write was rolled back


def during(write: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """overview(), with *write* committed by another task (another request: its context is
    not tracked) after the computation read its rows and before it is stored."""
    go = asyncio.Event()

    async def writer() -> None:
        await go.wait()
        await write()

    task = asyncio.create_task(writer())

    async def compute() -> list[Any]:
        value = await overview()
        go.set()
        await task
        return value

    return compute


async def test_a_write_committed_during_the_computation_is_not_stored(
    db: Database, any_cache: Cache
) -> None:
    _, post, _ = await seed()
    racing = during(lambda: Post.objects.filter(id=post.id).update(title="meanwhile"))
    assert not await store(any_cache, racing)  # it read the old title
    assert not await fresh(any_cache)
    assert await store(any_cache)  # the next computation sees the write and is stored
    found, value = await versions.get_fresh(any_cache, KEY)
    assert found and value[0][0] == "meanwhile"


async def test_a_write_to_another_table_during_the_computation_does_not_block_storing(
    db: Database, any_cache: Cache
) -> None:
    await seed()
    assert await store(any_cache, during(lambda: Category.objects.create(name="elsewhere")))
    assert await fresh(any_cache)


async def test_bump_and_unknown_writes(db: Database, any_cache: Cache) -> None:
    await seed()
    assert await store(any_cache)
    await versions.bump(any_cache, ["categories"])
    assert await fresh(any_cache)
    await versions.bump(any_cache, ["tags"])
    assert not await fresh(any_cache)
    assert await store(any_cache)
    # A raw write whose tables cannot be told makes every entry stale.
    await db.execute("WITH x AS (SELECT 1 AS one) UPDATE categories SET name = name")
    assert not await fresh(any_cache)
