"""Routes of a registered viewset: which URLs and methods exist, HEAD, OPTIONS, 405 with
Allow, the trailing-slash redirect, route names, and what register() refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Mount

from aksara import Aksara
from aksara.api import ModelViewSet, ReadOnlyModelViewSet, Response, Router, ViewSet, action
from aksara.api.routing import ViewSetRoute
from aksara.exceptions import ConfigurationError
from examples.blog.models import Post


class ThingViewSet(ViewSet):
    """Things to try the router on.

    More text that OPTIONS leaves out.
    """

    async def list(self, request: Request) -> Response:
        return Response([{"action": self.action}])

    def retrieve(self, request: Request, pk: str) -> dict[str, Any]:
        # A sync handler returning plain data: the route wraps it in a Response.
        return {"pk": pk, "action": self.action, "kwargs": self.kwargs, "detail": self.detail}

    @action(detail=False, methods=["post"])
    async def bulk(self, request: Request) -> Response:
        return Response({"action": self.action}, status=201)

    @action(detail=True, methods=["get", "delete"], url_path="do-it", url_name="doit")
    async def do_it(self, request: Request, pk: str) -> Response:
        return Response({"pk": pk, "method": request.method, "basename": self.basename})

    @action(detail=False, tag="extra")
    async def tagged(self, request: Request) -> Response:
        return Response({"tag": self.tag})  # type: ignore[attr-defined]


class PostReadViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.all()


class SlugViewSet(ViewSet):
    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"

    async def retrieve(self, request: Request, slug: str) -> Response:
        return Response({"slug": slug})


def make_app(trailing_slash: bool = True) -> Aksara:
    router = Router(prefix="/api", trailing_slash=trailing_slash)
    router.register("things", ThingViewSet, basename="thing")
    router.register("slugs", SlugViewSet, basename="slug")
    app = Aksara()
    app.include_router(router)
    return app


def client_for(app: Aksara) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


APP = make_app()


async def test_list_detail_and_action_routes() -> None:
    async with client_for(APP) as client:
        listing = await client.get("/api/things/")
        assert listing.status_code == 200
        assert listing.headers["content-type"] == "application/json"
        assert listing.json() == [{"action": "list"}]
        detail = await client.get("/api/things/7/")
        assert detail.json() == {
            "pk": "7",
            "action": "retrieve",
            "kwargs": {"pk": "7"},
            "detail": True,
        }
        bulk = await client.post("/api/things/bulk/")
        assert (bulk.status_code, bulk.json()) == (201, {"action": "bulk"})
        did = await client.delete("/api/things/7/do-it/")
        assert did.json() == {"pk": "7", "method": "DELETE", "basename": "thing"}
        tagged = await client.get("/api/things/tagged/")
        assert tagged.json() == {"tag": "extra"}


async def test_only_implemented_methods_are_routed_and_405_lists_allow() -> None:
    async with client_for(APP) as client:
        for method, url, allow in [
            ("POST", "/api/things/", "GET, HEAD, OPTIONS"),
            ("PUT", "/api/things/7/", "GET, HEAD, OPTIONS"),
            ("PATCH", "/api/things/7/", "GET, HEAD, OPTIONS"),
            ("DELETE", "/api/things/7/", "GET, HEAD, OPTIONS"),
            ("GET", "/api/things/bulk/", "OPTIONS, POST"),
            ("POST", "/api/things/7/do-it/", "DELETE, GET, HEAD, OPTIONS"),
        ]:
            response = await client.request(method, url)
            assert response.status_code == 405, (method, url)
            assert response.headers["allow"] == allow
            assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_read_only_model_viewset_has_no_write_routes() -> None:
    router = Router()
    router.register("posts", PostReadViewSet)
    routes = router.routes
    assert [(route.name, route.allowed) for route in routes] == [  # type: ignore[attr-defined]
        ("post-list", ["GET", "HEAD", "OPTIONS"]),
        ("post-detail", ["GET", "HEAD", "OPTIONS"]),
    ]


def test_model_viewset_routes_every_standard_action() -> None:
    class PostViewSet(ModelViewSet):
        queryset = Post.objects.all()

    router = Router(prefix="api/v1/")
    router.register("posts", PostViewSet)
    routes = router.routes
    assert all(isinstance(route, ViewSetRoute) for route in routes)
    assert [(route.path, route.allowed) for route in routes] == [  # type: ignore[attr-defined]
        ("/api/v1/posts/", ["GET", "HEAD", "OPTIONS", "POST"]),
        ("/api/v1/posts/{pk}/", ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"]),
    ]


async def test_head_is_get_without_a_body() -> None:
    async with client_for(APP) as client:
        got = await client.get("/api/things/7/")
        head = await client.head("/api/things/7/")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]


async def test_options_answers_with_allow() -> None:
    async with client_for(APP) as client:
        response = await client.options("/api/things/")
        assert response.status_code == 200
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"
        assert response.json() == {
            "name": "Thing List",
            "description": "Things to try the router on.",
        }
        detail = await client.options("/api/things/1/do-it/")
        assert detail.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
        assert detail.json()["name"] == "Thing Instance"


async def test_get_without_trailing_slash_redirects_keeping_the_query() -> None:
    async with client_for(APP) as client:
        response = await client.get("/api/things?page=2&fields=id,title")
        assert response.status_code == 301
        assert response.headers["location"] == "/api/things/?page=2&fields=id,title"
        detail = await client.get("/api/things/7")
        assert (detail.status_code, detail.headers["location"]) == (301, "/api/things/7/")
        followed = await client.get("/api/things/7", follow_redirects=True)
        assert followed.json()["pk"] == "7"
        head = await client.head("/api/things/7/do-it")
        assert (head.status_code, head.headers["location"]) == (301, "/api/things/7/do-it/")


async def test_unsafe_method_without_trailing_slash_is_a_404_naming_the_url() -> None:
    async with client_for(APP) as client:
        response = await client.post("/api/things/bulk", json={"a": 1})
        assert response.status_code == 404
        assert "location" not in response.headers
        detail = response.json()["detail"]
        assert "send POST to /api/things/bulk/" in detail
        deleted = await client.delete("/api/things/1/do-it")
        assert deleted.status_code == 404
        assert "send DELETE to /api/things/1/do-it/" in deleted.json()["detail"]


async def test_router_without_trailing_slash() -> None:
    async with client_for(make_app(trailing_slash=False)) as client:
        assert (await client.get("/api/things/7")).json()["pk"] == "7"
        assert (await client.post("/api/things/bulk")).status_code == 201
        redirected = await client.get("/api/things/?x=1")
        assert (redirected.status_code, redirected.headers["location"]) == (301, "/api/things?x=1")
        refused = await client.post("/api/things/bulk/")
        assert refused.status_code == 404
        assert "has no trailing slash: send POST to /api/things/bulk" in refused.json()["detail"]


async def test_lookup_value_regex_and_lookup_field_name_the_path_parameter() -> None:
    async with client_for(APP) as client:
        response = await client.get("/api/slugs/abc-123/")
        assert response.json() == {"slug": "abc-123"}
        # Outside the regex: no route matches at all.
        assert (await client.get("/api/slugs/ABC/")).status_code == 404
        # DRF's default regex refuses dots.
        assert (await client.get("/api/things/a.b/")).status_code == 404


async def test_unknown_path_is_a_json_404() -> None:
    async with client_for(APP) as client:
        response = await client.get("/api/nothing/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_route_names_and_url_path_for() -> None:
    assert APP.url_path_for("thing-list") == "/api/things/"
    assert APP.url_path_for("thing-detail", pk=5) == "/api/things/5/"
    assert APP.url_path_for("thing-doit", pk=5) == "/api/things/5/do-it/"
    assert APP.url_path_for("thing-bulk") == "/api/things/bulk/"
    assert APP.url_path_for("slug-detail", slug="a-b") == "/api/slugs/a-b/"


def test_register_refuses_what_it_cannot_route() -> None:
    router = Router()
    with pytest.raises(TypeError, match="takes a ViewSet subclass"):
        router.register("things", object)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="needs basename="):
        router.register("things", ThingViewSet)
    router.register("posts", PostReadViewSet)
    with pytest.raises(ConfigurationError, match="Basename 'post' is registered already"):
        router.register("other-posts", PostReadViewSet)


def test_action_needs_detail_and_not_a_standard_name() -> None:
    with pytest.raises(TypeError, match="detail=True"):
        action()
    with pytest.raises(TypeError, match="standard action"):

        @action(detail=False)
        def list(self: Any, request: Request) -> None: ...


def test_extra_actions_are_found_once_per_class_and_inherited() -> None:
    class More(ThingViewSet):
        @action(detail=True)
        async def more(self, request: Request, pk: str) -> None: ...

    assert [f.__name__ for f in More.get_extra_actions()] == ["bulk", "do_it", "tagged", "more"]
    assert More.implemented_actions() == ("list", "retrieve")


async def test_routes_work_under_a_mount() -> None:
    router = Router(prefix="/api")
    router.register("things", ThingViewSet, basename="thing")
    app = Aksara(routes=[Mount("/v1", routes=router.routes)])
    async with client_for(app) as client:
        assert (await client.get("/v1/api/things/3/")).json()["pk"] == "3"
        redirected = await client.get("/v1/api/things/3?x=1")
        assert redirected.headers["location"] == "/v1/api/things/3/?x=1"
        assert (await client.get("/api/things/3/")).status_code == 404
    assert app.url_path_for("thing-detail", pk=3) == "/v1/api/things/3/"
