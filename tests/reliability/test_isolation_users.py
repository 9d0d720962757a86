"""Isolation between users, on both databases: the response cache never serves one user's
response to another (10,000 interleaved requests of 3 users and anonymous ones), and a user
never reads or changes what the permissions deny, through any route, ``?fields=``, a nested
serializer or a filter on a related field; no response of the example carries a password
hash (a crawl of every GET route)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Mount

import aksara
from aksara import Aksara
from aksara.api import IsAuthenticated, Response, Router, action
from aksara.api.serializers import ModelSerializer
from aksara.api.tokens import issue_tokens
from aksara.cache import cache_response
from aksara.db import Database
from examples.blog.app import app as example_app
from examples.blog.models import Comment, Post, Tag, User
from examples.blog.seed import seed_api
from examples.blog.viewsets import PostViewSet, UserViewSet
from tests.reliability.helpers import figure
from tests.test_example_api import TEST_AUTH

pytestmark = pytest.mark.fault

#: Requests of the interleaving test, sent in concurrent batches of BATCH.
REQUESTS = 10_000
BATCH = 250

calls = {"me": 0}


class CachedMeViewSet(UserViewSet):
    """``/api/users/me/`` whose 200s the response cache keeps (per user, by its key)."""

    @action(detail=False, url_path="me", permission_classes=[IsAuthenticated])
    @cache_response(ttl=300)
    async def me(self, request: Request) -> Response:  # type: ignore[override]
        calls["me"] += 1
        await asyncio.sleep(random.random() / 1000)  # interleave the misses too
        return await super().me(request)


class NestedAuthorSerializer(ModelSerializer):
    """A post with its author nested by ``depth`` (a model serializer built for the user)."""

    class Meta:
        model = Post
        fields = ["id", "title", "author"]
        depth = 1


class NestedPostViewSet(PostViewSet):
    def get_serializer_class(self) -> Any:
        return NestedAuthorSerializer


def isolation_app() -> Aksara:
    router = Router(prefix="/api")
    router.register("users", CachedMeViewSet)
    router.register("nested-posts", NestedPostViewSet, basename="nested-post")
    built = Aksara()
    built.include_router(router)
    return built


@pytest.fixture
async def users(db: Database) -> list[User]:
    aksara.configure(**TEST_AUTH)
    await seed_api(users=3, posts=12, comments=20)
    found: list[User] = await User.objects.order_by("id")
    assert len(found) == 3
    return found


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_tokens(user)['access']}"}


@pytest.fixture
async def http(users: list[User]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=example_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_response_cache_never_crosses_users(users: list[User]) -> None:
    calls["me"] = 0
    identities: list[User | None] = [*users, None]
    headers = {user.pk: _bearer(user) for user in users}
    order = [identities[number % 4] for number in range(REQUESTS)]
    random.Random(14).shuffle(order)
    transport = httpx.ASGITransport(app=isolation_app())
    crossed: list[tuple[Any, int, str]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def ask(user: User | None) -> None:
            sent = headers[user.pk] if user is not None else {}
            response = await client.get("/api/users/me/", headers=sent)
            if user is None:
                if response.status_code != 401:
                    crossed.append((None, response.status_code, response.text))
                return
            body = response.json()
            if response.status_code != 200 or (body["id"], body["email"]) != (
                user.pk,
                user.email,
            ):
                crossed.append((user.pk, response.status_code, response.text))

        for start in range(0, REQUESTS, BATCH):
            await asyncio.gather(*(ask(user) for user in order[start : start + BATCH]))
    assert crossed == []
    # The cache served: each user's body was built a few times at most (the first batch's
    # concurrent misses), not once per request.
    assert 3 <= calls["me"] < 3 * BATCH
    figure(
        "isolation, response cache",
        requests=REQUESTS,
        users=3,
        built=calls["me"],
        crossed=len(crossed),
    )


async def test_no_user_changes_another_users_objects(
    users: list[User], http: httpx.AsyncClient
) -> None:
    owner, other, _ = users
    post = await Post.objects.filter(author=owner).first()
    comment = await Comment.objects.filter(author=owner).first()
    assert post is not None and comment is not None
    before_post = (await http.get(f"/api/posts/{post.slug}/")).json()
    before_comment = (await http.get(f"/api/comments/{comment.pk}/")).json()
    as_other = _bearer(other)
    attempts = [
        ("PUT", f"/api/posts/{post.slug}/", {"title": "taken", "slug": post.slug}),
        ("PATCH", f"/api/posts/{post.slug}/", {"title": "taken"}),
        ("PATCH", f"/api/posts/{post.slug}/", {"author": other.pk}),
        ("DELETE", f"/api/posts/{post.slug}/", None),
        ("PUT", f"/api/comments/{comment.pk}/", {"post": post.pk, "body": "taken"}),
        ("PATCH", f"/api/comments/{comment.pk}/", {"body": "taken"}),
        ("DELETE", f"/api/comments/{comment.pk}/", None),
    ]
    for method, path, body in attempts:
        for sent in (as_other, {}):  # another user, and no one
            response = await http.request(method, path, json=body, headers=sent)
            assert response.status_code in (401, 403), (method, path, response.text)
    # Users are read-only to everyone, themselves included.
    for method in ("PUT", "PATCH", "DELETE"):
        response = await http.request(
            method, f"/api/users/{other.pk}/", json={"name": "x"}, headers=as_other
        )
        assert response.status_code == 405
    assert (await http.get(f"/api/posts/{post.slug}/")).json() == before_post
    assert (await http.get(f"/api/comments/{comment.pk}/")).json() == before_comment
    # The author field of a write is the signed-in user, whatever the body says.
    created = await http.post(
        "/api/comments/", json={"post": post.pk, "body": "mine", "author": owner.pk}, headers=as_other
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert (await Comment.objects.get(pk=created.json()["id"])).author_id == other.pk
    own = await http.patch(
        f"/api/comments/{created.json()['id']}/", json={"author": owner.pk}, headers=as_other
    )
    assert own.status_code in (200, 400)
    assert (await Comment.objects.get(pk=created.json()["id"])).author_id == other.pk


@pytest.mark.parametrize(
    "query",
    [
        "author__password={hash}",
        "author__password__startswith=$argon2",
        "author__email={email}",
        "author__password__icontains=argon",
        "ordering=author__password",
        "ordering=-author__password",
        "search=$argon2",
    ],
)
async def test_filters_on_related_fields_reveal_nothing(
    users: list[User], http: httpx.AsyncClient, query: str
) -> None:
    owner = users[0]
    secret = (await User.objects.get(pk=owner.pk)).password
    assert secret and secret.startswith("$argon2")
    right = query.format(hash=secret, email=owner.email)
    wrong = query.format(hash="$argon2id$nope", email="nobody@example.com")
    for path in ("/api/posts/", "/api/comments/", "/api/users/", "/api/tags/"):
        answers = [await http.get(f"{path}?{q}", headers=_bearer(owner)) for q in (right, wrong)]
        for response in answers:
            assert response.status_code in (200, 400), (path, query, response.text)
            assert secret not in response.text and "$argon2id$v=" not in response.text
        # Refused, or ignored: the true hash and a wrong one give the same answer (no oracle).
        assert answers[0].status_code == answers[1].status_code
        if answers[0].status_code == 200:
            assert answers[0].json() == answers[1].json(), (path, query)


async def test_fields_never_select_the_password(users: list[User], http: httpx.AsyncClient) -> None:
    post = await Post.objects.first()
    assert post is not None
    for path in ("/api/posts/", f"/api/posts/{post.slug}/", "/api/users/", "/api/users/me/"):
        for fields in ("password", "id,password", "author__password", "author.password"):
            response = await http.get(path, params={"fields": fields}, headers=_bearer(users[0]))
            assert response.status_code in (200, 400), response.text
            assert "password" not in _keys(response.json())


async def test_a_nested_user_serializer_never_carries_the_password(users: list[User]) -> None:
    transport = httpx.ASGITransport(app=isolation_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/nested-posts/")
        assert response.status_code == 200, response.text
        authors = [post["author"] for post in response.json()["results"]]
    assert authors and all(isinstance(author, dict) for author in authors)
    assert {"id", "name", "email"} <= set(authors[0])
    assert "password" not in _keys(authors)
    assert "$argon2id$v=" not in response.text


async def test_no_get_route_of_the_example_carries_a_password_hash(
    users: list[User], http: httpx.AsyncClient
) -> None:
    hashes = {user.password for user in await User.objects.all()}
    post = await Post.objects.first()
    comment = await Comment.objects.first()
    assert post is not None and comment is not None and all(hashes)
    tag = await Tag.objects.first()
    objects = {"posts": post, "comments": comment, "users": users[1], "tags": tag}
    paths = _get_paths(example_app, objects)
    assert len(paths) == 13
    crawled = 0
    for path in paths:
        for sent in (_bearer(users[0]), _bearer(users[1]), {}):
            for suffix in ("", "?fields=password", "?page=2&page_size=100&ordering=-id"):
                response = await http.get(path + suffix, headers=sent)
                crawled += 1
                assert response.status_code < 500, (path, response.text)
                assert "$argon2id$v=" not in response.text, path
                assert not any(secret in response.text for secret in hashes), path
                if response.headers.get("content-type", "").startswith("application/json"):
                    assert "password" not in _keys(response.json()), path
    figure("isolation, GET crawl", routes=len(paths), responses=crawled, hashes_seen=0)


def _get_paths(app: Aksara, objects: dict[str, Any]) -> list[str]:
    """Every route of *app* (mounted static files aside), its ``{slug}`` or ``{pk}`` filled
    with the object of that resource in *objects* (``"posts"`` -> a post)."""
    paths: list[str] = []
    for route in app.routes:
        path: str = route.path  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            continue
        resource = path.split("/")[2] if path.startswith("/api/") else ""
        if "{slug}" in path:
            path = path.replace("{slug}", objects[resource].slug)
        if "{pk}" in path:
            path = path.replace("{pk}", str(objects[resource].pk))
        paths.append(path)
    return paths


def _keys(value: Any) -> set[str]:
    """Every key of every object in a JSON value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            found |= _keys(item)
    elif isinstance(value, list):
        for item in value:
            found |= _keys(item)
    elif isinstance(value, str) and value.startswith("{"):
        with contextlib.suppress(ValueError):
            found |= _keys(json.loads(value))
    return found


def test_secret_fields_are_left_out_unless_named() -> None:
    class EveryField(ModelSerializer):
        class Meta:
            model = User
            fields = "__all__"

    class Excluding(ModelSerializer):
        class Meta:
            model = User
            exclude = ["name"]

    class Named(ModelSerializer):
        class Meta:
            model = User
            fields = ["id", "password"]

    assert User.SECRET_FIELDS == ("password",)
    assert "password" not in EveryField._fields and "email" in EveryField._fields
    assert "password" not in Excluding._fields and "name" not in Excluding._fields
    assert "password" in Named._fields


async def test_ordering_by_every_field_leaves_out_the_password(
    users: list[User], http: httpx.AsyncClient
) -> None:
    class OrderedUsers(UserViewSet):
        ordering_fields = "__all__"

    router = Router(prefix="/api")
    router.register("users", OrderedUsers)
    built = Aksara()
    built.include_router(router)
    transport = httpx.ASGITransport(app=built)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/api/users/?ordering=-email")).status_code == 200
        refused = await client.get("/api/users/?ordering=password")
    assert refused.status_code == 400
    choices = refused.json()["ordering"][0].partition("Valid choices:")[2]
    assert "email" in choices and "password" not in choices
