"""Seed the blog with reproducible random data (the same seed gives the same rows)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random

import aksara
from aksara.auth import amake_password
from aksara.conf import settings
from examples.blog.models import Comment, Post, Tag, User

#: Every seeded user's password (``user0@example.com`` ... log in with it).
DEMO_PASSWORD = "aksara-demo"
_demo_hashes: dict[tuple[int, ...], str] = {}


async def demo_password_hash() -> str:
    """The hash of DEMO_PASSWORD, made once per process: hashing costs ~0.1 s on purpose,
    and seeded users share it (a demo only: real users each get their own salt)."""
    key = tuple(settings.PASSWORD_HASHER.values())
    found = _demo_hashes.get(key)
    if found is None:
        found = _demo_hashes[key] = await amake_password(DEMO_PASSWORD)
    return found


WORDS = [
    *("async", "fast", "query", "index", "cache", "pool", "batch", "stream", "join"),
    *("select", "prefetch", "latency", "throughput", "postgres", "sqlite", "python"),
    *("model", "field", "serializer", "viewset", "page", "cursor"),
]


def _text(rng: random.Random, low: int, high: int) -> str:
    size = rng.randint(low, high)
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


#: The post the performance guide's locustfile reads: ``GET /api/posts/abc-123/``.
GUIDE_SLUG = "abc-123"


async def seed(
    *, users: int = 100, posts: int = 1_000, comments: int = 5_000, tags: int = 0, seed: int = 42
) -> None:
    """Insert *users*, *posts* and *comments* generated from *seed* (bulk inserts); with
    *tags*, that many tags, up to three on each post."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    password = await demo_password_hash()
    people = await User.objects.bulk_create(
        [
            User(name=f"User {i}", email=f"user{i}@example.com", password=password)
            for i in range(users)
        ]
    )
    entries = await Post.objects.bulk_create(
        [
            Post(
                title=_text(rng, 20, 80).title(),
                slug=f"post-{i}",
                content=_text(rng, 200, 1_200),
                metadata={"words": rng.randint(30, 200), "tags": rng.sample(WORDS, 2)},
                author=rng.choice(people),
                is_published=rng.random() < 0.8,
                view_count=rng.randint(0, 10_000),
                created_at=start + dt.timedelta(minutes=17 * i),
            )
            for i in range(posts)
        ]
    )
    await Comment.objects.bulk_create(
        [
            Comment(post=rng.choice(entries), author=rng.choice(people), body=_text(rng, 20, 300))
            for _ in range(comments)
        ]
    )
    if tags:
        await _tag(rng, entries, await Tag.objects.bulk_create([Tag(name=w) for w in WORDS[:tags]]))


async def _tag(rng: random.Random, entries: list[Post], labels: list[Tag]) -> None:
    through = Post._meta.many_relations["tags"].through
    links = [
        through(post_id=post.pk, tag_id=tag.pk)
        for post in entries
        for tag in rng.sample(labels, rng.randint(0, min(3, len(labels))))
    ]
    await through.objects.bulk_create(links)


async def seed_api(*, users: int = 100, posts: int = 1_000, comments: int = 5_000) -> None:
    """The API example's data: the random blog with tags, and the guide's post ``abc-123``."""
    await seed(users=users, posts=posts, comments=comments, tags=len(WORDS))
    author = await User.objects.first()
    guide = await Post.objects.create(
        title="Performance",
        slug=GUIDE_SLUG,
        content="Optimize your Aksara application for speed.",
        author=author,
        is_published=True,
    )
    await guide.tags.add(*await Tag.objects.filter(name__in=["fast", "query", "cache"]))
    await Comment.objects.create(post=guide, author=author, body="Select related saved my day.")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="sqlite:///demo.sqlite3")
    arguments = parser.parse_args()
    async with aksara.connect(arguments.database_url):
        await aksara.drop_tables()
        await aksara.create_tables()
        await seed_api()
        print(f"Seeded {await Post.objects.count()} posts.")


if __name__ == "__main__":
    asyncio.run(main())
