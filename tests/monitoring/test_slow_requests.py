"""SLOW_REQUEST_MS: a slower request logs its query profile (queries grouped by shape, with
counts and times, then each query) on ``aksara.slow_requests``; a faster one logs nothing.
Works with METRICS off, on both databases."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.monitoring import MonitoringMiddleware, format_request_profile
from examples.blog.models import Post
from examples.blog.seed import seed_api

LOGGER = "aksara.slow_requests"


async def authors(request: Request) -> JSONResponse:
    """The posts, then each one's author: one shape repeated once per post."""
    names = [(await post.author).name for post in await Post.objects.order_by("id")]
    return JSONResponse({"authors": names})


def build_app() -> Aksara:
    return Aksara(routes=[Route("/posts/{kind}/authors", authors)])


def slow_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


async def test_a_slow_request_logs_its_query_profile(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_api(users=2, posts=6, comments=1)
    aksara.configure(SLOW_REQUEST_MS=0)  # every request is slow
    app = build_app()
    assert any(entry.cls is MonitoringMiddleware for entry in app.user_middleware)
    caplog.set_level(logging.WARNING, LOGGER)
    async with capture_queries() as queries:
        await call(app, "/posts/all/authors")
    (record,) = slow_records(caplog)
    report = record.getMessage()
    assert record.levelno == logging.WARNING
    posts = await Post.objects.count()
    lines = report.splitlines()
    assert re.fullmatch(
        r"Slow request: GET /posts/all/authors \(route /posts/\{kind\}/authors\) "
        r"answered 200 in \d+\.\d{3,6}s",
        lines[0],
    )
    assert lines[1] == "Query Profile: GET /posts/all/authors"
    assert lines[2] == f"Total queries: {len(queries)}" == f"Total queries: {posts + 1}"
    assert lines[4] == "Queries by shape:"
    # The author lookup ran once per post: one shape, as many times.
    shapes = [line for line in lines[5:] if re.match(r"\d+x ", line)]
    assert sorted(int(line.split("x ")[0]) for line in shapes) == [1, posts]
    assert any(line.startswith(f"{posts}x ") and '"users"' in line for line in shapes)
    listed = lines[lines.index("Queries:") + 1 :]
    assert [line.split(". ", 1)[1].rsplit(" (", 1)[0] for line in listed] == [
        query.sql for query in queries
    ]


async def test_a_fast_request_logs_nothing(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    await seed_api(users=2, posts=3, comments=1)
    aksara.configure(SLOW_REQUEST_MS=60_000)
    caplog.set_level(logging.DEBUG, LOGGER)
    await call(build_app(), "/posts/all/authors")
    assert slow_records(caplog) == []


def test_the_report_of_a_request_without_queries() -> None:
    report = format_request_profile("GET /health", "/health", 200, 1500.0, [])
    assert report.splitlines() == [
        "Slow request: GET /health (route /health) answered 200 in 1.500s",
        "Query Profile: GET /health",
        "Total queries: 0",
        "Total time: 0.000000s",
    ]


async def call(app: Aksara, path: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get(path)).status_code == 200
