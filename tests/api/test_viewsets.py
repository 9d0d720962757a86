"""Read endpoints of model viewsets on both databases: list and retrieve through the
serializer's plan, lookups, the spec's hooks and serializers, ``?fields=``, filters and the
queries each request costs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request

from aksara import Aksara, Count
from aksara.api import (
    ModelSerializer,
    ModelViewSet,
    ReadOnlyModelViewSet,
    Response,
    Router,
    serializers,
)
from aksara.api.pagination import PageNumberPagination
from aksara.api.serializers import SerializerMethodField
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.orm.query import Query
from examples.blog.models import Post, User
from examples.blog.seed import seed


class PostSerializer(ModelSerializer):
    """The spec's good serializer: the author's name by a join, the count by annotation."""

    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer()

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_name", "comment_count"]


class BadPostSerializer(ModelSerializer):
    """The spec's bad serializer: method fields that load the author and count comments."""

    author_name = SerializerMethodField()
    comment_count = SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]

    async def get_author_name(self, obj: Post) -> str:
        author = await obj.author
        return author.name

    async def get_comment_count(self, obj: Post) -> int:
        return await obj.comments.count()


class PostListSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "created_at"]
        read_only = True


class PostDetailSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = "__all__"


class PostViewSet(ModelViewSet):
    """The spec's viewset: pagination, the annotated queryset, list vs detail serializers."""

    serializer_class = PostSerializer
    pagination_class = PageNumberPagination
    page_size = 20
    max_page_size = 100
    filterset_fields = ["is_published", "author"]
    ordering_fields = ["created_at", "view_count"]
    ordering = "id"
    search_fields = ["title"]

    def get_queryset(self) -> Any:
        return Post.objects.select_related("author").annotate(comment_count=Count("comments"))

    def get_serializer_fields(self) -> list[str] | None:
        fields = self.request.query_params.get("fields")
        if fields:
            return fields.split(",")
        return None

    async def list(self, request: Request) -> Response:
        return await super().list(request)


class BadPostViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.order_by("id")
    serializer_class = BadPostSerializer
    pagination_class = PageNumberPagination
    max_page_size = 100


class ByActionViewSet(ReadOnlyModelViewSet):
    model = Post

    def get_serializer_class(self) -> Any:
        return PostListSerializer if self.action == "list" else PostDetailSerializer


class SlugViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.all()
    serializer_class = PostListSerializer
    lookup_field = "slug"


class AsyncQuerysetViewSet(ReadOnlyModelViewSet):
    serializer_class = PostListSerializer

    async def get_queryset(self) -> Any:
        author = await User.objects.get(email="user0@example.com")
        return Post.objects.filter(author=author).order_by("id")


