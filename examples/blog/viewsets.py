"""The blog API's viewsets, as the performance guide writes them."""

from __future__ import annotations

from typing import Any

from aksara import Count
from aksara.api import ModelViewSet
from aksara.api.pagination import PageNumberPagination
from aksara.api.serializers import Serializer
from examples.blog.models import Comment, Post, Tag, User
from examples.blog.serializers import (
    CommentSerializer,
    PostDetailSerializer,
    PostListSerializer,
    PostSerializer,
    TagSerializer,
    UserSerializer,
)


class PostViewSet(ModelViewSet):
    """Posts by slug (``/api/posts/abc-123/``): a light list, the detail with its author's
    name and comment count, and the whole post as the body of a write."""

    model = Post
    pagination_class = PageNumberPagination
    page_size = 20
    max_page_size = 100
    lookup_field = "slug"
    filterset_fields = {
        "is_published": ["exact"],
        "author": ["exact", "in"],
        "tags": ["exact"],
        "created_at": ["gte", "lt"],
    }
    ordering_fields = ["created_at", "view_count", "title"]
    ordering = ["-created_at"]
    search_fields = ["title", "content"]

    def get_queryset(self) -> Any:
        return Post.objects.select_related("author").annotate(comment_count=Count("comments"))

    def get_serializer_class(self) -> type[Serializer]:
        if self.action == "list":
            return PostListSerializer
        if self.action == "retrieve":
            return PostSerializer
        return PostDetailSerializer

    # Allow clients to select fields: GET /api/posts/?fields=id,title,slug
    def get_serializer_fields(self) -> Any:
        fields = self.request.query_params.get("fields")
        if fields:
            return fields.split(",")
        return None


class UserViewSet(ModelViewSet):
    """The blog's users."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    pagination_class = PageNumberPagination
    ordering = ["id"]
    search_fields = ["name", "email"]


class CommentViewSet(ModelViewSet):
    """Comments, filtered by post or author (``?post=1``)."""

    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    pagination_class = PageNumberPagination
    filterset_fields = ["post", "author"]
    ordering = ["id"]


class TagViewSet(ModelViewSet):
    """Tags, a page of 100 (the vocabulary is small, but no list endpoint is unbounded)."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    pagination_class = PageNumberPagination
    page_size = 100
    ordering = ["name"]
