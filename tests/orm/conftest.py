"""Data fixtures of the ORM tests; every one builds on ``db`` (SQLite and PostgreSQL).

The rows are kept as plain Python lists too, so a test can compute the expected answer
with a list comprehension and compare it with what the database returned.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from aksara.db import Database, QueryEvent, listen
from examples.blog.models import Comment, Post, User
from tests.models import Kitchen

UTC = dt.UTC


@dataclass
class Captured:
    """The statements run while a ``capture()`` block was open."""

    events: list[QueryEvent] = field(default_factory=list)

    @property
    def statements(self) -> list[str]:
        return [event.sql for event in self.events]

    def __len__(self) -> int:
        return len(self.events)


@contextmanager
def capture() -> Iterator[Captured]:
    """Record every statement sent to the database inside the block."""
    captured = Captured()
    with listen(captured.events.append):
        yield captured


@dataclass
class Blog:
    users: list[User]
    posts: list[Post]
    comments: list[Comment]

    def user(self, pk: int) -> User:
        return next(user for user in self.users if user.pk == pk)

    def author_of(self, post: Post) -> User:
        return self.user(post.author_id)


USER_NAMES = ["Ada Lovelace", "alan turing", "Grace Hopper", "edsger dijkstra", "Barbara Liskov"]

TITLES = [
    "Async Python",
    "async python tips",
    "Fast Queries",
    "Indexing 101",
    "100% coverage",
    "snake_case names",
    "Why PostgreSQL",
    "SQLite in production",
    "ASYNC ALL THE THINGS",
    "Pool sizing",
    "Prepared statements",
    "Batch inserts",
]


@pytest.fixture
async def blog(db: Database) -> Blog:
    """5 users, 24 posts with varied titles, flags and counts, and some comments."""
    users = [
        await User.objects.create(name=name, email=f"user{i}@example.com", is_active=i % 4 != 3)
        for i, name in enumerate(USER_NAMES)
    ]
    posts = []
    for i in range(24):
        title = TITLES[i % len(TITLES)] + ("" if i < len(TITLES) else " (again)")
        posts.append(
            await Post.objects.create(
                title=title,
                slug=f"post-{i:02d}",
                content="" if i % 5 == 0 else f"Body of post {i}. " * (i % 3 + 1),
                metadata={"n": i, "tags": ["a", "b"][: i % 3]},
                author=users[(i * 7) % len(users)],
                is_published=i % 3 != 0,
                view_count=(i * 37) % 50,
            )
        )
    comments = []
    for i, post in enumerate(posts[:8]):
        for j in range(i % 3):
            comments.append(
                await Comment.objects.create(
                    post=post, author=users[(i + j) % len(users)], body=f"comment {i}-{j}"
                )
            )
    return Blog(users, posts, comments)


def kitchen_rows() -> list[dict[str, Any]]:
    """Values of 12 Kitchen rows, nulls included, every field kind represented."""
    base = dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    rows = []
    for i in range(12):
        rows.append(
            {
                "label": f"row-{i:02d}",
                "notes": None if i % 4 == 0 else f"note {i} {'Mixed' if i % 2 else 'lower'}",
                "small": (i * 13) % 7 - 3,
                "big": None if i % 5 == 0 else (2**40) * (i - 6),
                "ratio": None if i % 6 == 0 else i / 4,
                "price": None if i % 3 == 0 else Decimal(f"{i * 3}.{(i * 7) % 100:02d}"),
                "flag": i % 2 == 0,
                "moment": None if i % 7 == 0 else base + dt.timedelta(days=i, hours=i),
                "day": None if i % 5 == 1 else dt.date(2024, 1, 1) + dt.timedelta(days=i * 10),
                "token": None if i % 4 == 1 else uuid.UUID(int=i * 7919 + 1),
                "data": None
                if i % 6 == 5
                else {"i": i, "even": i % 2 == 0, "tags": ["x"] * (i % 3)},
            }
        )
    return rows


@pytest.fixture
async def kitchens(db: Database) -> list[Kitchen]:
    """The kitchen_rows() saved one by one."""
    return [await Kitchen.objects.create(**row) for row in kitchen_rows()]
