"""The cache as the guide and an app use it: the computed-value property, the registry of
caches, metrics, and the app's lifespan."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara.cache import Cache, cache, caches
from aksara.db import Database
from aksara.debug import capture_queries, metrics
from tests.cache.conftest import configured_cache, unique_prefix
from tests.cache.models import SpecComment, SpecPost


async def test_the_guide_s_comment_count_property_caches_the_count(
    db: Database, any_cache: Cache
) -> None:
    post = await SpecPost.objects.create(title="cached")
    for body in ("a", "b"):
        await SpecComment.objects.create(post=post, body=body)
    async with capture_queries() as first:
        assert await post.comment_count == 2
    assert len(first) == 1
    await SpecComment.objects.create(post=post, body="c")
    async with capture_queries() as second:
        assert await post.comment_count == 2  # cached for 60 s
    assert len(second) == 0
    assert await any_cache.get(f"post:{post.pk}:comment_count") == 2
    await any_cache.delete(f"post:{post.pk}:comment_count")
    assert await post.comment_count == 3


async def test_caches_are_built_per_alias_and_anew_when_the_setting_changes() -> None:
    aksara.configure(
        CACHE={
            "default": {"backend": "memory"},
            "sessions": {"backend": "memory", "max_entries": 5},
        }
    )
    default, sessions = caches["default"], caches["sessions"]
    assert caches["default"] is default
    assert sessions.alias == "sessions" and sessions.max_entries == 5  # type: ignore[attr-defined]
    assert list(caches) == ["default", "sessions"]
    await default.set("key", 1)
    aksara.configure(CACHE={"default": {"backend": "memory"}})
    assert caches["default"] is not default
    assert await cache.get("key") is None


def test_an_unknown_alias_names_the_configured_ones() -> None:
    aksara.configure(CACHE={"default": {"backend": "memory"}, "sessions": {}})
    try:
        caches["session"]
    except aksara.ConfigurationError as error:
        assert "No cache 'session' in the CACHE setting. Did you mean 'sessions'?" in str(error)
        assert "Configured caches: default, sessions." in str(error)
    else:
        raise AssertionError("an unknown alias was accepted")


def test_the_default_setting_is_one_memory_cache() -> None:
    assert caches["default"].backend == "memory"
    assert cache.redis is None
    assert cache.is_local is True


async def test_metrics_report_each_cache_s_counters() -> None:
    aksara.configure(DATABASE_URL="sqlite:///:memory:")
    memory = await configured_cache("memory")
    await memory.set("key", 1)
    await memory.get("key")
    await memory.get("missing")
    reported = metrics()["caches"]
    assert reported == {
        "default": {
            "backend": "memory",
            "hits": 1,
            "misses": 1,
            "sets": 1,
            "deletes": 0,
            "errors": 0,
            "hit_ratio": 0.5,
        }
    }


async def test_the_app_lifespan_opens_and_closes_the_caches() -> None:
    url = (await configured_cache("redis")).url  # type: ignore[attr-defined]
    prefix = unique_prefix()
    aksara.configure(
        DATABASE_URL="sqlite:///:memory:",
        CACHE={"default": {"backend": "redis", "url": url, "key_prefix": prefix}},
    )

    async def endpoint(request: Request) -> JSONResponse:
        hits = await cache.incr("hits")
        return JSONResponse({"hits": hits})

    app = aksara.Aksara(routes=[Route("/", endpoint)])
    redis_cache = caches["default"]
    async with app.router.lifespan_context(app):
        opened = redis_cache._client  # type: ignore[attr-defined]
        assert opened is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/")).json() == {"hits": 1}
            assert (await client.get("/")).json() == {"hits": 2}
        await redis_cache.clear()
    assert redis_cache._client is None  # type: ignore[attr-defined]
