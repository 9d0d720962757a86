"""Deterministic benchmark data: the same rows feed the ORM side and the raw-driver side.

Everything comes from one ``random.Random(seed)``, so two runs (and the two sides of one
run) see byte-identical data. Rows are plain tuples in the column order below; the ORM
side turns them into model instances, the raw side sends them as they are.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMMENT_COLUMNS",
    "NEW_POST_COLUMNS",
    "POST_COLUMNS",
    "SEED",
    "USER_COLUMNS",
    "Dataset",
    "generate",
    "new_posts",
]

SEED = 20_240_601
N_USERS = 1_000
N_POSTS = 10_000
N_COMMENTS = 50_000

USER_COLUMNS = ("id", "name", "email", "is_active", "last_login", "created_at")
POST_COLUMNS = (
    "id",
    "title",
    "slug",
    "content",
    "metadata",
    "author_id",
    "is_published",
    "view_count",
    "created_at",
)
#: Columns of a post to insert (the database assigns the id).
NEW_POST_COLUMNS = POST_COLUMNS[1:]
COMMENT_COLUMNS = ("id", "post_id", "author_id", "body", "created_at")

_EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
_SPAN_SECONDS = 2 * 365 * 24 * 3600

_WORDS = (  # noqa: SIM905 - a paragraph reads better than a list
    "async python database query index table column row pool connection cursor driver "
    "postgres sqlite latency throughput benchmark prepared statement cache model field "
    "migration schema transaction commit rollback isolation lock vacuum analyze planner "
    "join filter order limit offset aggregate count sum json array text integer boolean "
    "timestamp timezone server client request response route handler middleware api rest "
    "serializer validation error retry timeout backoff queue worker event loop coroutine "
    "await task gather future thread process memory allocation garbage collector profile "
    "hot path fast slow measure median ratio target speed lean simple clear robust small"
).split()
_TAGS = ("python", "async", "sql", "orm", "web", "api", "perf", "tips", "news", "howto")
_FIRST = ("Ada", "Budi", "Citra", "Dewi", "Eka", "Fajar", "Gita", "Hadi", "Intan", "Joko")
_LAST = ("Santoso", "Wijaya", "Halim", "Lestari", "Pratama", "Saputra", "Kusuma", "Nugroho")


@dataclass(frozen=True)
class Dataset:
    """The seeded rows: users, posts and comments, ids starting at 1."""

    users: list[tuple[Any, ...]]
    posts: list[tuple[Any, ...]]
    comments: list[tuple[Any, ...]]


def _moment(rng: random.Random) -> dt.datetime:
    return _EPOCH + dt.timedelta(
        seconds=rng.randrange(_SPAN_SECONDS), microseconds=rng.randrange(1_000_000)
    )


def _text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words = rng.choices(_WORDS, k=target // 5 + 8)
    text = " ".join(words)
    while len(text) < target:  # rare: many short words
        text += " " + " ".join(rng.choices(_WORDS, k=16))
    return text[: target - 1].rstrip() + "."


def _post(rng: random.Random, author_count: int, number: int) -> tuple[Any, ...]:
    """One post as a NEW_POST_COLUMNS tuple."""
    title = " ".join(rng.choices(_WORDS, k=rng.randint(3, 9))).capitalize()[:200]
    slug = f"{title.lower().replace(' ', '-')[:180]}-{number}"
    content = _text(rng, 200, 1_200)
    metadata = {
        "tags": rng.sample(_TAGS, rng.randint(1, 3)),
        "lang": rng.choice(("en", "id")),
        "reading_minutes": rng.randint(1, 12),
        "featured": rng.random() < 0.1,
    }
    author_id = rng.randint(1, author_count)
    is_published = rng.random() < 0.8
    view_count = rng.randrange(5_000) if is_published else 0
    return (title, slug, content, metadata, author_id, is_published, view_count, _moment(rng))


def generate(
    seed: int = SEED, *, users: int = N_USERS, posts: int = N_POSTS, comments: int = N_COMMENTS
) -> Dataset:
    """The benchmark's seed data: *users* users, *posts* posts, *comments* comments."""
    rng = random.Random(seed)
    user_rows = []
    for number in range(1, users + 1):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        last_login = _moment(rng) if rng.random() < 0.7 else None
        user_rows.append(
            (
                number,
                name,
                f"user{number}@example.com",
                rng.random() < 0.95,
                last_login,
                _moment(rng),
            )
        )
    post_rows = [(number, *_post(rng, users, number)) for number in range(1, posts + 1)]
    comment_rows = [
        (number, rng.randint(1, posts), rng.randint(1, users), _text(rng, 20, 300), _moment(rng))
        for number in range(1, comments + 1)
    ]
    return Dataset(user_rows, post_rows, comment_rows)


def new_posts(
    count: int, *, seed: int = SEED + 1, author_count: int = N_USERS
) -> list[tuple[Any, ...]]:
    """*count* fresh posts (NEW_POST_COLUMNS tuples) for the bulk-insert workload."""
    rng = random.Random(seed)
    return [_post(rng, author_count, 1_000_000 + number) for number in range(count)]
