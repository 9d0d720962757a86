"""The ASGI app: lifespan opens and closes the database; N+1 detection per request."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.db import Database, get_database
from aksara.debug import NPlusOneWarning
from examples.blog.models import Post
from examples.blog.seed import seed
from tests.conftest import pool_options


async def list_authors(request: Request) -> JSONResponse:
    posts = await Post.objects.order_by("id").limit(6)
    return JSONResponse([(await post.author).name for post in posts])


async def list_authors_joined(request: Request) -> JSONResponse:
    posts = await Post.objects.select_related("author").order_by("id").limit(6)
    return JSONResponse([post.author.name for post in posts])


def client_for(app: Aksara) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


APP = Aksara(routes=[Route("/authors", list_authors), Route("/joined", list_authors_joined)])


async def test_n_plus_one_warns_on_every_request_in_debug(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    aksara.configure(DEBUG=True)
    async with client_for(APP) as client:
        with pytest.warns(
            NPlusOneWarning,
            match=r"N\+1 detected!\nIn: GET /authors\nSimilar query executed 6 times",
        ):
            response = await client.get("/authors")
        assert response.status_code == 200
        assert len(response.json()) == 6
        joined = await client.get("/joined")  # one query: no warning (warnings are errors)
        assert joined.json() == response.json()


async def test_no_detection_without_debug_unless_asked(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    async with client_for(APP) as client:
        response = await client.get("/authors")  # DEBUG off: no warning raised
        assert response.status_code == 200
        aksara.configure(DETECT_N_PLUS_ONE=True)
        with pytest.warns(NPlusOneWarning):
            await client.get("/authors")


async def test_lifespan_opens_and_closes_the_database(database_url: str) -> None:
    aksara.settings.reset()
    aksara.configure(DATABASE_URL=database_url, DATABASE_POOL=pool_options())
    app = Aksara()
    try:
        async with app.router.lifespan_context(app):
            database = get_database()
            assert database.is_open
            assert await database.fetchval("SELECT 1") == 1
        assert not database.is_open
        assert get_database() is not database
    finally:
        await aksara.disconnect()
        aksara.settings.reset()


async def test_headers_past_max_header_bytes_are_a_431() -> None:
    import httpx

    from aksara import Aksara, configure

    app = Aksara()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        configure(MAX_HEADER_BYTES=2048)
        try:
            big = await client.get("/nowhere", headers={"x-big": "a" * 3000})
            fine = await client.get("/nowhere", headers={"x-small": "a" * 1000})
        finally:
            configure(MAX_HEADER_BYTES=32 * 1024)
    assert big.status_code == 431
    assert big.json() == {"detail": "Request headers are larger than 2048 bytes."}
    assert fine.status_code == 404
