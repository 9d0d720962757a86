"""The function endpoints of a Router (``@router.get("/stats")``) in the OpenAPI document:
path parameters typed by their convertors, the docstring as summary and description, the
200 body from the return annotation, the errors, unique operation ids; and schemathesis
against them (the responses conform to what the document says)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from aksara import Aksara
from aksara.api import ModelViewSet, NotFound, Router
from aksara.api.serializers import ModelSerializer
from tests.api.fuzzing import fuzz
from tests.models import Category


class Stats(msgspec.Struct):
    """Counts of the site."""

    posts: int
    users: int


class Item(TypedDict):
    id: int
    name: str


@dataclasses.dataclass
class Echo:
    method: str
    size: float


class CategorySerializer(ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name"]


class CategoryViewSet(ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer


router = Router(prefix="/f")
router.register("categories", CategoryViewSet)


@router.get("/stats")
async def stats(request: Request) -> Stats:
    """Site statistics.

    Counted on every request; nothing is cached.
    """
    return Stats(posts=3, users=2)


@router.get("/items/{id:int}")
async def item(request: Request) -> Item:
    """Find an item by its number."""
    number = request.path_params["id"]
    if number > 100:
        raise NotFound(f"No item {number}.")
    return {"id": number, "name": f"item {number}"}


@router.route("/echo/{size:float}", methods=["GET", "POST"])
def echo(request: Request) -> Echo:
    return Echo(method=request.method, size=request.path_params["size"])


@router.get("/keys/{key}")
async def key(request: Request) -> dict[str, Any]:
    """The key as given."""
    return {"key": request.path_params["key"]}


@router.get("/tokens/{token:uuid}")
async def token(request: Request) -> list[Item]:
    """Items of a token."""
    return [{"id": request.path_params["token"].int % 7, "name": "t"}]


@router.get("/files/{path:path}")
async def files(request: Request) -> PlainTextResponse:
    """A file's text."""
    return PlainTextResponse(request.path_params["path"])


@router.get("/category-names")
async def category_names(request: Request) -> Any:
    return ["a", "b"]


other = Router(prefix="/g")


@other.get("/stats")
async def stats_again(request: Request) -> CategorySerializer:
    """Another router's stats."""
    return {"id": 1, "name": "one"}  # type: ignore[return-value]


stats_again.__name__ = "stats"  # the same function name as /f/stats: the ids stay unique

app = Aksara()
app.include_router(router)
app.include_router(other)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    schema = app.openapi()
    validate(schema)
    return schema


def test_every_function_route_is_an_operation(document: dict[str, Any]) -> None:
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert {
        ("/f/stats", "get"),
        ("/f/items/{id}", "get"),
        ("/f/echo/{size}", "get"),
        ("/f/echo/{size}", "post"),
        ("/f/keys/{key}", "get"),
        ("/f/tokens/{token}", "get"),
        ("/f/files/{path}", "get"),
        ("/f/category-names", "get"),
        ("/g/stats", "get"),
    } <= operations
    assert ("/f/categories/", "get") in operations  # the viewset's operations stay
    assert not any("head" in item for item in document["paths"].values())
    assert "/openapi.json" not in document["paths"]


def test_path_parameters_are_typed_by_their_convertors(document: dict[str, Any]) -> None:
    def parameter(path: str) -> dict[str, Any]:
        [found] = document["paths"][path]["get"]["parameters"]
        assert found["in"] == "path" and found["required"] is True
        return found

    assert parameter("/f/items/{id}")["schema"] == {"type": "integer", "minimum": 0}
    assert parameter("/f/echo/{size}")["schema"] == {"type": "number", "minimum": 0}
    assert parameter("/f/tokens/{token}")["schema"] == {"type": "string", "format": "uuid"}
    assert parameter("/f/files/{path}")["schema"] == {"type": "string"}
    assert parameter("/f/keys/{key}") == {
        "name": "key",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[^/]+$"},
    }
    assert "parameters" not in document["paths"]["/f/stats"]["get"]


def test_docstring_is_the_summary_and_description(document: dict[str, Any]) -> None:
    stats_op = document["paths"]["/f/stats"]["get"]
    assert stats_op["summary"] == "Site statistics"
    assert (
        stats_op["description"]
        == "Site statistics.\n\nCounted on every request; nothing is cached."
    )
    item_op = document["paths"]["/f/items/{id}"]["get"]
    assert item_op["summary"] == "Find an item by its number"
    assert "description" not in item_op
    assert document["paths"]["/f/echo/{size}"]["get"]["summary"] == "Echo"
    assert document["paths"]["/f/category-names"]["get"]["summary"] == "Category names"


def test_operation_ids_come_from_the_function_names_and_are_unique(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert paths["/f/stats"]["get"]["operationId"] == "stats"
    assert paths["/g/stats"]["get"]["operationId"] == "stats_2"
    assert paths["/f/echo/{size}"]["get"]["operationId"] == "echo_get"
    assert paths["/f/echo/{size}"]["post"]["operationId"] == "echo_post"
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))


def _body(document: dict[str, Any], path: str, method: str = "get") -> Any:
    response = document["paths"][path][method]["responses"]["200"]
    return response.get("content", {}).get("application/json", {}).get("schema")


def test_the_200_body_follows_the_return_annotation(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert _body(document, "/f/stats") == {"$ref": "#/components/schemas/Stats"}
    assert schemas["Stats"]["required"] == ["posts", "users"]
    assert schemas["Stats"]["properties"]["posts"] == {"type": "integer"}
    assert _body(document, "/f/items/{id}") == {"$ref": "#/components/schemas/Item"}
    assert schemas["Item"]["properties"]["name"] == {"type": "string"}
    assert _body(document, "/f/echo/{size}", "post") == {"$ref": "#/components/schemas/Echo"}
    assert _body(document, "/f/tokens/{token}") == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item"},
    }
    assert _body(document, "/g/stats") == {"$ref": "#/components/schemas/Category"}
    assert _body(document, "/f/keys/{key}") == {}  # a plain dict: any JSON
    assert _body(document, "/f/category-names") == {}
    assert _body(document, "/f/files/{path}") is None  # a Response: no JSON body declared


def test_errors_are_declared_and_writes_take_a_body(document: dict[str, Any]) -> None:
    for item in (document["paths"]["/f/stats"], document["paths"]["/f/echo/{size}"]):
        for operation in item.values():
            responses = operation["responses"]
            assert responses["400"] == {"$ref": "#/components/responses/BadRequest"}
            assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
            assert "default" in responses
    assert document["paths"]["/f/echo/{size}"]["post"]["requestBody"]["required"] is False
    assert "requestBody" not in document["paths"]["/f/echo/{size}"]["get"]


async def test_generated_requests_conform() -> None:
    # The function routes alone: the viewset's need a database, and are fuzzed elsewhere.
    functions_only = Router(prefix="/f")
    functions_only.functions = list(router.functions)
    function_app = Aksara()
    function_app.include_router(functions_only)
    transport = httpx.ASGITransport(app=function_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        sent, failures = await fuzz(client, 10, function_app)
    assert sent >= 8 * 5  # every operation was exercised
    assert not failures, "\n".join(failures[:20])
