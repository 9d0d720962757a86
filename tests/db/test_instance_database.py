"""An instance remembers the database it was loaded from or saved to, and what follows from
it uses that database: lazy relation loads, reverse and many-to-many managers, prefetches,
peers batching, ``save()`` / ``delete()`` / ``refresh_from_db()`` without ``using=``; a
replica's instance is written to the primary.

Two databases of the test's own: two SQLite files, or two PostgreSQL databases created and
dropped here. "other" is either a plain second database or, with ``READ_REPLICAS``, a read
replica (a plain database standing in for one: its rows are seeded separately, so a query
that reaches the wrong database finds different rows).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

import aksara
from aksara.conf import POOL_DEFAULTS, settings
from aksara.db import get_database, replica_monitor
from aksara.debug import capture_queries
from aksara.orm.schema import create_tables
from examples.blog.models import Comment, Post, Tag, User
from tests.conftest import ADMIN_URL, _postgres_unavailable

POOL = {**POOL_DEFAULTS, "min_size": 1, "max_size": 3, "acquire_timeout": 5.0}
MODELS = [User, Tag, Post, Post._meta.many_to_many[0].through, Comment]  # type: ignore[attr-defined]


async def _aliases_of(action: Callable[[], Awaitable[Any]]) -> list[str]:
    async with capture_queries() as queries:
        await action()
    return [query.alias for query in queries]


@pytest.fixture(params=["sqlite", "postgresql"])
async def urls(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[str]]:
    """The URLs of two empty databases of this test's own."""
    if request.param == "sqlite":
        yield [f"sqlite:///{tmp_path / 'main.sqlite3'}", f"sqlite:///{tmp_path / 'other.sqlite3'}"]
        return
    problem = await _postgres_unavailable()
    if problem:
        pytest.skip(problem)
    names = [f"aksara_instdb_{os.getpid()}_{suffix}" for suffix in ("main", "other")]
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield [urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}")) for name in names]
    finally:
        await aksara.disconnect()
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _connect(urls: list[str]) -> None:
    aksara.configure(
        DATABASES={
            "default": {"url": urls[0], "pool": POOL},
            "other": {"url": urls[1], "pool": POOL},
        }
    )
    await aksara.connect()
    for alias in ("default", "other"):
        await create_tables(MODELS, database=get_database(alias))


async def _seed(alias: str, title: str) -> Post:
    """A user, a post titled *title* with two comments and a tag, on *alias*."""
    author = await User.objects.using(alias).create(name=f"{title} author", email=f"{title}@x.io")
    post = await Post.objects.using(alias).create(title=title, slug=title, author=author)
    for body in ("one", "two"):
        await Comment.objects.using(alias).create(post=post, author=author, body=f"{title} {body}")
    tag = await Tag.objects.using(alias).create(name=f"{title} tag")
    await post.tags.add(tag)
    return post


@pytest.fixture
async def two_databases(urls: list[str]) -> None:
    """ "default" and "other" (a second database), each seeded with its own rows."""
    await _connect(urls)
    await _seed("default", "main")
    await _seed("other", "elsewhere")


async def test_loaded_and_saved_instances_remember_their_database(two_databases: None) -> None:
    post = await Post.objects.using("other").get(slug="elsewhere")
    assert post._db == "other"
    assert (await Post.objects.using("other").select_related("author").get()).author._db == "other"
    assert (await Post.objects.using("other").all())[0]._db == "other"
    created = Tag(name="fresh")
    await created.save(using="other")
    assert created._db == "other"
    assert (await Post.objects.get(slug="main"))._db is None  # the default's are not marked


async def test_lazy_loads_and_managers_use_the_instance_database(two_databases: None) -> None:
    post = await Post.objects.using("other").get(slug="elsewhere")
    aliases = await _aliases_of(lambda: post.author)
    assert aliases == ["other"]
    assert (await post.author).name == "elsewhere author"
    assert [c.body for c in await post.comments.all()] == ["elsewhere one", "elsewhere two"]
    assert await post.comments.count() == 2
    assert await post.comments.exists()
    assert [t.name for t in await post.tags.all()] == ["elsewhere tag"]
    author = await post.author
    comment = await post.comments.create(author=author, body="added")
    assert comment._db == "other"
    assert await Comment.objects.using("other").filter(body="added").exists()
    assert not await Comment.objects.filter(body="added").exists()
    extra = await Tag.objects.using("other").create(name="extra")
    aliases = await _aliases_of(lambda: post.tags.add(extra))
    assert set(aliases) == {"other"}
    assert sorted(t.name for t in await post.tags.all()) == ["elsewhere tag", "extra"]
    await post.tags.remove(extra)
    assert [t.name for t in await post.tags.all()] == ["elsewhere tag"]
    await post.tags.set([extra])
    assert [t.name for t in await post.tags.all()] == ["extra"]
    await post.tags.clear()
    assert await post.tags.count() == 0
    main = await Post.objects.get(slug="main")
    assert [t.name for t in await main.tags.all()] == ["main tag"]  # untouched


