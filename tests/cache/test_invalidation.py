"""Write-aware invalidation: entries stored with versions of the tables their computation
read go stale when a write to one of them commits (never before, never on rollback), on
both backends and both databases; a write racing a computation keeps it from being stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import aksara
from aksara import atomic, get_database
from aksara.cache import Cache, caches, tracking, versions
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


async def test_versions_cleared_during_a_computation_keep_it_from_being_stored(
    db: Database, redis_cache: Cache
) -> None:
    await seed()
    for _ in range(5):
        await versions.bump(redis_cache, ["categories"])
    token = await versions.begin(redis_cache)
    with tracking() as read:
        value = await overview()
    await redis_cache.clear()  # the counters start again from 0...
    await Post.objects.filter(title="first").update(title="changed")  # ...and move to 1
    assert not await versions.set_fresh(redis_cache, KEY, value, read.tables, token, 60)


async def test_scripts_the_server_lost_are_loaded_again(db: Database, redis_cache: Cache) -> None:
    await seed()
    assert await store(redis_cache)
    await redis_cache.redis.script_flush()  # a restarted server knows no script
    assert await fresh(redis_cache)
    await Post.objects.filter(title="first").update(title="changed")
    await redis_cache.redis.script_flush()
    assert not await fresh(redis_cache)
    assert redis_cache.stats().errors == 0


async def test_redis_down_fails_open(db: Database) -> None:
    aksara.configure(
        CACHE={"default": {"backend": "redis", "url": "redis://127.0.0.1:1/0", "timeout_ms": 200}}
    )
    cache = caches["default"]
    _, post, _ = await seed()  # each write's announcement fails, and the write stands
    post.title = "saved"
    await post.save()
    assert (await Post.objects.get(id=post.id)).title == "saved"
    assert cache.stats().errors >= 1
    assert not await fresh(cache)
    assert not await store(cache)  # nothing can be stored without the versions


async def test_an_entry_used_by_a_tracked_computation_counts_as_read(
    db: Database, any_cache: Cache
) -> None:
    await seed()
    assert await store(any_cache)  # the inner entry: posts, users, tags, comments...

    async def outer() -> list[Any]:
        found, inner = await versions.get_fresh(any_cache, KEY)
        assert found  # served from the cache: no query ran
        return [inner, await Category.objects.count()]

    token = await versions.begin(any_cache)
    with tracking() as read:
        value = await outer()
    assert read.tables >= {"posts", "users", "tags", "posts_tags", "comments", "categories"}
    assert await versions.set_fresh(any_cache, "outer", value, read.tables, token, 60)
    await Comment.objects.all().delete()  # a table only the inner entry's queries read
    found, _ = await versions.get_fresh(any_cache, "outer")
    assert not found


async def test_a_redis_hit_whose_tables_are_known_is_one_mget_and_agrees_with_the_script(
    db: Database, redis_cache: Cache
) -> None:
    await seed()
    assert await store(redis_cache)
    known = versions._known_tables(redis_cache)
    assert sorted(known[KEY]) == sorted(
        name.encode() for name in ("*", "comments", "posts", "posts_tags", "tags", "users")
    )
    assert await fresh(redis_cache)  # the MGET path
    await Tag.objects.filter(name="news").update(name="old news")
    assert not await fresh(redis_cache)  # a version moved: stale on the MGET path too
    assert await store(redis_cache)
    # Another process stored the key with other tables: the script decides, and the
    # tables it reports replace the ones this process knew.
    known[KEY] = [b"*", b"users"]
    assert await fresh(redis_cache)
    assert b"comments" in known[KEY]
    # This process never saw the key (a fresh worker): the script, then the MGET path.
    del known[KEY]
    assert await fresh(redis_cache)
    assert KEY in known
    await Comment.objects.filter(body="hi").update(body="changed")
    assert not await fresh(redis_cache)
