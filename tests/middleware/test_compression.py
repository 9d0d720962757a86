"""The COMPRESSION setting: br / gzip / identity negotiation, Vary, and the responses left
alone (small bodies, compressed media types, encoded bodies, 206 ranges), on a small app and
on the blog example's list page on both databases."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator

import brotli
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.conf import ConfigurationError
from aksara.db import Database
from aksara.middleware import CompressionMiddleware
from aksara.middleware.compression import choose_encoding
from examples.blog.app import router
from examples.blog.seed import seed_api

BIG = {"rows": [{"id": n, "title": f"Post number {n}"} for n in range(100)]}
BIG_BYTES = JSONResponse(BIG).body


async def big(request: Request) -> Response:
    return JSONResponse(BIG)


async def small(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def image(request: Request) -> Response:
    return Response(b"\x89PNG" + bytes(2000), media_type="image/png")


async def woff2(request: Request) -> Response:
    return Response(bytes(2000), media_type="font/woff2")


async def encoded(request: Request) -> Response:
    body = gzip.compress(BIG_BYTES)
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


async def partial(request: Request) -> Response:
    return Response(
        BIG_BYTES[:1000],
        status_code=206,
        media_type="application/json",
        headers={"Content-Range": f"bytes 0-999/{len(BIG_BYTES)}"},
    )


async def stream(request: Request) -> Response:
    def chunks() -> Iterator[bytes]:
        for n in range(50):
            yield f"line {n} of a streamed text body\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain", headers={"Vary": "Cookie"})


async def events(request: Request) -> Response:
    def chunks() -> Iterator[bytes]:
        for n in range(50):
            yield f"data: event {n} of a stream of server-sent events\n\n".encode()

    return StreamingResponse(chunks(), media_type="text/event-stream")


ROUTES = [
    Route("/events", events),
    Route("/big", big),
    Route("/small", small),
    Route("/image", image),
    Route("/woff2", woff2),
    Route("/encoded", encoded),
    Route("/partial", partial),
    Route("/stream", stream),
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    aksara.configure(COMPRESSION={"minimum_size": 500})
    app = Aksara(routes=ROUTES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def get_raw(client: httpx.AsyncClient, path: str, accept: str) -> httpx.Response:
    """The response with its body as sent (httpx would decode gzip and br)."""
    request = client.build_request("GET", path, headers={"Accept-Encoding": accept})
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    response._content = raw
    return response


async def test_brotli_when_accepted_else_gzip_else_identity(client: httpx.AsyncClient) -> None:
    br = await get_raw(client, "/big", "gzip, deflate, br")
    assert br.headers["content-encoding"] == "br"
    assert br.headers["vary"] == "Accept-Encoding"
    assert json.loads(brotli.decompress(br.content)) == BIG
    assert int(br.headers["content-length"]) == len(br.content) < len(BIG_BYTES) / 3

    gz = await get_raw(client, "/big", "gzip")
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["vary"] == "Accept-Encoding"
    assert json.loads(gzip.decompress(gz.content)) == BIG
    assert int(gz.headers["content-length"]) == len(gz.content)

    plain = await get_raw(client, "/big", "identity")
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert plain.content == BIG_BYTES

    refused = await get_raw(client, "/big", "br;q=0, gzip;q=0.5")
    assert refused.headers["content-encoding"] == "gzip"


async def test_brotli_off_by_setting_serves_gzip() -> None:
    aksara.configure(COMPRESSION={"brotli": False, "level": 9})
    transport = httpx.ASGITransport(app=Aksara(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await get_raw(client, "/big", "br, gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content)) == BIG


@pytest.mark.parametrize("path", ["/small", "/image", "/woff2", "/encoded", "/partial", "/events"])
async def test_left_alone(client: httpx.AsyncClient, path: str) -> None:
    aksara.settings.reset()  # the fixture's app keeps its compression
    direct = httpx.ASGITransport(app=Aksara(routes=ROUTES))
    async with httpx.AsyncClient(transport=direct, base_url="http://testserver") as plain:
        expected = await get_raw(plain, path, "identity")
    response = await get_raw(client, path, "br, gzip")
    assert response.status_code == expected.status_code
    assert response.content == expected.content
    assert response.headers.get("content-encoding") == expected.headers.get("content-encoding")
    if path != "/small":  # a small JSON body could have been compressed when larger
        assert "vary" not in response.headers


async def test_a_streamed_body_is_compressed_as_it_goes(client: httpx.AsyncClient) -> None:
    response = await get_raw(client, "/stream", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert response.headers["vary"] == "Cookie, Accept-Encoding"
    text = gzip.decompress(response.content).decode()
    assert text.splitlines()[49] == "line 49 of a streamed text body"


def test_negotiation() -> None:
    assert choose_encoding("") is None
    assert choose_encoding("deflate") is None
    assert choose_encoding("*") == "br"
    assert choose_encoding("br;q=0, *") == "gzip"
    assert choose_encoding("GZIP") == "gzip"
    assert choose_encoding("br", use_brotli=False) is None


def test_off_by_default_and_validated() -> None:
    assert aksara.settings.COMPRESSION is None
    app = Aksara()
    assert CompressionMiddleware not in [item.cls for item in app.user_middleware]
    with pytest.raises(ConfigurationError, match="Valid keys: brotli, level, minimum_size"):
        aksara.configure(COMPRESSION={"min_size": 10})
    with pytest.raises(ConfigurationError, match="from 1 to 9"):
        aksara.configure(COMPRESSION={"level": 11})


async def test_the_example_list_page(db: Database) -> None:
    await seed_api(users=5, posts=45, comments=60)
    plain_app = Aksara()
    plain_app.include_router(router)
    aksara.configure(COMPRESSION={"minimum_size": 500, "level": 6})
    app = Aksara()
    app.include_router(router)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain_app), base_url="http://t"
        ) as plain,
    ):
        expected = (await plain.get("/api/posts/?page=2")).content
        assert len(expected) > 500
        for accept, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            response = await get_raw(client, "/api/posts/?page=2", accept)
            assert response.status_code == 200
            assert response.headers["content-encoding"] == accept
            assert decode(response.content) == expected
            assert len(response.content) < len(expected) / 2
        decoded = await client.get("/api/posts/?page=2")  # httpx asks for and decodes both
        assert decoded.content == expected
        missing = await get_raw(client, "/api/posts/no-such-post/", "gzip")
        assert missing.status_code == 404
        assert "content-encoding" not in missing.headers  # {"detail": ...} is small