async def test_prefetch_select_related_and_peers_follow_using(two_databases: None) -> None:
    posts = Post.objects.using("other")
    aliases = await _aliases_of(
        lambda: posts.select_related("author").prefetch_related("comments__author", "tags")
    )
    assert aliases == ["other"] * 4
    [post] = await posts.prefetch_related("comments__author", "tags")
    assert [c.author.name for c in post.comments] == ["elsewhere author"] * 2
    assert [t.name for t in post.tags] == ["elsewhere tag"]
    [peer] = await posts.relation_loading("peers")
    assert [c.body for c in await peer.comments.all()] == ["elsewhere one", "elsewhere two"]
    [counted] = await posts.relation_loading("peers")
    assert await _aliases_of(lambda: counted.comments.count()) == ["other"]


async def test_save_delete_and_refresh_without_using(two_databases: None) -> None:
    post = await Post.objects.using("other").get(slug="elsewhere")
    post.title = "renamed"
    assert await _aliases_of(lambda: post.save()) == ["other"]
    assert await Post.objects.using("other").values_list("title", flat=True) == ["renamed"]
    assert await Post.objects.values_list("title", flat=True) == ["main"]
    await Post.objects.using("other").filter(pk=post.pk).update(view_count=7)
    await post.refresh_from_db()
    assert post.view_count == 7
    comment = (await post.comments.all())[0]
    assert await comment.delete() == 1
    assert await Comment.objects.using("other").count() == 1
    assert await Comment.objects.count() == 2


async def _replicate(urls: list[str], sticky: float | None) -> None:
    """Make "other" the read replica of "default": each seeded with its own rows first (so a
    read that reaches the wrong one is seen), then connected again with READ_REPLICAS."""
    await _connect(urls)
    await _seed("default", "main")
    await _seed("other", "elsewhere")
    await aksara.disconnect()
    settings.reset()
    aksara.configure(
        DATABASES={
            "default": {"url": urls[0], "pool": POOL},
            "other": {"url": urls[1], "pool": POOL},
        },
        READ_REPLICAS=["other"],
        REPLICA_STICKY_SECONDS=sticky,
    )
    await aksara.connect()
    monitor = replica_monitor()
    assert monitor is not None
    await monitor.check()
    assert monitor.healthy == ("other",)


@pytest.fixture
async def replicated(urls: list[str]) -> None:
    """The databases with "other" as the read replica; reads do not follow writes."""
    await _replicate(urls, 0.0)


async def test_a_replica_instance_reads_from_it_and_writes_to_the_primary(
    replicated: None,
) -> None:
    post = await Post.objects.using("other").get(slug="elsewhere")
    assert post._db == "other"
    assert await _aliases_of(lambda: post.comments.count()) == ["other"]
    primary = await Post.objects.using("default").get(slug="main")
    assert primary._db == "default"
    # The router decides: writes of a replica's instance go to the primary.
    primary_copy = await Post.objects.using("other").get(slug="elsewhere")
    primary_copy.pk = primary.pk
    primary_copy.title = "written on the primary"
    assert await _aliases_of(lambda: primary_copy.save()) == ["default"]
    assert primary_copy._db == "default"
    assert await Post.objects.using("default").values_list("title", flat=True) == [
        "written on the primary"
    ]
    assert await Post.objects.using("other").values_list("title", flat=True) == ["elsewhere"]
    # A related write from a replica's instance goes to the primary too.
    main_author = await User.objects.using("default").get()
    comment = await post.comments.create(author=main_author, body="on the primary")
    assert comment._db == "default"
    assert await Comment.objects.using("default").filter(body="on the primary").exists()
    assert not await Comment.objects.using("other").filter(body="on the primary").exists()


async def test_a_replica_instance_reads_its_task_writes_on_the_primary(urls: list[str]) -> None:
    await _replicate(urls, None)

    async def task() -> tuple[list[str], list[str]]:
        post = await Post.objects.using("other").get(slug="elsewhere")
        before = await _aliases_of(lambda: post.comments.count())
        await Tag.objects.create(name="written")  # this task's reads now follow its writes
        after = await _aliases_of(lambda: post.comments.count())
        return before, after

    assert await asyncio.create_task(task()) == (["other"], ["default"])


class _RelatedToDefault:
    """A router that sends the related reads of an instance to "default", and the writes of
    comments to "other"; it leaves everything else to the instance's database."""

    def __init__(self) -> None:
        self.hints: list[dict[str, Any]] = []

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        self.hints.append(hints)
        return "default" if "instance" in hints else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "other" if model is Comment else None


async def test_routers_decide_before_the_instance_database(urls: list[str]) -> None:
    await _connect(urls)
    await _seed("default", "main")
    await _seed("other", "elsewhere")
    await aksara.disconnect()
    settings.reset()
    router = _RelatedToDefault()
    aksara.configure(
        DATABASES={
            "default": {"url": urls[0], "pool": POOL},
            "other": {"url": urls[1], "pool": POOL},
        },
        DATABASE_ROUTERS=[router],
    )
    await aksara.connect()
    post = await Post.objects.using("other").get(slug="elsewhere")
    assert post._db == "other"
    assert [c.body for c in await post.comments.all()] == ["main one", "main two"]
    assert any(hints.get("instance") is post for hints in router.hints)
    post.title = "kept on other"
    assert await _aliases_of(lambda: post.save()) == ["other"]  # no router answer: its own
    main = await Post.objects.using("default").get(slug="main")
    author = await User.objects.using("other").get()
    comment = await main.comments.create(author=author, body="routed")
    assert comment._db == "other"  # the router's write database for comments
