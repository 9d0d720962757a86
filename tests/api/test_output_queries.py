"""Query counts of the performance guide's "Serialization Performance" serializers: the "bad"
one (async method fields awaiting the author and counting comments) stays at the page query
plus two, whatever the page size, because its method fields run for the whole page at once;
the "good" one is the page query alone."""

from __future__ import annotations

import json

import pytest

import aksara
from aksara import Count
from aksara.api import serializers
from aksara.api.serializers import ModelSerializer, SerializerMethodField, encode
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post
from tests.orm.relation_models import naive_authors, naive_comments, seed_blog

PAGES = [1, 20, 100]


class BadPostSerializer(ModelSerializer):
    author_name = SerializerMethodField()
    comment_count = SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]

    async def get_author_name(self, obj: Post) -> str:
        author = await obj.author  # Query!
        return author.name

    async def get_comment_count(self, obj: Post) -> int:
        return await obj.comments.count()  # Query!


class SpecBadPostSerializer(ModelSerializer):
    # As the guide writes it: no Meta, the two method fields alone.
    author_name = SerializerMethodField()
    comment_count = SerializerMethodField()

    async def get_author_name(self, obj: Post) -> str:
        author = await obj.author  # Query!
        return author.name

    async def get_comment_count(self, obj: Post) -> int:
        return await obj.comments.count()  # Query!


class GoodPostSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]


async def expected_page(size: int) -> list[dict[str, object]]:
    authors = await naive_authors()
    comments = await naive_comments()
    return [
        {
            "id": pk,
            "title": f"post {pk - 1:03d}",
            "author_name": authors[pk][1],
            "comment_count": len(comments[pk]),
        }
        for pk in sorted(authors)[:size]
    ]


@pytest.mark.parametrize("size", PAGES)
async def test_the_bad_serializer_is_the_page_and_two_queries_under_peers(
    db: Database, size: int
) -> None:
    await seed_blog(size + 5)
    expected = await expected_page(size)
    aksara.configure(RELATION_LOADING="peers")
    compiled = BadPostSerializer.compile()
    async with capture_queries() as queries:
        page = await Post.objects.order_by("id").limit(size)
        body = encode(await compiled.many(page, {}))
    # The page, the authors of every row in one query, every row's comments counted in one.
    assert len(queries) == 3, queries.report()
    assert sum("COUNT(" in query.sql.upper() for query in queries) == 1
    assert json.loads(body) == expected


@pytest.mark.parametrize("size", PAGES)
async def test_the_bad_serializer_under_lazy_loading_is_one_query_per_await(
    db: Database, size: int
) -> None:
    # The contrast: without peers each await queries for its own row (what peers prevents).
    await seed_blog(size)
    compiled = BadPostSerializer.compile()
    async with capture_queries() as queries:
        page = await Post.objects.order_by("id").limit(size)
        await compiled.many(page, {})
    assert len(queries) == 1 + 2 * size


@pytest.mark.parametrize("size", PAGES)
async def test_the_good_serializer_is_the_page_query_alone(db: Database, size: int) -> None:
    await seed_blog(size + 5)
    expected = await expected_page(size)
    compiled = GoodPostSerializer.compile()
    async with capture_queries() as queries:
        page = await (
            Post.objects.select_related("author")
            .annotate(comment_count=Count("comments"))
            .order_by("id")
            .limit(size)
        )
        body = encode(await compiled.many(page, {}))
    assert len(queries) == 1, queries.report()
    assert json.loads(body) == expected


@pytest.mark.parametrize("size", PAGES)
async def test_the_guide_s_bad_serializer_as_written(db: Database, size: int) -> None:
    await seed_blog(size + 5)
    expected = [
        {"author_name": row["author_name"], "comment_count": row["comment_count"]}
        for row in await expected_page(size)
    ]
    aksara.configure(RELATION_LOADING="peers")
    async with capture_queries() as queries:
        page = await Post.objects.order_by("id").limit(size)
        body = encode(await SpecBadPostSerializer.compile().many(page, {}))
    assert len(queries) == 3, queries.report()
    assert json.loads(body) == expected
