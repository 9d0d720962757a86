"""The stack's views: a ``ModelViewSet`` for posts, a cursor-paginated feed, TechEmpower's tests."""

from __future__ import annotations

import random
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import exceptions, generics, pagination, viewsets
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import exception_handler as drf_exception_handler

from benchmarks.http.stacks.django_drf.models import Fortune, Post, World
from benchmarks.http.stacks.django_drf.serializers import (
    FeedSerializer,
    PostCreateSerializer,
    PostDetailSerializer,
    PostListSerializer,
    WorldSerializer,
)

__all__ = [
    "FeedPagination",
    "FeedView",
    "PostPagination",
    "PostViewSet",
    "db",
    "exception_handler",
    "fortunes",
    "json",
    "queries",
    "updates",
]

WORLD_ROWS = 10_000
ADDITIONAL_FORTUNE = "Additional fortune added at request time."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every 404 answered ``{"detail": "Not found."}`` like the others."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)


class PostPagination(pagination.PageNumberPagination):
    """Twenty posts a page, with the total count."""

    page_size = 20


class FeedPagination(pagination.CursorPagination):
    """A hundred posts a page, newest first, no count."""

    page_size = 100
    ordering = ("-created_at", "-id")


class PostViewSet(viewsets.ModelViewSet):
    """Posts: the published list, a detail by slug, and create."""

    lookup_field = "slug"
    pagination_class = PostPagination

    def get_queryset(self) -> QuerySet[Post]:
        """Published posts with author and comment count to list; any post by slug otherwise."""
        if self.action == "list":
            return (
                Post.objects.filter(is_published=True)
                .select_related("author")
                .only("id", "title", "slug", "created_at", "author__name")
                .annotate(comment_count=Count("comments"))
                .order_by("-created_at", "-id")
            )
        return Post.objects.select_related("author")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        """The list, detail or create shape, by action."""
        if self.action == "list":
            return PostListSerializer
        if self.action == "create":
            return PostCreateSerializer
        return PostDetailSerializer


class FeedView(generics.ListAPIView):
    """All posts, newest first, a hundred at a time behind a cursor."""

    queryset = Post.objects.only(
        "id", "title", "slug", "author_id", "is_published", "view_count", "created_at"
    )
    serializer_class = FeedSerializer
    pagination_class = FeedPagination


def _query_count(request: Request) -> int:
    """TechEmpower's ``queries`` parameter: clamped to 1..500, anything else means 1."""
    try:
        count = int(request.query_params.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


@api_view(["GET"])
def json(request: Request) -> Response:
    """TechEmpower's JSON serialisation test."""
    return Response({"message": "Hello, World!"})


@api_view(["GET"])
def db(request: Request) -> Response:
    """TechEmpower's single query test: one random ``world`` row."""
    world = World.objects.get(id=random.randint(1, WORLD_ROWS))
    return Response(WorldSerializer(world).data)


@api_view(["GET"])
def queries(request: Request) -> Response:
    """TechEmpower's multiple queries test: one query per row."""
    worlds = [
        World.objects.get(id=random.randint(1, WORLD_ROWS)) for _ in range(_query_count(request))
    ]
    return Response(WorldSerializer(worlds, many=True).data)


@api_view(["GET"])
def updates(request: Request) -> Response:
    """TechEmpower's updates test: read rows one by one, write new numbers in one batch."""
    # Distinct ids: one batched write must not carry two values for one row.
    ids = random.sample(range(1, WORLD_ROWS + 1), _query_count(request))
    worlds = [World.objects.get(id=world_id) for world_id in ids]
    for world in worlds:
        world.randomnumber = random.randint(1, WORLD_ROWS)
    World.objects.bulk_update(sorted(worlds, key=lambda world: world.id), ["randomnumber"])
    return Response(WorldSerializer(worlds, many=True).data)


def fortunes(request: HttpRequest) -> HttpResponse:
    """TechEmpower's fortunes test, rendered by a Django template."""
    rows = list(Fortune.objects.all())
    rows.append(Fortune(id=0, message=ADDITIONAL_FORTUNE))
    rows.sort(key=lambda fortune: fortune.message)
    return render(request, "fortunes.html", {"fortunes": rows})
