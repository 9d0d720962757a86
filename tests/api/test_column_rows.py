"""``list`` fetching a page as column tuples when the serializer reads only columns, forward
keys' columns and ``Count`` annotations: the same body as the instance path (which
``Output.many`` renders from instances), on both databases, with every paginator and hook
that reads rows falling back to instances."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

import httpx
import pytest

from aksara import Aksara, Count, Max
from aksara.api import ModelSerializer, ModelViewSet, Router, serializers
from aksara.api.pagination import CursorPagination, LimitOffsetPagination, PageNumberPagination
from aksara.api.serializers import SerializerMethodField, encode
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post
from tests.models import Category, Kitchen, Label, Tag
from tests.orm.relation_models import seed_blog


class PostRowSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Count("comments")

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_name", "comment_count", "created_at", "metadata"]
        read_only = True


class PostMethodSerializer(ModelSerializer):
    shout = SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "shout"]

    def get_shout(self, obj: Post) -> str:
        return obj.title.upper()


class LabelSerializer(ModelSerializer):
    tag_key = serializers.Integer(source="tag_id")
    tag_name = serializers.String(source="tag.name")
    category_name = serializers.String(source="tag.category.name")

    class Meta:
        model = Label
        fields = ["id", "name", "tag_key", "tag_name", "category_name"]


class KitchenSerializer(ModelSerializer):
    class Meta:
        model = Kitchen
        fields = "__all__"


class PostViewSet(ModelViewSet):
    model = Post
    serializer_class = PostRowSerializer
    pagination_class = PageNumberPagination
    page_size = 4
    ordering = ["-id"]


class LimitViewSet(PostViewSet):
    pagination_class = LimitOffsetPagination


class UnpagedViewSet(PostViewSet):
    pagination_class = None


class CursorViewSet(PostViewSet):
    pagination_class = CursorPagination


class MethodViewSet(PostViewSet):
    serializer_class = PostMethodSerializer


class SeenRows(list[Any]):
    """The rows the overriding hook saw."""


SEEN = SeenRows()


class HookViewSet(PostViewSet):
    async def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        page = await super().paginate_queryset(queryset)
        SEEN[:] = page or []
        return page


class LabelViewSet(ModelViewSet):
    model = Label
    serializer_class = LabelSerializer
    ordering = ["id"]


class KitchenViewSet(ModelViewSet):
    model = Kitchen
    serializer_class = KitchenSerializer
    pagination_class = PageNumberPagination
    ordering = ["id"]


router = Router()
for prefix, viewset in [
    ("posts", PostViewSet),
    ("limited", LimitViewSet),
    ("unpaged", UnpagedViewSet),
    ("cursor", CursorViewSet),
    ("method", MethodViewSet),
    ("hooked", HookViewSet),
    ("labels", LabelViewSet),
    ("kitchen", KitchenViewSet),
]:
    router.register(prefix, viewset, basename=prefix)
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def instance_body(serializer: Any, queryset: Any) -> Any:
    """The rows of *queryset* rendered from instances, as JSON values."""
    output = serializer.compile()
    rows = await output.plan.apply(queryset)
    return json.loads(encode(await output.many(rows, {})))


async def test_the_page_is_one_query_of_the_columns_and_the_count(db: Database) -> None:
    await seed_blog(11)
    async with client() as http, capture_queries() as queries:
        response = await http.get("/api/posts/?page=2")
    assert response.status_code == 200
    assert len(queries) == 2
    page = next(query.sql for query in queries if "LIMIT" in query.sql)
    # Only the columns the serializer reads: no author id, key or other post column.
    assert '"author_id"' not in page.split(" FROM ")[0]
    assert '"content"' not in page
    expected = await instance_body(PostRowSerializer, Post.objects.order_by("-id")[4:8])
    body = response.json()
    assert body["results"] == expected
    assert [row["id"] for row in expected] == [7, 6, 5, 4]
    assert body["count"] == 11
    assert body["next"] == "http://testserver/api/posts/?page=3"
    assert body["previous"] == "http://testserver/api/posts/"


@pytest.mark.parametrize(
    ("path", "ids"),
    [
        ("/api/limited/?limit=3&offset=2", [9, 8, 7]),
        ("/api/unpaged/", list(range(11, 0, -1))),
        ("/api/posts/?page=1&fields=id,author_name", [11, 10, 9, 8]),
    ],
)
async def test_other_paginators_and_selections_render_the_instances_body(
    db: Database, path: str, ids: list[int]
) -> None:
    await seed_blog(11)
    async with client() as http:
        response = await http.get(path)
    assert response.status_code == 200
    body = response.json()
    rows = body if isinstance(body, list) else body["results"]
    assert [row["id"] for row in rows] == ids
    expected = await instance_body(
        PostRowSerializer, Post.objects.filter(id__in=ids).order_by("-id")
    )
    if "fields=" in path:
        expected = [{"id": row["id"], "author_name": row["author_name"]} for row in expected]
    assert rows == expected


@pytest.mark.parametrize("prefix", ["cursor", "method", "hooked"])
async def test_paginators_hooks_and_fields_that_read_rows_get_instances(
    db: Database, prefix: str
) -> None:
    await seed_blog(6)
    SEEN.clear()
    async with client() as http:
        response = await http.get(f"/api/{prefix}/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [6, 5, 4, 3]
    if prefix == "method":
        titles = {post.id: post.title for post in await Post.objects.all()}
        assert [row["shout"] for row in rows] == [titles[row["id"]].upper() for row in rows]
    if prefix == "hooked":
        assert all(isinstance(row, Post) for row in SEEN)
        assert [row.id for row in SEEN] == [6, 5, 4, 3]


async def test_nullable_keys_keep_their_rows_and_read_as_null(db: Database) -> None:
    category = await Category.objects.create(name="kitchenware")
    tag = await Tag.objects.create(name="pans", category=category)
    await Label.objects.create(name="with tag", tag=tag)
    await Label.objects.create(name="without tag", tag=None)
    async with client() as http:
        response = await http.get("/api/labels/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": 1,
            "name": "with tag",
            "tag_key": tag.id,
            "tag_name": "pans",
            "category_name": "kitchenware",
        },
        {"id": 2, "name": "without tag", "tag_key": None, "tag_name": None, "category_name": None},
    ]


async def test_every_field_kind_converts_as_on_instances(db: Database) -> None:
    await Kitchen.objects.create(
        label="full",
        notes="n",
        small=3,
        big=2**40,
        ratio=0.5,
        price=decimal.Decimal("12.30"),
        flag=True,
        moment=dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        day=dt.date(2024, 5, 6),
        token=uuid.UUID(int=7),
        data={"a": [1, 2]},
    )
    await Kitchen.objects.create(label="empty")
    async with client() as http:
        response = await http.get("/api/kitchen/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert rows == await instance_body(KitchenSerializer, Kitchen.objects.order_by("id"))
    assert rows[0]["price"] == "12.30"
    assert rows[0]["data"] == {"a": [1, 2]}
    assert rows[1]["moment"] is None


def test_column_names_of_the_planned_query() -> None:
    output = PostRowSerializer.compile()
    query = output.plan.apply(Post.objects.all()).query
    assert output.column_names(query) == (
        *("id", "title", "slug", "author__name", "comment_count", "created_at", "metadata"),
    )
    assert output.columns is output.columns
    assert PostMethodSerializer.compile().column_names(Post.objects.all().query) is None
    # The query's own row shape, locking or distinct rows keep instances.
    assert output.column_names(output.plan.apply(Post.objects.distinct()).query) is None
    values = Post.objects.values("id").query
    assert output.column_names(values) is None
    # The count field must be a Count annotation of the query: another aggregate of that
    # name converts on instances, so it keeps them; a missing one as well.
    other = Post.objects.annotate(comment_count=Max("comments__id")).query
    assert output.column_names(other) is None
    counted = Post.objects.annotate(comment_count=Count("comments")).query
    assert output.column_names(counted) == output.column_names(query)
    missing = Post.objects.all().query
    assert output.column_names(missing) is None
    # Every kind of column, and keys' columns through a nullable key, are read as columns.
    kitchen = KitchenSerializer.compile()
    assert kitchen.column_names(kitchen.plan.apply(Kitchen.objects.all()).query) is not None
    labels = LabelSerializer.compile()
    assert labels.column_names(labels.plan.apply(Label.objects.all()).query) == (
        *("id", "name", "tag_id", "tag__name", "tag__category__name"),
    )
