"""SERVER_TIMING and ACCESS_LOG: the Server-Timing header's query count and database time
(checked against capture_queries on both databases), the request's cache hits and misses,
X-Query-Count in DEBUG, the aksara.access line, and nothing installed when off."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.cache import cache, caches
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.middleware import ServerTimingMiddleware
from examples.blog.app import router
from examples.blog.models import Post
from examples.blog.seed import seed_api

HEADER = re.compile(
    r'db;dur=(?P<db>\d+\.\d);desc="(?P<queries>\d+) quer(?:y|ies)", '
    r'cache;desc="(?P<hits>\d+) hits? (?P<misses>\d+) miss(?:es)?", app;dur=(?P<app>\d+\.\d)$'
)


async def posts(request: Request) -> Response:
    """Three queries; one cache miss then two hits (and one miss of another key)."""
    total = await Post.objects.count()
    titles = [post.title async for post in Post.objects.order_by("id").limit(3)]
    await Post.objects.filter(id__in=[1, 2]).count()
    await cache.get("absent")
    if await cache.get("titles") is None:
        await cache.set("titles", titles)
    await cache.get("titles")
    await cache.get("titles")
    return JSONResponse({"total": total, "titles": titles})


ROUTES = [Route("/posts", posts)]


@pytest.fixture
async def memory_cache() -> AsyncIterator[None]:
    await caches["default"].open()
    await caches["default"].clear()
    yield
    await caches["default"].clear()
    await caches.close_all()


def parse(header: str) -> dict[str, str]:
    found = HEADER.match(header)
    assert found, header
    return found.groupdict()


async def test_header_counts_the_requests_queries_and_cache_reads(
    db: Database, memory_cache: None
) -> None:
    await seed_api(users=3, posts=12, comments=5)
    aksara.configure(SERVER_TIMING=True)
    transport = httpx.ASGITransport(app=Aksara(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        async with capture_queries() as queries:
            response = await client.get("/posts")
        assert response.status_code == 200
        figures = parse(response.headers["server-timing"])
        assert int(figures["queries"]) == len(queries) == 3
        assert float(figures["db"]) == pytest.approx(queries.total_time, abs=0.06)
        assert float(figures["app"]) >= float(figures["db"])
        assert (figures["hits"], figures["misses"]) == ("2", "2")
        assert "x-query-count" not in response.headers  # DEBUG is off

        again = parse((await client.get("/posts")).headers["server-timing"])
        assert (again["hits"], again["misses"]) == ("3", "1")  # "titles" is stored now


async def test_the_example_list_page_in_debug(db: Database) -> None:
    await seed_api(users=5, posts=45, comments=60)
    aksara.configure(DEBUG=True)
    app = Aksara()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/api/posts/?page=2", "/api/posts/?page=2&fields=id,title"):
            async with capture_queries() as queries:
                response = await client.get(path)
            assert response.status_code == 200
            figures = parse(response.headers["server-timing"])
            assert int(figures["queries"]) == len(queries) > 0
            assert response.headers["x-query-count"] == str(len(queries))
            assert (figures["hits"], figures["misses"]) == ("0", "0")


async def test_access_log_line(
    db: Database, memory_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_api(users=3, posts=12, comments=5)
    aksara.configure(ACCESS_LOG=True)
    transport = httpx.ASGITransport(app=Aksara(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.INFO, logger="aksara.access"):
            response = await client.get("/posts?x=1")
            missing = await client.get("/nowhere")
    assert "server-timing" not in response.headers  # ACCESS_LOG alone: no header
    assert missing.status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "aksara.access"]
    assert len(lines) == 2
    assert re.fullmatch(r"GET /posts 200 \d+\.\dms queries=3 db_ms=\d+\.\d", lines[0])
    assert re.fullmatch(r"GET /nowhere 404 \d+\.\dms queries=0 db_ms=0\.0", lines[1])


async def test_off_installs_nothing_and_sends_no_header(db: Database, memory_cache: None) -> None:
    app = Aksara(routes=ROUTES)
    assert ServerTimingMiddleware not in [item.cls for item in app.user_middleware]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.get("/posts")
    assert response.status_code == 200
    assert "server-timing" not in response.headers
    assert "x-query-count" not in response.headers
    aksara.configure(DEBUG=True, SERVER_TIMING=False)
    assert ServerTimingMiddleware not in [item.cls for item in Aksara().user_middleware]
