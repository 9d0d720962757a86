"""A @cached function's result goes stale after each kind of ORM write to a table its
queries read, once the write commits (never before; a rolled-back write changes nothing),
on both databases and both backends; ``invalidate_on_write=False`` opts out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aksara import atomic
from aksara.cache import Cache, cached, versions
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post, Tag, User


async def snapshot() -> list[tuple[Any, ...]]:
    """What the cached function computes: posts with their author's name and tag names."""
    rows = []
    for post in await Post.objects.select_related("author").order_by("id"):
        tags = (
            await Tag.objects.filter(posts__id=post.id)
            .order_by("name")
            .values_list("name", flat=True)
        )
        rows.append((post.id, post.title, post.view_count, post.author.name, list(tags)))
    return rows


@cached(ttl=300)
async def cached_snapshot() -> list[tuple[Any, ...]]:
    return await snapshot()


@cached(ttl=300, invalidate_on_write=False)
async def unaware_snapshot() -> list[tuple[Any, ...]]:
    return await snapshot()


async def seed() -> dict[str, Any]:
    ann = await User.objects.create(name="Ann", email="ann@example.com")
    first = await Post.objects.create(title="first", slug="first", author=ann)
    second = await Post.objects.create(title="second", slug="second", author=ann)
    red, blue = await Tag.objects.create(name="red"), await Tag.objects.create(name="blue")
    await first.tags.add(red)
    return {"ann": ann, "first": first, "second": second, "red": red, "blue": blue}


async def create(seeded: dict[str, Any], db: Database) -> None:
    await Post.objects.create(title="third", slug="third", author=seeded["ann"])


async def save(seeded: dict[str, Any], db: Database) -> None:
    seeded["first"].title = "renamed"
    await seeded["first"].save()


async def update(seeded: dict[str, Any], db: Database) -> None:
    await Post.objects.filter(title="second").update(view_count=7)


async def delete(seeded: dict[str, Any], db: Database) -> None:
    await seeded["second"].delete()


async def queryset_delete(seeded: dict[str, Any], db: Database) -> None:
    await Post.objects.filter(title="first").delete()


async def bulk_create(seeded: dict[str, Any], db: Database) -> None:
    await Post.objects.bulk_create(
        [Post(title=f"bulk{n}", slug="bulk", author=seeded["ann"]) for n in range(3)]
    )


async def bulk_update(seeded: dict[str, Any], db: Database) -> None:
    posts = await Post.objects.order_by("id")
    for post in posts:
        post.view_count = 5
    await Post.objects.bulk_update(posts, ["view_count"])


async def related_save(seeded: dict[str, Any], db: Database) -> None:
    seeded["ann"].name = "Anne"
    await seeded["ann"].save()


async def m2m_add(seeded: dict[str, Any], db: Database) -> None:
    await seeded["second"].tags.add(seeded["blue"])


async def m2m_remove(seeded: dict[str, Any], db: Database) -> None:
    await seeded["first"].tags.remove(seeded["red"])


async def m2m_set(seeded: dict[str, Any], db: Database) -> None:
    await seeded["first"].tags.set([seeded["blue"]])


async def m2m_clear(seeded: dict[str, Any], db: Database) -> None:
    await seeded["first"].tags.clear()


async def tag_rename(seeded: dict[str, Any], db: Database) -> None:
    await Tag.objects.filter(name="red").update(name="crimson")


async def raw_execute(seeded: dict[str, Any], db: Database) -> None:
    p = db.dialect.placeholder
    await db.execute(f"UPDATE posts SET title = {p(1)} WHERE id = {p(2)}", ["raw", 1])


Write = Callable[[dict[str, Any], Database], Awaitable[None]]
WRITES: list[Write] = [
    create,
    save,
    update,
    delete,
    queryset_delete,
    bulk_create,
    bulk_update,
    related_save,
    m2m_add,
    m2m_remove,
    m2m_set,
    m2m_clear,
    tag_rename,
    raw_execute,
]


@pytest.mark.parametrize("write", WRITES, ids=[write.__name__ for write in WRITES])
async def test_each_kind_of_write_makes_the_result_stale(
    db: Database, write: Write, any_cache: Cache
) -> None:
    assert cached_snapshot.cache is any_cache
    seeded = await seed()
    before = await cached_snapshot()
    async with capture_queries() as queries:
        assert await cached_snapshot() == before
    assert len(queries) == 0
    await write(seeded, db)
    after = await snapshot()
    assert after != before
    assert await cached_snapshot() == after
    async with capture_queries() as queries:
        assert await cached_snapshot() == after
    assert len(queries) == 0


@pytest.mark.parametrize("write", [save, m2m_add, raw_execute], ids=lambda w: w.__name__)
async def test_stale_only_once_the_write_commits(
    db: Database, any_cache: Cache, write: Write
) -> None:
    seeded = await seed()
    before = await cached_snapshot()
    key = cached_snapshot.key()
    async with atomic():
        await write(seeded, db)
        found, value = await versions.get_fresh(any_cache, key)
        assert found and value == before  # what other connections still see
    found, _ = await versions.get_fresh(any_cache, key)
    assert not found
    assert await cached_snapshot() == await snapshot() != before


async def test_a_rolled_back_write_leaves_the_result_fresh(db: Database, any_cache: Cache) -> None:
    seeded = await seed()
    before = await cached_snapshot()
    with pytest.raises(RuntimeError):
        async with atomic():
            await save(seeded, db)
            raise RuntimeError("rolled back")
    found, value = await versions.get_fresh(any_cache, cached_snapshot.key())
    assert found and value == before
    async with capture_queries() as queries:
        assert await cached_snapshot() == before
    assert len(queries) == 0


async def test_writes_to_other_tables_keep_the_result(db: Database, any_cache: Cache) -> None:
    await seed()

    @cached(ttl=300)
    async def user_names() -> list[str]:
        return list(await User.objects.order_by("id").values_list("name", flat=True))

    assert await user_names() == ["Ann"]
    await Post.objects.filter(title="first").update(view_count=3)
    await Tag.objects.create(name="green")
    async with capture_queries() as queries:
        assert await user_names() == ["Ann"]
    assert len(queries) == 0


async def test_invalidate_on_write_false_keeps_serving_until_the_ttl(
    db: Database, any_cache: Cache
) -> None:
    seeded = await seed()
    before = await unaware_snapshot()
    await save(seeded, db)
    assert await unaware_snapshot() == before
    await unaware_snapshot.invalidate_all()
    assert await unaware_snapshot() == await snapshot() != before


async def test_an_outer_entry_depends_on_the_tables_of_an_inner_cached_call(
    db: Database, any_cache: Cache
) -> None:
    await seed()

    @cached(ttl=300)
    async def titles() -> list[str]:
        return list(await Post.objects.order_by("id").values_list("title", flat=True))

    @cached(ttl=300)
    async def page() -> dict[str, Any]:
        # The inner entry is fresh when the outer is computed: its tables still count.
        return {"titles": await titles(), "users": await User.objects.count()}

    assert await titles() == ["first", "second"]
    assert await page() == {"titles": ["first", "second"], "users": 1}
    await Post.objects.filter(title="first").update(title="changed")
    assert await page() == {"titles": ["changed", "second"], "users": 1}
    assert await titles() == ["changed", "second"]
    async with capture_queries() as queries:
        assert await page() == {"titles": ["changed", "second"], "users": 1}
    assert len(queries) == 0
