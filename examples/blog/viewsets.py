"""The blog API's viewsets, as the performance guide writes them."""

from __future__ import annotations

import os
from typing import Any

from starlette.requests import Request

from aksara import Count
from aksara.api import (
    AnonRateThrottle,
    BasePermission,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
    ModelViewSet,
    ReadOnlyModelViewSet,
    Response,
    SessionAuthentication,
    TokenAuthentication,
    action,
)
from aksara.api.pagination import PageNumberPagination
from aksara.api.permissions import SAFE_METHODS
from aksara.api.rates import parse_rate
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

#: A token (``POST /api/token/``) or a session cookie names the user.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]


class IsAuthorOrReadOnly(BasePermission):
    """Anyone may read an object; only its author may change or delete it."""

    message = "Only the author may change this."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or obj.author_id == request.user.pk


#: Anonymous requests each client address may send: ``BLOG_ANON_RATE`` ("off": no limit).
#: By default an abuse cap that neither the tests nor a load test from one machine (all its
#: users one address, counted per worker on the memory cache) reach; "60/min" shows the 429s.
ANON_RATE = os.environ.get("BLOG_ANON_RATE", "2000/s")
if ANON_RATE != "off":
    parse_rate(ANON_RATE)  # a bad value fails at import, not on the first request


class AnonReadThrottle(AnonRateThrottle):
    """Anonymous requests by client address, at ``BLOG_ANON_RATE``; logged-in users are not
    counted. Set ``THROTTLE_CACHE`` to a Redis cache to count across workers."""

    rate = ANON_RATE


#: The throttles of every blog viewset.
THROTTLES: list[type[AnonRateThrottle]] = [] if ANON_RATE == "off" else [AnonReadThrottle]


class PostViewSet(ModelViewSet):
    """Posts by slug (``/api/posts/abc-123/``): a light list, the detail with its author's
    name and comment count, and the whole post as the body of a write. Anyone reads; a
    signed-in user writes posts of their own, and only the author changes one."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]
    throttle_classes = THROTTLES

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

    async def perform_create(self, serializer: Any) -> None:
        await serializer.save(author=self.request.user)


class UserViewSet(ReadOnlyModelViewSet):
    """The blog's users (made by the seed or ``aksara.auth.create_user``; read-only here),
    and ``/api/users/me/``: the signed-in user."""

    authentication_classes = AUTHENTICATION
    throttle_classes = THROTTLES

    queryset = User.objects.all()
    serializer_class = UserSerializer
    pagination_class = PageNumberPagination
    ordering = ["id"]
    search_fields = ["name", "email"]

    @action(detail=False, permission_classes=[IsAuthenticated])
    async def me(self, request: Request) -> Response:
        """``GET /api/users/me/``: who the token or session belongs to (401 without one)."""
        return Response(await self.get_output().one(request.user, self.get_serializer_context()))


class CommentViewSet(ModelViewSet):
    """Comments, filtered by post or author (``?post=1``): anyone reads, anyone signed in
    adds one (as its author), only its author changes or deletes it."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]
    throttle_classes = THROTTLES

    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    pagination_class = PageNumberPagination
    filterset_fields = ["post", "author"]
    ordering = ["id"]

    async def perform_create(self, serializer: Any) -> None:
        await serializer.save(author=self.request.user)


class TagViewSet(ModelViewSet):
    """Tags, a page of 100 (the vocabulary is small, but no list endpoint is unbounded):
    anyone reads them, anyone signed in adds or changes one."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticatedOrReadOnly]
    throttle_classes = THROTTLES

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    pagination_class = PageNumberPagination
    page_size = 100
    ordering = ["name"]
