"""METRICS: the figures /metrics reports after real requests on SQLite and PostgreSQL —
requests and latency by route template and status, queries per request and their
durations, slow queries, N+1 patterns, budget overruns, cache reads and the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.api import ModelSerializer, ReadOnlyModelViewSet, Response, Router, action
from aksara.cache import cache, caches
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.app import router as blog_router
from examples.blog.models import Post
from examples.blog.seed import GUIDE_SLUG, seed_api
from tests.monitoring.helpers import client_for, scrape, total, value

DETAIL = "/api/posts/{slug}/"


class PostTitles(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title"]


class BudgetViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.order_by("id")
    serializer_class = PostTitles
    max_queries = 1

    @action(detail=False)
    async def authors(self, request: Request) -> Response:
        """One query for the posts, one per author: an N+1 over the budget."""
        return Response([(await post.author).name for post in await Post.objects.order_by("id")])


async def cached(request: Request) -> JSONResponse:
    """One miss, one set, one hit on the default cache."""
    await cache.get("monitoring-absent")
    await cache.set("monitoring-key", 1)
    return JSONResponse({"value": await cache.get("monitoring-key")})


#: Rows counted by /background's task after its response went out.
COUNTED_AFTER: list[int] = []


async def with_background_task(request: Request) -> JSONResponse:
    """One query for the response, another in a background task run after it is sent."""

    async def count_again() -> None:
        COUNTED_AFTER.append(await Post.objects.count())

    posts = await Post.objects.count()
    return JSONResponse({"posts": posts}, background=BackgroundTask(count_again))


async def broken(request: Request) -> JSONResponse:
    raise RuntimeError("boom")


def build_app() -> Aksara:
    budget_router = Router(prefix="/budget")
    budget_router.register("posts", BudgetViewSet)
    app = Aksara(
        routes=[
            Route("/cached", cached),
            Route("/broken", broken),
            Route("/background", with_background_task),
        ]
    )
    app.include_router(blog_router)
    app.include_router(budget_router)
    return app


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Aksara]:
    await seed_api(users=3, posts=8, comments=5)
    aksara.configure(METRICS={})
    await caches["default"].open()
    yield build_app()
    await caches["default"].clear()
    await caches.close_all()


async def test_requests_are_counted_by_route_template_never_the_raw_path(
    app: Aksara, db: Database
) -> None:
    slugs = [post.slug async for post in Post.objects.order_by("id").limit(2)]
    async with client_for(app) as client:
        before = await scrape(client)
        for slug in slugs:
            assert (await client.get(f"/api/posts/{slug}/")).status_code == 200
        assert (await client.get("/api/posts/no-such-post/")).status_code == 404
        assert (await client.get("/not/a/route/xyz")).status_code == 404
        after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "GET", "route": DETAIL, "status": "200"}
    assert grew("aksara_http_requests_total", **ok) == 2
    assert grew("aksara_http_requests_total", **{**ok, "status": "404"}) == 1
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert grew("aksara_http_requests_total", **unmatched) == 1
    assert grew("aksara_http_request_duration_seconds_count", **ok) == 2
    assert grew("aksara_http_request_duration_seconds_bucket", **ok, le="+Inf") == 2
    assert grew("aksara_http_request_duration_seconds_sum", **ok) > 0
    for raw in (*slugs, "no-such-post", "/not/a/route"):
        assert raw not in after
    # The scrapes themselves are not requests of the API.
    assert total(after, "aksara_http_requests_total", route="/metrics") == 0


async def test_queries_per_request_and_their_durations_match_the_queries_run(
    app: Aksara, db: Database
) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        async with capture_queries() as queries:
            response = await client.get(f"/api/posts/{GUIDE_SLUG}/")
        after = await scrape(client)
    assert response.status_code == 200
    route = {"method": "GET", "route": DETAIL}
    count_grew = value(after, "aksara_http_request_queries_count", **route) - value(
        before, "aksara_http_request_queries_count", **route
    )
    sum_grew = value(after, "aksara_http_request_queries_sum", **route) - value(
        before, "aksara_http_request_queries_sum", **route
    )
    assert count_grew == 1
    assert sum_grew == len(queries) >= 1
    name = "aksara_db_query_duration_seconds"
    durations_grew = value(after, f"{name}_count", database=db.name, alias="default") - value(
        before, f"{name}_count", database=db.name, alias="default"
    )
    seconds_grew = value(after, f"{name}_sum", database=db.name, alias="default") - value(
        before, f"{name}_sum", database=db.name, alias="default"
    )
    assert durations_grew == len(queries)
    assert seconds_grew == pytest.approx(queries.total_time / 1000, abs=1e-3)


async def test_slow_queries_are_counted_by_route(db: Database) -> None:
    await seed_api(users=2, posts=3, comments=1)
    aksara.configure(METRICS={}, SLOW_QUERY_MS=0)  # every query is slow
    async with client_for(build_app()) as client:
        before = await scrape(client)
        async with capture_queries() as queries:
            await client.get("/api/posts/")
        after = await scrape(client)
    labels = {"method": "GET", "route": "/api/posts/"}
    name = "aksara_db_slow_queries_total"
    assert value(after, name, **labels) - value(before, name, **labels) == len(queries) >= 2


async def test_n_plus_one_and_budget_overruns_are_counted_by_route(
    app: Aksara, db: Database
) -> None:
    posts = await Post.objects.count()
    assert posts >= 5  # N_PLUS_ONE_THRESHOLD: one author query per post is an N+1
    labels = {"method": "GET", "route": "/budget/posts/authors/"}
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/budget/posts/authors/")).status_code == 200
        assert (await client.get("/api/posts/")).status_code == 200  # neither
        after = await scrape(client)
    for name in ("aksara_n_plus_one_total", "aksara_query_budget_overruns_total"):
        assert value(after, name, **labels) - value(before, name, **labels) == 1
        assert total(after, name, route="/api/posts/") == total(before, name, route="/api/posts/")


async def test_cache_hits_and_misses_by_alias(app: Aksara, db: Database) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/cached")).json() == {"value": 1}
        after = await scrape(client)
    for name in ("aksara_cache_hits_total", "aksara_cache_misses_total"):
        assert value(after, name, cache="default") - value(before, name, cache="default") == 1


async def test_pool_gauges_show_this_process_pool(app: Aksara, db: Database) -> None:
    async with client_for(app) as client:
        await client.get("/api/posts/")
        text = await scrape(client)
    status = db.pool_status()
    assert value(text, "aksara_db_pool_size", database=db.name, alias="default") == status.size >= 1
    assert (
        value(text, "aksara_db_pool_max_size", database=db.name, alias="default") == status.max_size
    )
    assert value(text, "aksara_db_pool_in_use", database=db.name, alias="default") == 0
    assert value(text, "aksara_db_pool_waiting", database=db.name, alias="default") == 0


async def test_an_unhandled_error_counts_as_a_500(app: Aksara, db: Database) -> None:
    labels = {"method": "GET", "route": "/broken", "status": "500"}
    async with client_for(app, raise_app_exceptions=False) as client:
        before = await scrape(client)
        assert (await client.get("/broken")).status_code == 500
        after = await scrape(client)
    name = "aksara_http_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 1


async def test_an_unknown_method_is_one_label_value(app: Aksara, db: Database) -> None:
    async with client_for(app) as client:
        await client.request("BREW", "/cached")
        await client.request("PROPFIND", "/cached")
        text = await scrape(client)
    assert "BREW" not in text and "PROPFIND" not in text
    assert value(text, "aksara_http_requests_total", method="OTHER", route="/cached", status="405")


async def test_queries_after_the_response_are_not_the_requests(app: Aksara, db: Database) -> None:
    route = {"method": "GET", "route": "/background"}
    COUNTED_AFTER.clear()
    async with client_for(app) as client:
        before = await scrape(client)
        response = await client.get("/background")
        after = await scrape(client)
    (counted,) = COUNTED_AFTER  # the background query did run
    assert counted == response.json()["posts"]
    for name in ("count", "sum"):
        sample = f"aksara_http_request_queries_{name}"
        assert value(after, sample, **route) - value(before, sample, **route) == 1
