"""Extra models of the relation tests: a one-to-one profile and many-to-many relations.

Importing this module registers them, so the ``db`` fixture creates their tables too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aksara import Model, fields
from examples.blog.models import Comment, Post, User


class Profile(Model):
    """``user.profile``: the reverse side of a one-to-one key."""

    user = fields.OneToOne(User, on_delete=fields.CASCADE)
    bio = fields.Text(default="")


class Keyword(Model):
    name = fields.String(max_length=40, unique=True)


class Article(Model):
    """``article.tags`` / ``keyword.articles``: join table ``articles_tags``."""

    title = fields.String(max_length=100)
    tags = fields.ManyToMany(Keyword, related_name="articles")


class Song(Model):
    title = fields.String(max_length=100)


class Playlist(Model):
    """A many-to-many without ``related_name``: the reverse side is ``song.playlists``."""

    name = fields.String(max_length=100)
    songs = fields.ManyToMany(Song)


# Data and the naive loops the eager loads must agree with ------------------------------------

#: Parent counts every query-count promise is checked with.
SIZES = [1, 10, 100]


@dataclass
class Seeded:
    users: list[User]
    posts: list[Post]
    comments: list[Comment]


def comments_of(index: int) -> int:
    """How many comments post number *index* gets: 2, 3, 0, 1, 2, 3, 0, …"""
    return (index + 2) % 4


async def seed_blog(posts: int, users: int = 7) -> Seeded:
    """*users* users, *posts* posts (authors in turn), 0-3 comments per post (varied authors)."""
    people = await User.objects.bulk_create(
        [User(name=f"user {i:03d}", email=f"user{i}@example.com") for i in range(users)]
    )
    made = await Post.objects.bulk_create(
        [
            Post(
                title=f"post {i:03d}",
                slug=f"post-{i}",
                author=people[(i * 3) % users],
                is_published=i % 3 != 1,
                view_count=(i * 37) % 50,
            )
            for i in range(posts)
        ]
    )
    notes = [
        Comment(post=post, author=people[(i + j) % users], body=f"comment {i}-{j}")
        for i, post in enumerate(made)
        for j in range(comments_of(i))
    ]
    written = await Comment.objects.bulk_create(notes) if notes else []
    return Seeded(people, made, written)


async def naive_authors() -> dict[int, tuple[int, str]]:
    """post pk -> (author pk, author name), the N+1 way."""
    result = {}
    for post in await Post.objects.order_by("id"):
        author = await post.author
        result[post.pk] = (author.pk, author.name)
    return result


async def naive_comments() -> dict[int, list[tuple[int, str, int, str]]]:
    """post pk -> its comments as (pk, body, author pk, author name), ordered by pk."""
    result = {}
    for post in await Post.objects.order_by("id"):
        rows = []
        for comment in await post.comments.all():
            author = await comment.author
            rows.append((comment.pk, comment.body, author.pk, author.name))
        result[post.pk] = sorted(rows)
    return result


def describe(comment: Any) -> tuple[int, str, int, str]:
    """A loaded comment as naive_comments() describes it (reads comment.author: no query)."""
    return (comment.pk, comment.body, comment.author.pk, comment.author.name)
