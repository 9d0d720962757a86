"""Function endpoints on a Router: ``@router.get("/path")`` and friends."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse

import aksara
from aksara import Aksara
from aksara.api import NotFound, Response, Router, ViewSet
from aksara.db import Database
from examples.blog.models import User


class ItemViewSet(ViewSet):
    async def retrieve(self, request: Request, pk: str) -> dict[str, str]:
        return {"viewset": pk}


def make_app() -> Aksara:
    router = Router(prefix="/api")

    @router.get("/hello")
    async def hello(request: Request) -> dict[str, Any]:
        return {"message": "Hello", "name": request.query_params.get("name")}

    @router.get("/page")
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<p>page</p>")

    @router.get("/items/recent/")
    def recent(request: Request) -> list[int]:  # sync functions are served too
        return [3, 2, 1]

    @router.post("/items/", name="item-create")
    async def create(request: Request) -> Response:
        return Response(await request.json(), status=201)

    @router.route("/things/{key}", methods=["put", "DELETE"])
    async def thing(request: Request) -> dict[str, str]:
        if request.path_params["key"] == "missing":
            raise NotFound()
        return {"method": request.method, "key": request.path_params["key"]}

    router.register("items", ItemViewSet, basename="item")
    app = Aksara()
    app.include_router(router)
    return app


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t")


async def test_a_result_that_is_data_becomes_json() -> None:
    async with client() as http:
        answer = await http.get("/api/hello", params={"name": "Ada"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {"message": "Hello", "name": "Ada"}
        assert (await http.get("/api/items/recent/")).json() == [3, 2, 1]


async def test_a_response_is_sent_as_it_is() -> None:
    async with client() as http:
        page = await http.get("/api/page")
        assert page.headers["content-type"].startswith("text/html")
        assert page.text == "<p>page</p>"
        created = await http.post("/api/items/", json={"a": 1})
        assert (created.status_code, created.json()) == (201, {"a": 1})


async def test_methods_head_and_errors() -> None:
    async with client() as http:
        head = await http.head("/api/hello")
        assert (head.status_code, head.content) == (200, b"")
        assert (await http.put("/api/things/a")).json() == {"method": "PUT", "key": "a"}
        assert (await http.delete("/api/things/b")).json() == {"method": "DELETE", "key": "b"}
        refused = await http.post("/api/hello")
        assert refused.status_code == 405
        assert refused.json() == {"detail": 'Method "POST" not allowed.'}
        missing = await http.put("/api/things/missing")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})


async def test_functions_come_before_the_viewset_routes() -> None:
    async with client() as http:
        # Without the function first, the detail route would take "recent" as its pk.
        assert (await http.get("/api/items/recent/")).json() == [3, 2, 1]
        assert (await http.get("/api/items/7/")).json() == {"viewset": "7"}


def test_route_names_and_url_for() -> None:
    app = make_app()
    assert app.url_path_for("hello") == "/api/hello"
    assert app.url_path_for("item-create") == "/api/items/"
    assert app.url_path_for("thing", key="x") == "/api/things/x"


def test_bad_paths_and_methods_are_refused() -> None:
    router = Router()
    with pytest.raises(ValueError, match="starts with '/'"):
        router.get("health")
    with pytest.raises(ValueError, match="choose from DELETE, GET, PATCH, POST, PUT"):

        @router.route("/x", methods=["TRACE"])
        async def trace(request: Request) -> None: ...

    assert router.functions == []


async def test_the_query_budget_holds_for_function_endpoints(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(3):
        await User.objects.create(name=f"U{number}", email=f"u{number}@example.com")
    router = Router(prefix="/api")

    @router.get("/names")
    async def names(request: Request) -> list[str]:
        return [(await User.objects.get(pk=pk)).name for pk in (1, 2, 3)]

    app = Aksara()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/api/names")).json() == ["U0", "U1", "U2"]
        assert not [r for r in caplog.records if r.name == "aksara.budget"]
        aksara.configure(MAX_QUERIES_PER_REQUEST=2)
        warned = await http.get("/api/names")
        assert warned.json() == ["U0", "U1", "U2"]
        [record] = [r for r in caplog.records if r.name == "aksara.budget"]
        report = "GET /api/names (test_the_query_budget_holds_for_function_endpoints.<locals>."
        assert record.levelname == "WARNING"
        assert report in record.getMessage()
        assert "ran 3 queries, budget 2." in record.getMessage()
        aksara.configure(DEBUG=True)
        refused = await http.get("/api/names")
    assert refused.status_code == 500
    assert "Query budget exceeded: GET /api/names" in refused.json()["detail"]
