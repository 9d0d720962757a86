"""Server errors schemathesis found, each kept as a plain test on both databases: they are
400s with the field's message now."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

import aksara
from aksara.db import Database
from examples.blog.app import app as blog_app
from examples.blog.models import Post, User
from examples.blog.seed import seed_api
from tests.api.test_openapi_fuzz import kitchen_app
from tests.models import Category, Kitchen, Tag
from tests.test_example_api import TEST_AUTH, log_in


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kitchen_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_null_character_in_a_text_filter_is_a_400(client: httpx.AsyncClient) -> None:
    await Kitchen.objects.create(label="abc")
    for key in ("label__startswith", "label__icontains", "label", "notes__iexact", "small"):
        response = await client.get("/k/kitchens/", params={key: "a\x00b"})
        assert response.status_code == 400, (key, response.text)
        assert response.json() == {key: ["Null characters are not allowed."]}
    assert (await client.get("/k/kitchens/", params={"label__startswith": "ab"})).json()[
        "count"
    ] == 1


async def test_a_required_column_the_serializer_shows_read_only_is_a_400(
    client: httpx.AsyncClient,
) -> None:
    # depth=1 shows the category nested and read-only: a create cannot give it.
    response = await client.post("/k/tags/", json={"name": "orphan"})
    assert response.status_code == 400
    assert list(response.json()) == ["category"]
    assert "required" in response.json()["category"][0]
    assert await Tag.objects.count() == 0
    parent = await Category.objects.create(name="p")
    await Tag.objects.create(name="kept", category=parent)
    assert (await client.get("/k/tags/")).json()[0]["category"]["name"] == "p"


async def test_a_lookup_value_naming_several_objects_is_a_409(db: Database) -> None:
    # The guide's Post.slug is indexed, not unique: two posts may share one.
    aksara.configure(**TEST_AUTH)
    await seed_api(users=1, posts=0, comments=0)
    author = await User.objects.get()
    for title in ("first", "second"):
        await Post.objects.create(title=title, slug="same", author=author)
    transport = httpx.ASGITransport(app=blog_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = await log_in(client, author.email)
        read = await client.get("/api/posts/same/")
        write = await client.put(
            "/api/posts/same/", json={"title": "x", "slug": "same"}, headers=headers
        )
        gone = await client.delete("/api/posts/same/", headers=headers)
    for response in (read, write, gone):
        assert response.status_code == 409, response.text
        assert "More than one Post has this slug" in response.json()["detail"]
    titles = await Post.objects.filter(slug="same").values_list("title", flat=True)
    assert sorted(titles) == ["first", "second"]
