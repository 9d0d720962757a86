"""@cache_response on plain endpoints and on the spec's viewset ``list`` override, on the
memory backend and Redis: hit and miss, ETag and 304, max-age, private and cookie responses
and non-200s never stored, Vary, sorted query strings, HEAD, stale after writes, and 1,000
interleaved requests of two users with 0 cross-user responses."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.api import Router
from aksara.api.tokens import issue_tokens
from aksara.cache import Cache, cache_response, cached
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post, User
from examples.blog.viewsets import PostViewSet

calls: dict[str, int] = {}


def count(name: str) -> int:
    calls[name] = calls.get(name, 0) + 1
    return calls[name]


@cache_response(ttl=60)
async def plain(request: Request) -> Response:
    return JSONResponse({"call": count("plain"), "query": str(request.query_params)})


@cache_response(ttl=60)
async def whoami(request: Request) -> Response:
    count("whoami")
    await asyncio.sleep(random.random() / 1000)
    return JSONResponse({"user": request.headers.get("authorization")})


@cache_response(ttl=60)
async def private(request: Request) -> Response:
    return JSONResponse({"call": count("private")}, headers={"Cache-Control": "private"})


@cache_response(ttl=60)
async def cookie(request: Request) -> Response:
    response = JSONResponse({"call": count("cookie")})
    response.set_cookie("session", "abc")
    return response


@cache_response(ttl=60)
async def missing(request: Request) -> Response:
    return JSONResponse({"call": count("missing")}, status_code=404)


@cache_response(ttl=60)
async def language(request: Request) -> Response:
    count("language")
    text = request.headers.get("accept-language", "en")
    return JSONResponse({"language": text}, headers={"Vary": "Accept-Language"})


@cache_response(ttl=60)
async def anything(request: Request) -> Response:
    return JSONResponse({"call": count("anything"), "method": request.method})


class CachedPostViewSet(PostViewSet):
    @cache_response(ttl=60)
    async def list(self, request):  # type: ignore[no-untyped-def, override]
        return await super().list(request)


def build_app() -> Aksara:
    router = Router(prefix="/api")
    router.register("posts", CachedPostViewSet)
    router.register("plain-posts", PostViewSet, basename="plain-post")
    routes = [
        Route("/plain", plain),
        Route("/whoami", whoami),
        Route("/private", private),
        Route("/cookie", cookie),
        Route("/missing", missing),
        Route("/language", language),
        Route("/anything", anything, methods=["GET", "POST"]),
    ]
    app = Aksara(routes=routes)
    app.include_router(router)
    return app


@pytest.fixture
async def client(any_cache: Cache) -> AsyncIterator[httpx.AsyncClient]:
    calls.clear()
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_second_get_is_served_from_the_cache(client: httpx.AsyncClient) -> None:
    aksara.configure(DEBUG=True)
    first = await client.get("/plain")
    second = await client.get("/plain")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"call": 1, "query": ""}
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["etag"].startswith('"') and len(first.headers["etag"]) == 34
    assert second.headers["cache-control"] == "max-age=60"
    assert second.headers["content-type"] == "application/json"
    assert int(second.headers["content-length"]) == len(second.content)
    assert calls["plain"] == 1


async def test_x_cache_is_only_sent_in_debug(client: httpx.AsyncClient) -> None:
    await client.get("/plain")
    assert "x-cache" not in (await client.get("/plain")).headers


async def test_if_none_match_is_answered_304(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/plain")).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        answer = await client.get("/plain", headers={"If-None-Match": header})
        assert answer.status_code == 304, header
        assert answer.content == b""
        assert answer.headers["etag"] == etag
        assert answer.headers["cache-control"] == "max-age=60"
    changed = await client.get("/plain", headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200 and changed.json()["call"] == 1
    # A miss that computes a response the client holds answers 304 too.
    etag = (await client.get("/language")).headers["etag"]
    await language.invalidate_all()  # type: ignore[attr-defined]
    answer = await client.get("/language", headers={"If-None-Match": etag})
    assert answer.status_code == 304 and calls["language"] == 2


async def test_sorted_query_strings_share_an_entry(client: httpx.AsyncClient) -> None:
    one = await client.get("/plain?a=1&b=2")
    two = await client.get("/plain?b=2&a=1")
    other = await client.get("/plain?a=1&b=3")
    assert one.json()["call"] == two.json()["call"] == 1
    assert other.json()["call"] == 2
    # The values of a repeated name keep their order (it may matter to the endpoint).
    first = await client.get("/plain?tag=x&tag=y")
    second = await client.get("/plain?tag=y&tag=x")
    assert (first.json()["call"], second.json()["call"]) == (3, 4)
    assert (await client.get("/plain?z=1&tag=x&tag=y")).json()["call"] == 5
    assert (await client.get("/plain?tag=x&z=1&tag=y")).json()["call"] == 5


async def test_private_cookie_and_non_200_responses_are_never_stored(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        assert (await client.get("/private")).headers["cache-control"] == "private"
        assert "set-cookie" in (await client.get("/cookie")).headers
        assert (await client.get("/missing")).status_code == 404
    assert calls == {"private": 3, "cookie": 3, "missing": 3}
    assert "etag" not in (await client.get("/private")).headers


async def test_other_methods_pass_through_and_head_reads_the_get_entry(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/anything")).json() == {"call": 1, "method": "POST"}
    assert (await client.post("/anything")).json() == {"call": 2, "method": "POST"}
    head = await client.head("/anything")
    assert head.status_code == 200 and calls["anything"] == 3  # a HEAD miss stores nothing
    got = await client.get("/anything")
    assert got.json() == {"call": 4, "method": "GET"}
    head = await client.head("/anything")
    assert head.status_code == 200 and head.headers["etag"] == got.headers["etag"]
    assert calls["anything"] == 4


async def test_the_headers_named_by_vary_are_in_the_key(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        english = await client.get("/language", headers={"Accept-Language": "en"})
        dutch = await client.get("/language", headers={"Accept-Language": "nl"})
        assert english.json() == {"language": "en"}
        assert dutch.json() == {"language": "nl"}
    assert calls["language"] == 2


async def test_authorization_and_cookie_are_in_the_key(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/whoami")
    ann = await client.get("/whoami", headers={"Authorization": "Bearer ann"})
    bob = await client.get("/whoami", headers={"Authorization": "Bearer bob"})
    assert [r.json()["user"] for r in (anonymous, ann, bob)] == [None, "Bearer ann", "Bearer bob"]
    assert ann.headers["cache-control"] == "private, max-age=60"
    assert anonymous.headers["cache-control"] == "max-age=60"
    with_cookie = await client.get("/plain", headers={"Cookie": "session=1"})
    other_cookie = await client.get("/plain", headers={"Cookie": "session=2"})
    assert with_cookie.json()["call"] == 1 and other_cookie.json()["call"] == 2
    assert calls["whoami"] == 3


async def test_a_thousand_interleaved_requests_of_two_users_never_cross(
    client: httpx.AsyncClient,
) -> None:
    users = ["Bearer ann-token", "Bearer bob-token"]
    order = [users[number % 2] for number in range(1000)]
    random.Random(7).shuffle(order)
    crossed = 0

    async def ask(user: str) -> None:
        nonlocal crossed
        response = await client.get("/whoami", headers={"Authorization": user})
        assert response.status_code == 200
        crossed += response.json()["user"] != user

    for start in range(0, len(order), 50):
        await asyncio.gather(*(ask(user) for user in order[start : start + 50]))
    assert crossed == 0
    # Cached per user: the first batch's concurrent misses compute, the rest are hits.
    assert calls["whoami"] <= 100


async def test_the_spec_list_override_is_cached_and_stale_after_a_write(
    db: Database, any_cache: Cache
) -> None:
    calls.clear()
    author = await User.objects.create(name="Ann", email="ann@example.com")
    for number in range(3):
        await Post.objects.create(title=f"p{number}", slug=f"p{number}", author=author)
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.get("/api/posts/")
        async with capture_queries() as queries:
            second = await client.get("/api/posts/")
        assert len(queries) == 0
        assert second.json() == first.json() and second.json()["count"] == 3
        uncached = await client.get("/api/plain-posts/")
        assert uncached.json() == first.json()
        assert "etag" not in uncached.headers
        # The example's posts are written by a signed-in user (the author).
        aksara.configure(SECRET_KEY="cache-response-test-secret-key-0123456789")
        created = await client.post(
            "/api/posts/",
            json={"title": "new", "slug": "new", "content": "c"},
            headers={"Authorization": f"Bearer {issue_tokens(author)['access']}"},
        )
        assert created.status_code == 201, created.text
        after = await client.get("/api/posts/")
        assert after.json()["count"] == 4
        assert after.headers["etag"] != first.headers["etag"]
        await Post.objects.filter(slug="new").update(title="renamed")
        renamed = await client.get("/api/posts/")
        assert "renamed" in [post["title"] for post in renamed.json()["results"]]
        paged = await client.get("/api/posts/?page_size=2")
        assert len(paged.json()["results"]) == 2


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="seconds above 0"):
        cache_response(ttl=-1)
    with pytest.raises(TypeError, match="async endpoint"):
        cache_response()(lambda request: None)  # type: ignore[arg-type, return-value]


async def test_an_endpoint_without_a_request_is_refused(any_cache: Cache) -> None:
    @cache_response(ttl=60)
    async def endpoint(value: Any) -> Any:
        return value

    with pytest.raises(TypeError, match="taking the request first"):
        await endpoint(1)


async def test_a_response_with_a_background_task_is_not_stored(any_cache: Cache) -> None:
    from starlette.background import BackgroundTask

    ran: list[int] = []

    @cache_response(ttl=60)
    async def endpoint(request: Request) -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(lambda: ran.append(1)))

    app = Aksara(routes=[Route("/task", endpoint)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(2):
            assert (await client.get("/task")).json() == {"ok": True}
    assert ran == [1, 1]


@cached(ttl=300)
async def post_titles() -> list[str]:
    return list(await Post.objects.order_by("id").values_list("title", flat=True))


@cache_response(ttl=60)
async def titles_endpoint(request: Request) -> Response:
    return JSONResponse({"titles": await post_titles()})


async def test_a_response_built_from_a_cached_function_goes_stale_with_it(
    db: Database, any_cache: Cache
) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    await Post.objects.create(title="one", slug="one", author=author)
    assert await post_titles() == ["one"]  # the inner entry is fresh before the response
    app = Aksara(routes=[Route("/titles", titles_endpoint)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/titles")).json() == {"titles": ["one"]}
        await Post.objects.create(title="two", slug="two", author=author)
        assert (await client.get("/titles")).json() == {"titles": ["one", "two"]}
        async with capture_queries() as queries:
            assert (await client.get("/titles")).json() == {"titles": ["one", "two"]}
        assert len(queries) == 0
