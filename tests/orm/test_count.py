"""count() counts the rows a query returns without the parts that cannot change how many:
its ordering, select_related joins and annotations no condition reads."""

from __future__ import annotations

from typing import Any

import pytest

from aksara import Count, Max
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post
from tests.orm.relation_models import seed_blog

QUERIES: dict[str, Any] = {
    "plain": lambda: Post.objects.filter(is_published=True),
    "annotated, ordered, joined": lambda: (
        Post.objects.select_related("author")
        .annotate(n=Count("comments"))
        .prefetch_related("comments")
        .filter(is_published=True)
        .order_by("-n", "title")
    ),
    "filtered through a join": lambda: (
        Post.objects.filter(author__name="user 001")
        .select_related("author")
        .order_by("author__name")
    ),
    "on an annotation": lambda: (
        Post.objects.annotate(n=Count("comments")).filter(n__gte=2).order_by("-n")
    ),
    "forward aggregate (a join HAVING reads)": lambda: (
        Post.objects.annotate(last=Max("author__name"))
        .filter(last__gte="user 003")
        .order_by("title")
    ),
    "distinct over a to-many join": lambda: (
        Post.objects.filter(comments__body__contains="-")
        .distinct()
        .select_related("author")
        .order_by("title")
    ),
    "sliced": lambda: Post.objects.order_by("-view_count")[3:11],
    "sliced, annotated": lambda: Post.objects.annotate(n=Count("comments")).order_by("-n")[2:40],
    "grouped values": lambda: (
        Post.objects.values("author_id").annotate(n=Count("id")).order_by("-n")
    ),
    "only": lambda: Post.objects.only("title").select_related("author").order_by("title"),
}


@pytest.mark.parametrize("name", list(QUERIES))
async def test_count_equals_the_rows_and_drops_order_joins_and_annotations(
    db: Database, name: str
) -> None:
    await seed_blog(40)
    queryset = QUERIES[name]()
    expected = len(await queryset)
    async with capture_queries() as queries:
        counted = await queryset.count()
    assert counted == expected
    (sql,) = [query.sql for query in queries]
    assert "ORDER BY" not in sql
    assert '"users"."email"' not in sql  # no select_related columns
    if "join" not in name:
        assert "JOIN" not in sql.replace('LEFT OUTER JOIN "comments"', "")
    if name in ("annotated, ordered, joined", "plain", "only"):
        assert sql.startswith('SELECT COUNT(*) FROM "posts"')
        assert 'SELECT COUNT(*) FROM "comments"' not in sql
    if name in ("on an annotation", "sliced", "distinct over a to-many join"):
        assert sql.startswith('SELECT COUNT(*) FROM (SELECT DISTINCT "posts"."id" FROM') or (
            sql.startswith('SELECT COUNT(*) FROM (SELECT "posts"."id" FROM')
        )


async def test_the_count_statement_is_the_same_whatever_the_ordering(db: Database) -> None:
    await seed_blog(10)
    async with capture_queries() as queries:
        await Post.objects.order_by("title").count()
        await Post.objects.order_by("-view_count").annotate(n=Count("comments")).count()
    assert queries[0].sql == queries[1].sql == 'SELECT COUNT(*) FROM "posts"'
