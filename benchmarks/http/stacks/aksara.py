"""Aksara, written the way its README and the performance guide teach.

The blog endpoints are a ``ModelViewSet`` and a list-only viewset with serializers,
pagination classes and a ``Router``; the TechEmpower endpoints are function endpoints
(``@router.get``) on the ORM, and the fortunes page a Jinja2 template.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.templating import Jinja2Templates

import aksara
from aksara import Aksara, Model, fields
from aksara.api import ModelSerializer, ModelViewSet, Router, serializers
from aksara.api.mixins import ListModelMixin
from aksara.api.pagination import CursorPagination, PageNumberPagination
from aksara.exceptions import ValidationError
from examples.blog.models import Post, User

__all__ = ["Fortune", "World", "app"]

_SLUG = re.compile(r"^[a-z0-9-]+$")
_templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


class World(Model):
    """TechEmpower's ``world`` row."""

    randomnumber = fields.Integer()

    class Meta:
        table_name = "world"


class Fortune(Model):
    """TechEmpower's ``fortune`` row."""

    message = fields.String(max_length=2048)

    class Meta:
        table_name = "fortune"


class AuthorSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name"]


class PostListSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Count("comments")

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_name", "comment_count", "created_at"]
        read_only = True


class PostDetailSerializer(ModelSerializer):
    author = AuthorSerializer()

    class Meta:
        model = Post
        fields = [
            *("id", "title", "slug", "content", "author"),
            *("is_published", "view_count", "created_at"),
        ]
        read_only = True


class PostCreateSerializer(ModelSerializer):
    title = serializers.String(min_length=1, max_length=200)
    slug = serializers.String(max_length=100)

    class Meta:
        model = Post
        fields = [
            *("id", "title", "slug", "content", "author"),
            *("is_published", "view_count", "created_at"),
        ]
        read_only_fields = ["view_count"]

    def validate_slug(self, value: str) -> str:
        if not _SLUG.match(value):
            raise ValidationError("Use lowercase letters, digits and hyphens only.")
        return value


class PostViewSet(ModelViewSet):
    """Published posts, newest first, 20 a page; a post by slug; a new post."""

    model = Post
    lookup_field = "slug"
    pagination_class = PageNumberPagination
    page_size = 20
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> Any:
        if self.action == "list":
            return Post.objects.filter(is_published=True)
        return Post.objects.all()

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return PostListSerializer
        if self.action == "retrieve":
            return PostDetailSerializer
        return PostCreateSerializer


class FeedPagination(CursorPagination):
    page_size = 100
    ordering = ("-created_at", "-id")


class PostFeedSerializer(ModelSerializer):
    author_id = serializers.Integer(source="author_id")

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_id", "is_published", "view_count", "created_at"]
        read_only = True


class FeedViewSet(ListModelMixin):
    """Every post, newest first, 100 a page behind a cursor."""

    queryset = Post.objects.all()
    serializer_class = PostFeedSerializer
    pagination_class = FeedPagination


router = Router(prefix="/api")
router.register("posts", PostViewSet)
router.register("feed", FeedViewSet, basename="feed")
techempower = Router(prefix="")


def _count(request: Request) -> int:
    try:
        count = int(request.query_params.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


@techempower.get("/json")
async def json_endpoint(request: Request) -> dict[str, str]:
    return {"message": "Hello, World!"}


@techempower.get("/db")
async def single_query(request: Request) -> dict[str, int]:
    world = await World.objects.get(id=random.randint(1, 10_000))
    return {"id": world.id, "randomNumber": world.randomnumber}


@techempower.get("/queries")
async def multiple_queries(request: Request) -> list[dict[str, int]]:
    worlds = []
    for _ in range(_count(request)):
        world = await World.objects.get(id=random.randint(1, 10_000))
        worlds.append({"id": world.id, "randomNumber": world.randomnumber})
    return worlds


@techempower.get("/fortunes")
async def fortunes(request: Request) -> StarletteResponse:
    rows = await Fortune.objects.all()
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda fortune: fortune.message)
    return _templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})


@techempower.get("/updates")
async def updates(request: Request) -> list[dict[str, int]]:
    worlds = [await World.objects.get(id=random.randint(1, 10_000)) for _ in range(_count(request))]
    for world in worlds:
        world.randomnumber = random.randint(1, 10_000)
    # One row per id, in id order: concurrent updates lock rows in the same order.
    changed = sorted({world.id: world for world in worlds}.values(), key=lambda w: w.id)
    await World.objects.bulk_update(changed, ["randomnumber"])
    return [{"id": world.id, "randomNumber": world.randomnumber} for world in worlds]


def app() -> Aksara:
    """Aksara's ASGI app for the benchmark."""
    size = int(os.environ.get("BENCH_HTTP_POOL_SIZE", "10"))
    aksara.configure(
        DATABASE_URL=os.environ["BENCH_HTTP_DATABASE_URL"],
        DATABASE_POOL={"min_size": size, "max_size": size},
    )
    application = Aksara()
    application.include_router(router)
    application.include_router(techempower)
    return application
