"""``/openapi.json`` and the Swagger UI page at ``/docs``, served by the app from the pinned
bundle's files: nothing on the page is fetched from another host."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from aksara import Aksara
from aksara.api.openapi import docs_page
from examples.blog.app import app as blog_app
from examples.blog.app import router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=blog_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_document_is_served_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == orjson.loads(orjson.dumps(blog_app.openapi()))
    again = await client.get("/openapi.json")
    assert again.content == response.content


async def test_the_docs_page_and_every_asset_it_loads_are_local(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert 'url: "/openapi.json"' in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {asset.rsplit("/", 1)[1] for asset in assets} == {
        "swagger-ui.css",
        "favicon-32x32.png",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    types = {"css": "text/css", "js": "javascript", "png": "image/png"}
    for asset in assets:
        assert asset.startswith("/docs/static/")
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset
        assert types[asset.rsplit(".", 1)[1]] in loaded.headers["content-type"]
        assert len(loaded.content) > 100
    bundle = await client.get("/docs/static/swagger-ui-bundle.js")
    # Swagger UI 5 (OpenAPI 3.1 support) rather than 4.
    assert b'"5.' in bundle.content


async def test_the_static_route_serves_nothing_outside_the_bundle(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/docs/static/../../../etc/passwd", "/docs/static/%2e%2e/__init__.py"):
        response = await client.get(path)
        assert response.status_code == 404
        assert b"root:" not in response.content


async def test_the_page_follows_the_apps_root_path() -> None:
    transport = httpx.ASGITransport(app=blog_app, root_path="/blog")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = (await client.get("/blog/docs")).text
    assert 'url: "/blog/openapi.json"' in page
    assert 'src="/blog/docs/static/swagger-ui-bundle.js"' in page


async def test_custom_urls_and_titles_are_escaped() -> None:
    app = Aksara(title="<Blog & co>", openapi_url="/schema.json", docs_url="/api-docs")
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = (await client.get("/api-docs")).text
        assert (await client.get("/api-docs/static/swagger-ui.css")).status_code == 200
        schema = (await client.get("/schema.json")).json()
        assert (await client.get("/openapi.json")).status_code == 404
        assert (await client.get("/docs")).status_code == 404
    assert "<title>&lt;Blog &amp; co&gt;</title>" in page
    assert 'url: "/schema.json"' in page
    assert schema["info"]["title"] == "<Blog & co>"
    assert "/api/posts/" in schema["paths"]


def test_a_script_cannot_be_closed_by_the_schema_url() -> None:
    page = docs_page("t", "/x</script><script>alert(1)//", "/static")
    assert "</script><script>alert" not in page


async def test_a_router_included_after_a_request_is_served_next_time() -> None:
    app = Aksara()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/openapi.json")).json()["paths"] == {}
        app.include_router(router)
        assert "/api/posts/" in (await client.get("/openapi.json")).json()["paths"]


def test_api_routes_are_matched_before_the_docs_routes() -> None:
    paths = [getattr(route, "path", None) for route in blog_app.routes]
    assert paths.index("/api/posts/") < paths.index("/openapi.json") < paths.index("/docs")
    assert blog_app.openapi()["info"] == {"title": "Aksara blog", "version": "1.0"}
