"""The OpenAPI 3.1 document: what it says about the blog example (paths, operations,
parameters, bodies, responses) and about serializers of every kind of field, checked
against the specification with openapi-spec-validator."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from aksara import Aksara
from aksara.api import ModelViewSet, ReadOnlyModelViewSet, Router, SchemaGenerator, action
from aksara.api import serializers as s
from aksara.api.pagination import CursorPagination, LimitOffsetPagination
from aksara.api.serializers import ModelSerializer, Serializer
from examples.blog.app import app as blog_app
from examples.blog.models import Post, User
from tests.models import Category, Kitchen

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def blog() -> dict[str, Any]:
    return blog_app.openapi()


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def ref_name(reference: dict[str, Any]) -> str:
    return str(reference["$ref"].rpartition("/")[2])


def test_the_blog_document_is_valid_openapi_3_1(blog: dict[str, Any]) -> None:
    assert blog["openapi"] == "3.1.0"
    validate(blog)


def test_every_route_and_method_of_the_routers_is_an_operation(blog: dict[str, Any]) -> None:
    paths = blog["paths"]
    assert set(paths) == {
        *("/api/posts/", "/api/posts/{slug}/", "/api/users/", "/api/users/{pk}/"),
        *("/api/users/me/", "/api/comments/", "/api/comments/{pk}/", "/api/tags/"),
        *("/api/tags/{pk}/", "/api/token/", "/api/token/refresh/"),
    }
    assert set(paths["/api/posts/"]) == {"get", "post"}
    assert set(paths["/api/posts/{slug}/"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/api/users/{pk}/"]) == {"get"}  # a read-only viewset
    assert paths["/api/users/me/"]["get"]["operationId"] == "user_me"  # an @action
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids)) == 23
    assert paths["/api/posts/{slug}/"]["patch"]["operationId"] == "post_partial_update"


def test_the_document_is_generated_once_and_kept(blog: dict[str, Any]) -> None:
    assert blog_app.openapi() is blog


def test_path_parameters_have_the_lookup_fields_type(blog: dict[str, Any]) -> None:
    slug = blog["paths"]["/api/posts/{slug}/"]["get"]["parameters"][0]
    assert slug["in"] == "path" and slug["required"] is True
    assert slug["schema"] == {"type": "string", "pattern": "^[^/.]+$"}
    pk = blog["paths"]["/api/users/{pk}/"]["get"]["parameters"][0]
    assert (pk["name"], pk["schema"]) == ("pk", {"type": "integer"})


def test_request_bodies_hold_the_writable_fields_with_the_required_ones(
    blog: dict[str, Any],
) -> None:
    body = blog["paths"]["/api/posts/"]["post"]["requestBody"]
    assert body["required"] is True
    name = ref_name(body["content"]["application/json"]["schema"])
    assert name == "PostDetailRequest"
    schema = schema_of(blog, name)
    assert "id" not in schema["properties"]  # read-only: the auto primary key
    assert "created_at" not in schema["properties"]  # read-only: auto_now_add
    assert schema["required"] == ["title", "slug"]  # the rest have defaults or are read-only
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["properties"]["title"]["minLength"] == 1  # blank refused
    assert "minLength" not in schema["properties"]["content"]  # default "": blank allowed
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "integer"}}
    assert schema["properties"]["view_count"]["maximum"] == 2**31 - 1
    patch = blog["paths"]["/api/posts/{slug}/"]["patch"]["requestBody"]
    patched = schema_of(blog, ref_name(patch["content"]["application/json"]["schema"]))
    assert "required" not in patched
    assert set(patched["properties"]) == set(schema["properties"])


def test_responses_hold_the_readable_fields_per_action(blog: dict[str, Any]) -> None:
    retrieve = blog["paths"]["/api/posts/{slug}/"]["get"]["responses"]["200"]
    post = schema_of(blog, ref_name(retrieve["content"]["application/json"]["schema"]))
    assert post["properties"]["comment_count"] == {"type": "integer"}
    assert post["properties"]["author_name"] == {"type": "string"}
    assert post["properties"]["created_at"] == {"type": "string", "format": "date-time"}
    assert post["properties"]["metadata"] == {}  # any JSON
    created = blog["paths"]["/api/posts/"]["post"]["responses"]
    assert set(created) == {"201", "400", "401", "403", "408", "413", "415", "429"}
    deleted = blog["paths"]["/api/posts/{slug}/"]["delete"]["responses"]
    # 400: a filter in the query string; 409: slug is not unique, so it may name several.
    assert set(deleted) == {"204", "400", "401", "403", "404", "409", "429"}
    assert "409" not in blog["paths"]["/api/users/{pk}/"]["get"]["responses"]
    assert "content" not in deleted["204"]


def test_the_list_is_the_paginators_envelope_around_the_list_serializer(
    blog: dict[str, Any],
) -> None:
    responses = blog["paths"]["/api/posts/"]["get"]["responses"]
    envelope = schema_of(blog, ref_name(responses["200"]["content"]["application/json"]["schema"]))
    assert envelope["required"] == ["count", "next", "previous", "results"]
    assert envelope["properties"]["next"] == {"type": ["string", "null"], "format": "uri"}
    items = envelope["properties"]["results"]["items"]
    assert set(schema_of(blog, ref_name(items))["properties"]) == {
        "id",
        "title",
        "slug",
        "created_at",
    }
    assert "404" in responses  # a page past the last


def parameters(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return {p["name"]: p for p in document["paths"][path][method].get("parameters", ())}


def test_filters_with_their_lookups_ordering_search_fields_and_pages(
    blog: dict[str, Any],
) -> None:
    found = parameters(blog, "/api/posts/")
    assert list(found) == [
        *("is_published", "author", "author__in", "tags", "created_at__gte"),
        *("created_at__lt", "search", "ordering", "page", "page_size", "fields"),
    ]
    assert found["is_published"]["schema"] == {"type": "boolean"}
    assert found["author"]["schema"] == {"type": "integer"}
    assert found["author__in"]["schema"] == {"type": "string"}
    assert "comma-separated" in found["author__in"]["description"]
    assert found["created_at__gte"]["schema"]["format"] == "date-time"
    assert "-view_count" in found["ordering"]["description"]
    assert found["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert all(p["in"] == "query" and p["required"] is False for p in found.values())
    # No filterset, ordering_fields or search_fields: none of their parameters.
    assert list(parameters(blog, "/api/tags/")) == ["page", "page_size", "fields"]
    assert list(parameters(blog, "/api/comments/")) == [
        "post",
        "author",
        "page",
        "page_size",
        "fields",
    ]


def test_error_shapes_are_components(blog: dict[str, Any]) -> None:
    components = blog["components"]
    assert components["schemas"]["Error"]["required"] == ["detail"]
    field_errors = components["schemas"]["ValidationError"]
    assert field_errors["properties"]["non_field_errors"]["items"] == {"type": "string"}
    responses = components["responses"]
    assert set(responses) == {
        *("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict"),
        *("RequestTimeout", "PayloadTooLarge", "UnsupportedMediaType", "Throttled"),
    }
    assert "Retry-After" in responses["Throttled"]["headers"]
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]


def test_the_blogs_authentication_is_its_security(blog: dict[str, Any]) -> None:
    schemes = blog["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["sessionAuth"]["in"] == "cookie"
    either = [{"tokenAuth": []}, {"sessionAuth": []}]
    reads = blog["paths"]["/api/posts/"]["get"]
    writes = blog["paths"]["/api/posts/"]["post"]
    assert reads["security"] == [*either, {}]  # IsAuthenticatedOrReadOnly: reads are open
    assert writes["security"] == either
    assert "401" in writes["responses"] and "401" in reads["responses"]  # bad credentials
    me = blog["paths"]["/api/users/me/"]["get"]
    assert me["security"] == either and "401" in me["responses"]
    assert "429" in reads["responses"]  # the blog throttles anonymous reads
    token = blog["paths"]["/api/token/"]["post"]
    assert "security" not in token  # anyone may ask for a token
    assert set(token["responses"]) == {"200", "400", "408", "413", "415", "default"}


# Serializers of every kind of field, on a document of their own.


class Owner(Serializer):
    """Who made it."""

    id = s.Integer(read_only=True)
    name = s.String(max_length=40)


class Gadget(Serializer):
    id = s.Integer(read_only=True)
    name = s.String(min_length=2, max_length=30)
    email = s.Email(required=False)
    password = s.String(write_only=True)
    kind = s.Choice(["tool", "toy"])
    size = s.Choice([1, 2, 3], allow_null=True, required=False)
    rating = s.Float(min_value=0, max_value=5)
    price = s.Decimal(max_digits=6, decimal_places=2)
    day = s.Date()
    token = s.UUID()
    note = s.String(allow_null=True, required=False, allow_blank=True)
    owner = Owner(read_only=True)
    helpers = Owner(many=True, read_only=True)
    labels = s.List(s.String(max_length=5), max_length=3)
    score = s.SerializerMethodField()

    def get_score(self, obj: Any) -> int | None:
        return None


class KitchenSerializer(ModelSerializer):
    class Meta:
        model = Kitchen
        fields = "__all__"


class CategorySerializer(ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "parent"]
        depth = 1


class GadgetViewSet(ModelViewSet):
    """Gadgets."""

    model = Post
    serializer_class = Gadget
    pagination_class = CursorPagination

    @action(detail=True, methods=["post"], serializer_class=Owner)
    def adopt(self, request: Any, **kwargs: Any) -> Any:
        """Give the gadget an owner."""

    @action(detail=False, methods=["get", "delete"], url_path="old-ones")
    def old(self, request: Any) -> Any:
        """The old ones."""


class KitchenViewSet(ReadOnlyModelViewSet):
    queryset = Kitchen.objects.all()
    serializer_class = KitchenSerializer
    pagination_class = LimitOffsetPagination
    filterset_fields = {"small": ["exact", "gte", "range"], "notes": ["icontains", "isnull"]}


class CategoryViewSet(ReadOnlyModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer


@pytest.fixture(scope="module")
def gadgets() -> dict[str, Any]:
    router = Router(prefix="/v1")
    router.register("gadgets", GadgetViewSet, basename="gadget")
    router.register("kitchens", KitchenViewSet)
    router.register("categories", CategoryViewSet)
    generator = SchemaGenerator(title="Gadgets", version="2.0", description="Things.")
    document = generator.get_schema(router.routes)
    validate(document)
    return document


def test_info_comes_from_the_generator(gadgets: dict[str, Any]) -> None:
    assert gadgets["info"] == {"title": "Gadgets", "version": "2.0", "description": "Things."}
    assert gadgets["tags"][0] == {"name": "gadget", "description": "Gadgets."}


def test_field_types_formats_enums_and_limits(gadgets: dict[str, Any]) -> None:
    read = schema_of(gadgets, "Gadget")["properties"]
    assert read["id"] == {"type": "integer"}
    assert read["email"] == {"type": "string", "format": "email"}
    assert read["kind"] == {"enum": ["tool", "toy"], "type": "string"}
    assert read["size"] == {"enum": [1, 2, 3, None], "type": ["integer", "null"]}
    assert read["rating"] == {"type": "number", "minimum": 0, "maximum": 5}
    assert read["price"]["type"] == "string" and read["price"]["format"] == "decimal"
    assert read["day"] == {"type": "string", "format": "date"}
    assert read["token"] == {"type": "string", "format": "uuid"}
    assert read["note"] == {"type": ["string", "null"]}
    assert read["labels"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 5},
        "maxItems": 3,
    }
    assert read["score"] == {"type": ["integer", "null"]}  # the method's annotation
    assert read["name"] == {"type": "string", "minLength": 2, "maxLength": 30}


def test_read_only_and_write_only_fields_and_required(gadgets: dict[str, Any]) -> None:
    read = schema_of(gadgets, "Gadget")
    write = schema_of(gadgets, "GadgetRequest")
    assert "password" not in read["properties"]
    assert write["properties"]["password"]["type"] == "string"
    assert not {"id", "owner", "helpers", "score"} & set(write["properties"])
    assert write["required"] == [
        *("name", "password", "kind", "rating", "price", "day", "token", "labels"),
    ]
    assert write["properties"]["price"]["type"] == ["string", "number"]
    assert write["properties"]["price"]["pattern"] == r"^-?\d{1,4}(\.\d{1,2})?$"
    assert "pattern" not in read["properties"]["price"]  # the output may use an exponent
    assert "required" not in read  # ?fields= may leave any field out


def test_nested_serializers_are_references_and_many_is_an_array(gadgets: dict[str, Any]) -> None:
    read = schema_of(gadgets, "Gadget")["properties"]
    assert read["owner"] == {"$ref": "#/components/schemas/Owner"}
    assert read["helpers"] == {"type": "array", "items": {"$ref": "#/components/schemas/Owner"}}
    owner = schema_of(gadgets, "Owner")
    assert owner["description"] == "Who made it."
    # depth=1: the parent category nested, nullable because the foreign key is.
    category = schema_of(gadgets, "Category")["properties"]
    parent = category["parent"]
    assert parent["anyOf"][1] == {"type": "null"}
    assert ref_name(parent["anyOf"][0]) == "CategoryNested"


def test_model_fields_null_defaults_and_auto_now(gadgets: dict[str, Any]) -> None:
    read = schema_of(gadgets, "Kitchen")["properties"]
    assert read["notes"] == {"type": ["string", "null"]}
    assert read["big"]["type"] == ["integer", "null"]
    assert read["moment"] == {"type": ["string", "null"], "format": "date-time"}
    assert read["token"] == {"type": ["string", "null"], "format": "uuid"}
    assert read["data"] == {}  # any JSON, null included
    assert read["touched_at"] == {"type": "string", "format": "date-time"}


def test_cursor_and_limit_offset_pagination(gadgets: dict[str, Any]) -> None:
    cursor = parameters(gadgets, "/v1/gadgets/")
    assert cursor["cursor"]["schema"] == {"type": "string"}
    assert "page" not in cursor
    listing = gadgets["paths"]["/v1/gadgets/"]["get"]["responses"]["200"]
    envelope = schema_of(gadgets, ref_name(listing["content"]["application/json"]["schema"]))
    assert set(envelope["properties"]) == {"next", "previous", "results"}
    window = parameters(gadgets, "/v1/kitchens/")
    assert window["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert window["offset"]["schema"] == {"type": "integer", "minimum": 0}
    listing = gadgets["paths"]["/v1/kitchens/"]["get"]["responses"]["200"]
    envelope = schema_of(gadgets, ref_name(listing["content"]["application/json"]["schema"]))
    assert envelope["properties"]["count"] == {"type": "integer", "minimum": 0}
    assert ref_name(envelope["properties"]["results"]["items"]) == "Kitchen"
    # No pagination_class: the list itself.
    plain = gadgets["paths"]["/v1/categories/"]["get"]["responses"]["200"]
    assert plain["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Category"},
    }
    assert "404" not in gadgets["paths"]["/v1/categories/"]["get"]["responses"]


def test_filter_lookups_have_their_value_types(gadgets: dict[str, Any]) -> None:
    found = parameters(gadgets, "/v1/kitchens/")
    assert found["small"]["schema"] == {"type": "integer"}
    assert found["small__gte"]["schema"] == {"type": "integer"}
    assert found["small__range"]["schema"] == {"type": "string"}
    assert found["notes__icontains"]["schema"] == {"type": "string"}
    assert found["notes__isnull"]["schema"] == {"type": "boolean"}


def test_actions_are_operations_with_their_serializer(gadgets: dict[str, Any]) -> None:
    adopt = gadgets["paths"]["/v1/gadgets/{pk}/adopt/"]["post"]
    assert adopt["operationId"] == "gadget_adopt"
    assert adopt["summary"] == "Give the gadget an owner"
    body = adopt["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/OwnerRequest"}
    ok = adopt["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Owner"}
    assert {"400", "404", "413"} <= set(adopt["responses"])
    old = gadgets["paths"]["/v1/gadgets/old-ones/"]
    assert {old["get"]["operationId"], old["delete"]["operationId"]} == {
        "gadget_old_get",
        "gadget_old_delete",
    }
    assert old["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {}


# Authentication, permissions and throttles, read through the names the request flow uses.


class FakeTokenAuthentication:
    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        return "tokenAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class FakeCookieAuthentication:
    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        return "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "session"}


class NoSchemeAuthentication:
    """An authentication class that does not describe itself: left out."""


class AllowAny:
    pass


class IsAuthenticated:
    pass


class IsAuthenticatedOrReadOnly:
    pass


class SecretViewSet(ModelViewSet):
    model = User
    serializer_class = Owner
    authentication_classes = [FakeTokenAuthentication, FakeCookieAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [object]


class OpenReadsViewSet(ModelViewSet):
    model = User
    serializer_class = Owner
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get_authenticators(self) -> list[Any]:
        return [FakeTokenAuthentication(), NoSchemeAuthentication()]


class PublicViewSet(ReadOnlyModelViewSet):
    model = User
    serializer_class = Owner
    authentication_classes = ["tests.api.test_openapi.FakeTokenAuthentication"]  # dotted
    permission_classes = [AllowAny]


@pytest.fixture(scope="module")
def secured() -> dict[str, Any]:
    router = Router()
    router.register("secrets", SecretViewSet, basename="secret")
    router.register("open", OpenReadsViewSet, basename="open")
    router.register("public", PublicViewSet, basename="public")
    document = SchemaGenerator().get_schema(router.routes)
    validate(document)
    return document


def test_security_schemes_come_from_the_authentication_classes(secured: dict[str, Any]) -> None:
    assert secured["components"]["securitySchemes"] == {
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
        "tokenAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    secret = secured["paths"]["/api/secrets/"]["get"]
    assert secret["security"] == [{"tokenAuth": []}, {"cookieAuth": []}]
    assert {"401", "403", "429"} <= set(secret["responses"])


def test_anonymous_access_is_an_empty_requirement(secured: dict[str, Any]) -> None:
    reads = secured["paths"]["/api/open/"]["get"]
    writes = secured["paths"]["/api/open/"]["post"]
    assert reads["security"] == [{"tokenAuth": []}, {}]
    assert writes["security"] == [{"tokenAuth": []}]
    assert "401" in reads["responses"] and "401" in writes["responses"]
    assert "429" not in writes["responses"]
    public = secured["paths"]["/api/public/"]["get"]
    assert public["security"] == [{"tokenAuth": []}, {}]
    assert "403" not in public["responses"]
    assert "401" in public["responses"]  # credentials that are not valid are refused


def test_docs_and_schema_urls_can_be_turned_off() -> None:
    from starlette.routing import Route

    app = Aksara(openapi_url=None, docs_url=None)
    paths = {route.path for route in app.routes if isinstance(route, Route)}
    assert not {"/openapi.json", "/docs"} & paths
    app = Aksara(title="Mine", version="9", docs_url=None)
    paths = {route.path for route in app.routes if isinstance(route, Route)}
    assert "/openapi.json" in paths and "/docs" not in paths
    assert app.openapi()["info"] == {"title": "Mine", "version": "9"}


def test_a_router_included_later_is_in_the_next_document() -> None:
    app = Aksara()
    assert app.openapi()["paths"] == {}
    router = Router()
    router.register("users", PublicViewSet, basename="user")
    app.include_router(router)
    assert set(app.openapi()["paths"]) == {"/api/users/", "/api/users/{pk}/"}


@pytest.mark.parametrize("method", METHODS)
def test_no_operation_documents_head_or_options(blog: dict[str, Any], method: str) -> None:
    for item in blog["paths"].values():
        assert not {"head", "options"} & set(item)
