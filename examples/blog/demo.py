"""The performance guide, run: each pattern done badly and well, measured from query events."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aksara
from aksara import Count, F
from aksara.db import QueryEvent, listen
from examples.blog.models import Comment, Post, User
from examples.blog.seed import seed


@dataclass
class Measure:
    """Queries seen and time spent while a block ran."""

    events: list[QueryEvent] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def database_ms(self) -> float:
        return sum(event.duration for event in self.events)


@asynccontextmanager
async def measured() -> AsyncIterator[Measure]:
    measure = Measure()
    start = time.perf_counter()
    with listen(measure.events.append):
        yield measure
    measure.seconds = time.perf_counter() - start


async def listing_bad() -> Any:
    posts = await Post.objects.order_by("-created_at").limit(50)
    return [(post.title, (await post.author).name) for post in posts]  # a query per post


async def listing_good() -> Any:
    posts = await Post.objects.select_related("author").order_by("-created_at").limit(50)
    return [(post.title, post.author.name) for post in posts]  # already loaded: one JOIN


async def comments_bad() -> Any:
    posts = await Post.objects.order_by("-created_at").limit(50)
    return [[c.body for c in await post.comments.all()] for post in posts]  # query per post


async def comments_good() -> Any:
    posts = await Post.objects.prefetch_related("comments").order_by("-created_at").limit(50)
    return [[c.body for c in post.comments] for post in posts]  # one batched query


async def nested_bad() -> Any:
    posts = await Post.objects.order_by("-created_at").limit(20)
    return [
        [(await c.author).name for c in await post.comments.all()] for post in posts
    ]  # a query per post and per comment


async def nested_good() -> Any:
    posts = (
        await Post.objects.prefetch_related("comments", "comments__author")
        .order_by("-created_at")
        .limit(20)
    )
    return [[c.author.name for c in post.comments] for post in posts]  # 3 queries in all


async def peers_good() -> Any:
    posts = await Post.objects.relation_loading("peers").order_by("-created_at").limit(50)
    return [(post.title, (await post.author).name) for post in posts]  # the "bad" loop: 2 queries


async def counts_bad() -> Any:
    posts = await Post.objects.filter(is_published=True).order_by("-created_at").limit(20)
    return [(post.title, await post.comments.count()) for post in posts]


async def counts_good() -> Any:
    posts = (
        await Post.objects.filter(is_published=True)
        .select_related("author")
        .annotate(comment_count=Count("comments"))
        .order_by("-created_at")
        .limit(20)
    )
    return [(post.title, post.author.name, post.comment_count) for post in posts]


async def dashboard_bad() -> Any:
    users = await User.objects.count()
    posts = await Post.objects.count()
    comments = await Comment.objects.count()
    return {"users": users, "posts": posts, "comments": comments}


async def dashboard_good() -> Any:
    users, posts, comments = await asyncio.gather(
        User.objects.count(), Post.objects.count(), Comment.objects.count()
    )
    return {"users": users, "posts": posts, "comments": comments}


async def inserts_bad() -> Any:
    author = await User.objects.first()
    for i in range(200):
        await Post.objects.create(title=f"Draft {i}", slug=f"draft-a-{i}", author=author)


async def inserts_good() -> Any:
    author = await User.objects.first()
    await Post.objects.bulk_create(
        [Post(title=f"Draft {i}", slug=f"draft-b-{i}", author=author) for i in range(200)]
    )


async def updates_bad() -> Any:
    now = dt.datetime.now(dt.UTC)
    users = await User.objects.limit(100)
    for user in users:
        user.last_login = now
        await user.save()


async def updates_good() -> Any:
    now = dt.datetime.now(dt.UTC)
    users = await User.objects.limit(100)
    await User.objects.filter(id__in=[u.id for u in users]).update(last_login=now)


async def columns_bad() -> Any:
    return await Post.objects.filter(is_published=True).limit(500)


async def columns_good() -> Any:
    return await Post.objects.filter(is_published=True).only("id", "title", "slug").limit(500)


PATTERNS: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
    ("50 posts with authors (await each vs select_related)", listing_bad, listing_good),
    ("50 posts with authors (await each, peers loading)", listing_bad, peers_good),
    ("50 posts with comments (all() each vs prefetch)", comments_bad, comments_good),
    ("20 posts, comments, their authors (nested prefetch)", nested_bad, nested_good),
    ("20 posts with comment counts (count() vs annotate)", counts_bad, counts_good),
    ("Dashboard counts (sequential vs asyncio.gather)", dashboard_bad, dashboard_good),
    ("Insert 200 posts (one by one vs bulk_create)", inserts_bad, inserts_good),
    ("Stamp 100 users (save() each vs filter().update())", updates_bad, updates_good),
    ("500 published posts (all columns vs only())", columns_bad, columns_good),
]


async def run(database_url: str) -> None:
    async with aksara.connect(database_url, pool={"min_size": 1, "max_size": 5}):
        await aksara.drop_tables()
        await aksara.create_tables()
        await seed()
        print(f"Aksara demo on {database_url}")
        print(f"{'pattern':<54} {'':>5} {'queries':>8} {'db ms':>8} {'wall ms':>8}")
        for title, bad, good in PATTERNS:
            for label, function in (("bad", bad), ("good", good)):
                await function()  # warm-up: open pooled connections, compile the SQL once
                async with measured() as measure:
                    await function()
                print(
                    f"{title if label == 'bad' else '':<54} {label:>5} {len(measure.events):>8} "
                    f"{measure.database_ms:>8.1f} {measure.seconds * 1000:>8.1f}"
                )
        await Post.objects.filter(pk=1).update(view_count=F("view_count") + 1)
        user = await User.objects.first()
        plan = await Post.objects.filter(author=user, is_published=True).explain()
        print("\nPlan of Post.objects.filter(author=user, is_published=True):")
        print("  " + plan.replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="sqlite:///demo.sqlite3")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.database_url))


if __name__ == "__main__":
    main()
