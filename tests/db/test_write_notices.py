"""Write notices: every ORM write (and raw writes whose table can be told) announces its
tables after it commits; rolled-back writes announce nothing; on_commit; tables of events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aksara import atomic
from aksara.db import Database, QueryEvent, listen, on_commit
from aksara.db.writes import EVERY_TABLE, add_write_hook, remove_write_hook
from examples.blog.models import Comment, Post, Tag, User
from tests.models import Category


class Notices:
    """The tables announced, one set per announcement, in order."""

    def __init__(self) -> None:
        self.seen: list[frozenset[str]] = []

    async def __call__(self, tables: frozenset[str]) -> None:
        self.seen.append(tables)

    def take(self) -> list[frozenset[str]]:
        seen, self.seen = self.seen, []
        return seen

    def tables(self) -> set[str]:
        return set().union(*self.take())


@pytest.fixture
async def notices(db: Database) -> AsyncIterator[Notices]:
    hook = Notices()
    add_write_hook(hook)
    try:
        yield hook
    finally:
        remove_write_hook(hook)


async def author() -> User:
    return await User.objects.create(name="ann", email="ann@example.com")


async def test_each_kind_of_write_announces_its_table(notices: Notices) -> None:
    user = await author()
    assert notices.take() == [frozenset({"users"})]
    post = Post(title="t", slug="t", author=user)
    await post.save()
    assert notices.take() == [frozenset({"posts"})]
    post.title = "u"
    await post.save()
    assert notices.take() == [frozenset({"posts"})]
    assert await Post.objects.filter(id=post.id).update(view_count=3) == 1
    assert notices.take() == [frozenset({"posts"})]
    await Post.objects.bulk_create([Post(title=f"b{i}", slug="b", author=user) for i in range(3)])
    assert notices.tables() == {"posts"}
    posts = await Post.objects.order_by("id")
    for each in posts:
        each.view_count = 9
    await Post.objects.bulk_update(posts, ["view_count"])
    assert notices.tables() == {"posts"}
    _, created = await Tag.objects.get_or_create(name="x")
    assert created and notices.take() == [frozenset({"tags"})]
    await Tag.objects.get_or_create(name="x")
    assert notices.take() == []  # found: nothing written
    await Tag.objects.update_or_create(name="x", defaults={"name": "y"})
    assert notices.tables() == {"tags"}
    await Post.objects.filter(title="b0").delete()
    # the database deletes their comments and tag links too (ON DELETE CASCADE)
    assert notices.tables() == {"posts", "comments", "posts_tags"}
    await Post.objects.filter(title="nothing").update(view_count=1)
    assert notices.take() == []  # no row changed


async def test_m2m_changes_announce_the_join_table(notices: Notices) -> None:
    user = await author()
    post = await Post.objects.create(title="t", slug="t", author=user)
    one, two = await Tag.objects.create(name="one"), await Tag.objects.create(name="two")
    notices.take()
    await post.tags.add(one, two)
    assert notices.tables() == {"posts_tags"}
    await post.tags.remove(one)
    assert notices.tables() == {"posts_tags"}
    await post.tags.set([one])
    assert notices.tables() == {"posts_tags"}
    await post.tags.clear()
    assert notices.tables() == {"posts_tags"}


async def test_cascades_and_set_null_announce_every_table_they_change(notices: Notices) -> None:
    user = await author()
    post = await Post.objects.create(title="t", slug="t", author=user)
    await Comment.objects.create(post=post, author=user, body="b")
    tag = await Tag.objects.create(name="one")
    await post.tags.add(tag)
    parent = await Category.objects.create(name="p")
    await Category.objects.create(name="c", parent=parent)
    notices.take()
    await user.delete()
    assert notices.tables() == {"users", "posts", "comments", "posts_tags"}
    await parent.delete()
    assert notices.tables() == {"categories"}  # the child's parent set to NULL, then the parent


async def test_raw_writes_are_told_when_simple(db: Database, notices: Notices) -> None:
    user = await author()
    notices.take()
    p = db.dialect.placeholder
    await db.execute(f"UPDATE users SET name = {p(1)} WHERE id = {p(2)}", ["bob", user.id])
    assert notices.take() == [frozenset({"users"})]
    await db.execute(f"delete from users where id = {p(1)}", [user.id + 100])
    assert notices.take() == []  # nothing deleted
    await db.execute(
        "WITH chosen AS (SELECT id FROM users) UPDATE users SET name = 'z' "
        f"WHERE id IN (SELECT id FROM chosen) AND id = {p(1)}",
        [user.id],
    )
    assert notices.take() == [frozenset({EVERY_TABLE})]  # not told: every table


async def test_inside_atomic_announced_once_after_the_outermost_commit(notices: Notices) -> None:
    async with atomic():
        user = await author()
        async with atomic():
            await Post.objects.create(title="t", slug="t", author=user)
        assert notices.take() == []
    assert notices.take() == [frozenset({"users", "posts"})]


async def test_rolled_back_writes_announce_nothing(notices: Notices) -> None:
    with pytest.raises(RuntimeError):
        async with atomic():
            await author()
            raise RuntimeError
    assert notices.take() == []
    async with atomic():
        user = await author()
        with pytest.raises(RuntimeError):
            async with atomic():
                await Post.objects.create(title="t", slug="t", author=user)
                await Tag.objects.create(name="x")
                raise RuntimeError
        await Comment.objects.filter(id=1).delete()  # changes no row
    assert notices.take() == [frozenset({"users"})]  # the savepoint's writes dropped


async def test_on_commit_runs_after_the_outermost_commit_only(db: Database) -> None:
    ran: list[str] = []

    async def later() -> None:
        ran.append("async")

    await on_commit(lambda: ran.append("now"))
    assert ran == ["now"]
    ran.clear()
    async with atomic():
        await on_commit(lambda: ran.append("outer"))
        async with atomic():
            await on_commit(later)
        with pytest.raises(RuntimeError):
            async with atomic():
                await on_commit(lambda: ran.append("dropped"))
                raise RuntimeError
        assert ran == []
    assert ran == ["outer", "async"]
    ran.clear()
    with pytest.raises(RuntimeError):
        async with atomic():
            await on_commit(lambda: ran.append("rolled back"))
            raise RuntimeError
    assert ran == []


async def test_a_failing_announcement_never_fails_the_write(notices: Notices) -> None:
    async def broken(tables: frozenset[str]) -> None:
        raise ConnectionError("cache down")

    add_write_hook(broken)
    try:
        user = await author()
        async with atomic():
            await Post.objects.create(title="t", slug="t", author=user)
    finally:
        remove_write_hook(broken)
    assert await Post.objects.count() == 1
    assert notices.tables() == {"users", "posts"}


async def test_query_events_name_the_tables_they_read(db: Database) -> None:
    user = await author()
    post = await Post.objects.create(title="t", slug="t", author=user)
    events: list[QueryEvent] = []
    with listen(events.append):
        await Post.objects.select_related("author").filter(id=post.id).first()
        await Post.objects.filter(author__name="ann").count()
        await Post.objects.prefetch_related("tags").filter(id=post.id)
        await Comment.objects.filter(post__title="t").exists()
        await db.fetch("SELECT * FROM users")
    reads = [event.tables.reads for event in events]
    assert reads[0] == {"posts", "users"}
    assert reads[1] == {"posts", "users"}
    assert reads[2] == {"posts"} and {"posts_tags", "tags"} <= reads[3]
    assert reads[4] == {"comments", "posts"}
    assert events[5].tables.unknown and not any(event.tables.unknown for event in events[:5])
