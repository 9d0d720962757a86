"""schemathesis against the blog example's own ``/openapi.json`` (and an app with every
kind of field), in process (ASGI), on both
databases: requests generated from the document for every operation must never get a
server error, and every response must be one the document describes (status, content
type, headers, body schema).

The default run draws 25 cases per operation; the ``slow`` group 2,000 (``pytest -m
slow``; ``AKSARA_FUZZ_EXAMPLES=500`` for fewer). The machinery is in tests/api/fuzzing.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

import aksara
from aksara import Aksara
from aksara.api import ModelViewSet, Router
from aksara.api.pagination import CursorPagination, LimitOffsetPagination
from aksara.api.serializers import ModelSerializer
from aksara.db import Database
from examples.blog.app import app
from examples.blog.seed import seed_api
from tests.api.fuzzing import fuzz
from tests.models import Category, Kitchen, Tag
from tests.test_example_api import TEST_AUTH

#: What no response may show: SQL, a traceback, a file path of the code, a database URL or
#: the signing key (issue 14: hostile input must leak nothing).
LEAKS = (
    'SELECT "',
    'FROM "',
    "INSERT INTO",
    "Traceback (most recent call last)",
    'File "',
    str(Path(__file__).resolve().parents[2]),
    "postgresql://",
    "sqlite:///",
    TEST_AUTH["SECRET_KEY"],
    "$argon2",
)


def leaks(response: httpx.Response) -> str | None:
    """Why *response* leaks, or None."""
    body = response.text
    found = [marker for marker in LEAKS if marker in body]
    return f"the response shows {found}" if found else None


#: Cases per operation in the slow group (``AKSARA_FUZZ_EXAMPLES`` sets fewer, for CI).
SLOW_EXAMPLES = int(os.environ.get("AKSARA_FUZZ_EXAMPLES", "2000"))


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    aksara.configure(**TEST_AUTH)
    await seed_api(users=3, posts=8, comments=8)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_generated_requests_get_no_server_error_and_conform(
    client: httpx.AsyncClient,
) -> None:
    sent, failures = await fuzz(client, 25, app, inspect=leaks)
    assert sent >= 24 * 10  # every operation was exercised
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_two_thousand_requests_per_operation(client: httpx.AsyncClient) -> None:
    sent, failures = await fuzz(client, SLOW_EXAMPLES, app, inspect=leaks)
    assert sent >= 24 * SLOW_EXAMPLES // 2
    assert not failures, "\n".join(failures[:20])


# Every kind of field, nullable columns, nested and self-referencing relations, every
# paginator and a wide filterset, on an app of their own.


class KitchenSerializer(ModelSerializer):
    class Meta:
        model = Kitchen
        fields = "__all__"


class CategorySerializer(ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "parent"]


class TagSerializer(ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "category"]
        depth = 1


class KitchenViewSet(ModelViewSet):
    queryset = Kitchen.objects.all()
    serializer_class = KitchenSerializer
    pagination_class = LimitOffsetPagination
    filterset_fields = {
        "small": ["exact", "gte", "lt", "in", "range"],
        "big": ["exact", "isnull"],
        "ratio": ["gt"],
        "price": ["exact", "lte"],
        "flag": ["exact"],
        "moment": ["gte", "isnull"],
        "day": ["exact", "range"],
        "token": ["exact"],
        "label": ["exact", "icontains", "startswith"],
        "notes": ["isnull", "iexact"],
    }
    ordering_fields = "__all__"
    search_fields = ["label", "=notes"]


class CategoryViewSet(ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    pagination_class = CursorPagination
    lookup_field = "name"
    filterset_fields = {"parent": ["exact", "isnull"], "parent__name": ["icontains"]}


class TagViewSet(ModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_fields = ["category"]


kitchen_router = Router(prefix="/k")
kitchen_router.register("kitchens", KitchenViewSet)
kitchen_router.register("categories", CategoryViewSet)
kitchen_router.register("tags", TagViewSet)
kitchen_app = Aksara()
kitchen_app.include_router(kitchen_router)


def test_the_kitchen_document_is_valid() -> None:
    document = kitchen_app.openapi()
    validate(document)
    assert len([op for item in document["paths"].values() for op in item]) == 18


@pytest.fixture
async def kitchen_client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    root = await Category.objects.create(name="root")
    child = await Category.objects.create(name="child", parent=root)
    await Tag.objects.create(name="t1", category=child)
    await Kitchen.objects.create(label="full", notes="n", big=2**40, ratio=0.5, flag=True)
    await Kitchen.objects.create(label="empty")
    transport = httpx.ASGITransport(app=kitchen_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_every_kind_of_field_and_paginator_gets_no_server_error(
    kitchen_client: httpx.AsyncClient,
) -> None:
    sent, failures = await fuzz(kitchen_client, 25, kitchen_app)
    assert sent >= 18 * 10
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_two_thousand_requests_per_operation_of_every_kind_of_field(
    kitchen_client: httpx.AsyncClient,
) -> None:
    sent, failures = await fuzz(kitchen_client, SLOW_EXAMPLES, kitchen_app)
    assert sent >= 18 * SLOW_EXAMPLES // 2
    assert not failures, "\n".join(failures[:20])


def test_the_leak_check_names_what_a_body_shows() -> None:
    shown = httpx.Response(500, text='Traceback (most recent call last):\n  File "/x.py"')
    assert leaks(shown) == "the response shows ['Traceback (most recent call last)', 'File \"']"
    assert leaks(httpx.Response(400, json={"title": ["This field is required."]})) is None
