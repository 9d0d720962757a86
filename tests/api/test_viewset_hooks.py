"""The hooks of a viewset: initial() before every action, lookup_url_kwarg, the serializer
context, perform_destroy overridden sync, and a fresh instance per request."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request

from aksara import Aksara
from aksara.api import (
    GenericViewSet,
    ModelSerializer,
    ModelViewSet,
    PermissionDenied,
    ReadOnlyModelViewSet,
    Response,
    Router,
    SerializerMethodField,
    action,
)
from aksara.api.pagination import PageNumberPagination
from aksara.db import Database
from examples.blog.models import Post, User


class ContextSerializer(ModelSerializer):
    seen_by = SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "seen_by"]

    def get_seen_by(self, obj: Post) -> str:
        view = self.context["view"]
        return f"{type(view).__name__}.{view.action} {self.context['request'].url.path}"


class GuardedViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.all()
    serializer_class = ContextSerializer
    lookup_url_kwarg = "post_id"
    lookup_value_regex = "[0-9]+"
    calls: list[str] = []

    async def initial(self, request: Request) -> None:
        if request.headers.get("x-token") != "secret":
            raise PermissionDenied()
        GuardedViewSet.calls.append(self.action)


class StatefulViewSet(ModelViewSet):
    queryset = Post.objects.all()
    serializer_class = ContextSerializer
    deleted: list[int] = []

    def initial(self, request: Request) -> None:
        assert not hasattr(self, "marker"), "an instance served two requests"
        self.marker = request.url.path

    def perform_destroy(self, instance: Any) -> Any:
        StatefulViewSet.deleted.append(instance.id)
        return instance.delete()

    @action(detail=False)
    async def marker_of(self, request: Request) -> Response:
        return Response({"marker": self.marker})


class ManualListViewSet(GenericViewSet):
    """A list written by hand, as DRF code writes it."""

    queryset = Post.objects.order_by("-id")
    serializer_class = ContextSerializer
    pagination_class = PageNumberPagination
    page_size = 2

    async def list(self, request: Request) -> Any:
        queryset = self.filter_queryset(await self.resolve_queryset())
        page = await self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(await serializer.get_data())


router = Router()
router.register("manual", ManualListViewSet, basename="manual")
router.register("guarded", GuardedViewSet, basename="guarded")
router.register("stateful", StatefulViewSet, basename="stateful")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def make_posts(count: int) -> None:
    user = await User.objects.create(name="Ann", email="ann@example.com")
    for number in range(count):
        await Post.objects.create(title=f"P{number}", slug=f"p{number}", author=user)


async def test_initial_runs_before_every_action_and_may_refuse(db: Database) -> None:
    await make_posts(2)
    GuardedViewSet.calls.clear()
    async with client() as http:
        refused = await http.get("/api/guarded/")
        assert refused.status_code == 403
        token = {"x-token": "secret"}
        assert (await http.get("/api/guarded/", headers=token)).status_code == 200
        assert (await http.get("/api/guarded/1/", headers=token)).status_code == 200
    assert GuardedViewSet.calls == ["list", "retrieve"]


async def test_lookup_url_kwarg_and_the_serializer_context(db: Database) -> None:
    await make_posts(2)
    assert APP.url_path_for("guarded-detail", post_id=2) == "/api/guarded/2/"
    async with client() as http:
        response = await http.get("/api/guarded/2/", headers={"x-token": "secret"})
    assert response.json() == {"id": 2, "seen_by": "GuardedViewSet.retrieve /api/guarded/2/"}


async def test_fresh_instance_per_request_and_sync_perform_destroy(db: Database) -> None:
    await make_posts(2)
    StatefulViewSet.deleted.clear()
    async with client() as http:
        for _ in range(2):
            marker = await http.get("/api/stateful/marker_of/")
            assert marker.json() == {"marker": "/api/stateful/marker_of/"}
        assert (await http.delete("/api/stateful/1/")).status_code == 204
    assert StatefulViewSet.deleted == [1]
    assert not await Post.objects.filter(pk=1).exists()


async def test_a_list_written_by_hand_with_the_pagination_hooks(db: Database) -> None:
    await make_posts(3)
    async with client() as http:
        response = await http.get("/api/manual/?page=2")
    body = response.json()
    assert body["count"] == 3
    assert body["previous"] == "http://testserver/api/manual/"
    assert body["results"] == [{"id": 1, "seen_by": "ManualListViewSet.list /api/manual/"}]
