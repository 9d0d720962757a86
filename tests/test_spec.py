"""The performance guide's ORM and debugging snippets, run as written against the blog
models on SQLite and PostgreSQL (with ``await`` where Python's async rules need it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from aksara import Model, fields
from aksara.db import Database
from aksara.debug import NPlusOneWarning, capture_queries, detect_n_plus_one, profile_queries
from aksara.orm import RelationNotLoadedError
from examples.blog.models import Comment, Post, User
from examples.blog.seed import seed


class Item(Model):
    name = fields.String(max_length=50)
    price = fields.Integer(default=0)


@pytest.fixture
async def blog(db: Database) -> Database:
    await seed(users=10, posts=30, comments=120)
    return db


async def test_select_related_bad_and_good(blog: Database) -> None:
    async with capture_queries() as bad:
        posts = await Post.objects.all()
        for post in posts:
            author = await post.author  # Query per post!
    assert len(bad) == 1 + len(posts)
    async with capture_queries() as good:
        posts = await Post.objects.select_related("author").all()
        for post in posts:
            author = post.author  # Already loaded
            assert isinstance(author, User)
    assert len(good) == 1


async def test_prefetch_related_bad_good_and_nested(blog: Database) -> None:
    async with capture_queries() as bad:
        posts = await Post.objects.all()
        for post in posts:
            comments = await post.comments.all()  # Query per post!
    assert len(bad) == 1 + len(posts)
    async with capture_queries() as good:
        posts = await Post.objects.prefetch_related("comments").all()
        for post in posts:
            comments = post.comments  # Already loaded
            assert all(isinstance(comment, Comment) for comment in comments)
    assert len(good) == 2
    async with capture_queries() as nested:
        posts = await Post.objects.prefetch_related("comments", "comments__author").all()
        names = [comment.author.name for post in posts for comment in post.comments]
    assert len(nested) == 3
    assert len(names) == await Comment.objects.count()


async def test_only_defer_and_pagination(blog: Database) -> None:
    posts = await Post.objects.only("id", "title", "slug").all()
    assert posts and posts[0].title
    posts = await Post.objects.defer("content", "metadata").all()
    assert posts and posts[0].slug
    everything = await Post.objects.order_by("id").values_list("id", flat=True)
    page = await Post.objects.order_by("id").limit(20).offset(10).all()
    assert [post.id for post in page] == everything[10:30]


async def test_profile_decorator_prints_the_report(
    blog: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    @profile_queries
    async def get_posts() -> list[Post]:
        posts = await Post.objects.select_related("author").all()
        return posts

    assert len(await get_posts()) == 30
    report = capsys.readouterr().err
    assert "Query Profile: " in report and "get_posts" in report
    assert "Total queries: 1" in report
    assert "Total time: " in report and "1. SELECT" in report


async def test_query_capture(blog: Database) -> None:
    async with capture_queries() as queries:
        posts = await Post.objects.all()
        for post in posts:
            author = await post.author  # noqa: F841 - as the guide writes it
    lines = [f" {q.sql} ({q.duration}ms)" for q in queries]
    assert f"Executed {len(queries)} queries" == f"Executed {1 + len(posts)} queries"
    assert all(line.endswith("ms)") for line in lines)


async def test_n_plus_one_detection(blog: Database) -> None:
    @detect_n_plus_one
    async def list_posts(request: object) -> list[dict[str, str]]:
        posts = await Post.objects.all()
        return [{"title": p.title, "author": p.author.name} for p in posts]

    # Async code cannot load p.author silently: the N+1 is an error naming the fix.
    with pytest.raises(RelationNotLoadedError, match=r'select_related\("author"\)'):
        await list_posts(None)

    @detect_n_plus_one
    async def list_posts_awaiting(request: object) -> list[dict[str, str]]:
        posts = await Post.objects.limit(10)
        return [{"title": p.title, "author": (await p.author).name} for p in posts]

    with pytest.warns(NPlusOneWarning, match="Similar query executed 10 times"):
        await list_posts_awaiting(None)


async def test_explain_plan(blog: Database) -> None:
    user = await User.objects.first()
    plan = await Post.objects.filter(author=user, is_published=True).explain()
    print(plan)
    assert "posts" in plan


async def test_concurrent_queries(blog: Database) -> None:
    async def get_dashboard() -> dict[str, int]:
        users, posts, comments = await asyncio.gather(
            User.objects.count(), Post.objects.count(), Comment.objects.count()
        )
        return {"users": users, "posts": posts, "comments": comments}

    assert await get_dashboard() == {"users": 10, "posts": 30, "comments": 120}


async def test_batch_operations(blog: Database) -> None:
    items = [{"name": f"item {i}", "price": i} for i in range(50)]
    async with capture_queries() as queries:
        await Item.objects.bulk_create([Item(**item) for item in items])
    assert len(queries) == 1
    assert await Item.objects.count() == 50
    now = dt.datetime.now(dt.UTC)
    users = await User.objects.all()
    async with capture_queries() as queries:
        await User.objects.filter(id__in=[u.id for u in users]).update(last_login=now)
    assert len(queries) == 1
    stamped = await User.objects.values_list("last_login", flat=True)
    assert all(value == now for value in stamped)


async def test_simple_benchmark(blog: Database) -> None:
    async def benchmark_query() -> float:
        start = time.perf_counter()
        for _ in range(100):
            await Post.objects.filter(is_published=True).all()
        elapsed = time.perf_counter() - start
        print(f"100 queries in {elapsed:.2f}s ({elapsed / 100 * 1000:.1f}ms avg)")
        return elapsed

    assert await benchmark_query() > 0
