"""The ``search`` lookup: full-text search where the dialect has it (PostgreSQL), a
case-insensitive ``contains`` elsewhere; the words are always a bound parameter."""

from __future__ import annotations

import pytest

from aksara.db import Database
from aksara.debug import capture_queries
from aksara.exceptions import FieldError, ValidationError
from examples.blog.models import Post, User


async def test_search_matches_words(db: Database) -> None:
    author = await User.objects.create(name="Ana", email="ana@example.com")
    await Post.objects.bulk_create(
        [
            Post(title="a", slug="a", author=author, content="Running event loops"),
            Post(title="b", slug="b", author=author, content="A loop's tale"),
            Post(title="c", slug="c", author=author, content="'); DROP TABLE posts; --"),
        ]
    )
    async with capture_queries() as queries:
        found = await Post.objects.filter(content__search="loops").order_by("id")
    sql = queries[0].sql
    assert "loops" not in sql
    if db.dialect.supports_full_text:
        # Stemmed words: "loops" finds "loop's" too.
        assert [post.title for post in found] == ["a", "b"]
        assert "to_tsvector(" in sql
    else:
        assert [post.title for post in found] == ["a"]
    hostile = await Post.objects.filter(content__search="'); DROP TABLE posts; --")
    assert [post.title for post in hostile] == ["c"]
    assert await Post.objects.count() == 3


def test_search_takes_text_fields_only() -> None:
    with pytest.raises(FieldError, match="search"):
        Post.objects.filter(view_count__search="1")
    with pytest.raises(ValidationError, match="string"):
        Post.objects.filter(content__search=5)