router = Router()
router.register("posts", PostViewSet)
router.register("bad-posts", BadPostViewSet, basename="bad-post")
router.register("by-action", ByActionViewSet, basename="by-action")
router.register("slugs", SlugViewSet, basename="slug")
router.register("async-posts", AsyncQuerysetViewSet, basename="async-post")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def test_list_is_the_spec_good_serializer_paginated(db: Database) -> None:
    await seed(users=3, posts=30, comments=40)
    async with client() as http:
        response = await http.get("/api/posts/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 30
    assert body["next"] == "http://testserver/api/posts/?page=2"
    assert body["previous"] is None
    assert len(body["results"]) == 20
    first = await Post.objects.select_related("author").get(pk=1)
    comments = await first.comments.count()
    assert body["results"][0] == {
        "id": 1,
        "title": first.title,
        "slug": "post-0",
        "author_name": first.author.name,
        "comment_count": comments,
    }
    assert sum(row["comment_count"] for row in body["results"]) <= 40


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_good_serializer_page_costs_two_queries(db: Database, size: int) -> None:
    await seed(users=5, posts=120, comments=200)
    async with client() as http, capture_queries() as queries:
        response = await http.get(f"/api/posts/?page_size={size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == size
    assert len(queries) <= 2, [query.sql for query in queries]


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_bad_serializer_page_costs_at_most_four_queries(db: Database, size: int) -> None:
    await seed(users=5, posts=120, comments=200)
    async with client() as http, capture_queries() as queries:
        response = await http.get(f"/api/bad-posts/?page_size={size}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == size
    post = await Post.objects.get(pk=results[-1]["id"])
    assert results[-1]["author_name"] == (await post.author).name
    assert results[-1]["comment_count"] == await post.comments.count()
    assert len(queries) <= 4, [query.sql for query in queries]


async def test_retrieve_and_unknown_lookups(db: Database) -> None:
    await seed(users=2, posts=3, comments=5)
    async with client() as http:
        async with capture_queries() as queries:
            found = await http.get("/api/posts/2/")
        assert found.status_code == 200
        assert found.json()["id"] == 2 and found.json()["slug"] == "post-1"
        assert len(queries) == 1
        for missing in ("999", "abc", "99999999999999999999999", "-1", "1e3"):
            response = await http.get(f"/api/posts/{missing}/")
            assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


async def test_slug_lookup(db: Database) -> None:
    await seed(users=1, posts=3, comments=0)
    async with client() as http:
        response = await http.get("/api/slugs/post-2/")
        assert response.status_code == 200
        assert response.json()["id"] == 3
        assert (await http.get("/api/slugs/abc-123/")).status_code == 404


async def test_detail_reads_bind_the_key_into_the_planned_statement(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plan narrows the columns; get_queryset() returns the same query each request, so
    # after the first read the plan is not applied again nor a condition built: the ORM's
    # get by key binds the slug into the statement it compiled for the planned query.
    await seed(users=1, posts=3, comments=0)
    async with client() as http:
        assert (await http.get("/api/slugs/post-0/")).status_code == 200

        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a detail read built a condition tree or copied the query")

        monkeypatch.setattr("aksara.orm.queryset.condition", refused)
        monkeypatch.setattr(Query, "replace", refused)
        for slug, pk in (("post-2", 3), ("post-1", 2)):
            async with capture_queries() as queries:
                response = await http.get(f"/api/slugs/{slug}/")
            assert response.status_code == 200
            assert (response.json()["id"], response.json()["slug"]) == (pk, slug)
            assert len(queries) == 1 and '"content"' not in queries[0].sql
        assert (await http.get("/api/slugs/abc-123/")).status_code == 404


async def test_serializer_class_by_action(db: Database) -> None:
    await seed(users=1, posts=2, comments=0)
    async with client() as http:
        listing = (await http.get("/api/by-action/")).json()
        detail = (await http.get("/api/by-action/1/")).json()
    assert set(listing[0]) == {"id", "title", "slug", "created_at"}
    assert set(detail) >= {"id", "title", "slug", "content", "metadata", "author", "view_count"}
    assert detail["author"] == (await Post.objects.get(pk=1)).author_id


async def test_async_get_queryset(db: Database) -> None:
    await seed(users=2, posts=10, comments=0)
    expected = [post.id for post in await Post.objects.filter(author_id=1).order_by("id")]
    async with client() as http:
        listing = (await http.get("/api/async-posts/")).json()
        assert [row["id"] for row in listing] == expected
        other = await Post.objects.exclude(author_id=1).first()
        assert other is not None
        assert (await http.get(f"/api/async-posts/{other.id}/")).status_code == 404


async def test_fields_narrow_the_json_and_the_select(db: Database) -> None:
    await seed(users=2, posts=5, comments=3)
    async with client() as http:
        async with capture_queries() as queries:
            response = await http.get("/api/posts/?fields=id,title")
        assert response.status_code == 200
        assert set(response.json()["results"][0]) == {"id", "title"}
        page_sql = next(query.sql for query in queries if "LIMIT" in query.sql.upper())
        assert "slug" not in page_sql and "content" not in page_sql
        async with capture_queries() as queries:
            detail = await http.get("/api/by-action/1/?fields=id,slug")
        assert detail.json() == {"id": 1, "slug": "post-0"}
        assert "title" not in queries[0].sql and "metadata" not in queries[0].sql


async def test_unknown_field_is_a_400_listing_the_valid_ones(db: Database) -> None:
    async with client() as http:
        response = await http.get("/api/posts/?fields=id,nope")
    assert response.status_code == 400
    message = response.json()["fields"][0]
    assert "nope" in message and "author_name" in message and "comment_count" in message


async def test_filters_ordering_and_search_through_the_viewset(db: Database) -> None:
    await seed(users=3, posts=30, comments=0)
    published = await Post.objects.filter(is_published=True, author_id=2).count()
    async with client() as http:
        filtered = (await http.get("/api/posts/?is_published=true&author=2")).json()
        assert filtered["count"] == published
        ordered = (await http.get("/api/posts/?ordering=-view_count&page_size=5")).json()
        counts = [(await Post.objects.get(pk=row["id"])).view_count for row in ordered["results"]]
        assert counts == sorted(counts, reverse=True)
        bad = await http.get("/api/posts/?content=x")
        assert bad.status_code == 400
        assert "is_published" in bad.json()["content"][0]
        title = (await Post.objects.get(pk=4)).title
        word = title.split()[0]
        searched = (await http.get(f"/api/posts/?search={word}&page_size=100")).json()
        assert 4 in [row["id"] for row in searched["results"]]


async def test_invalid_page_is_a_404(db: Database) -> None:
    await seed(users=1, posts=3, comments=0)
    async with client() as http:
        assert (await http.get("/api/posts/?page=9")).status_code == 404
        assert (await http.get("/api/posts/?page=x")).status_code == 404
