"""The blog example's users on both databases: logging in at /api/token/ with the seeded
demo password, refreshing, posts only their author changes, comments anyone signed in
adds, and /api/users/me/."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

import aksara
from aksara.db import Database
from examples.blog.app import app
from examples.blog.models import Comment, Post, User
from examples.blog.seed import DEMO_PASSWORD, GUIDE_SLUG, seed_api
from tests.test_example_api import TEST_AUTH, log_in


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    aksara.configure(**TEST_AUTH)
    await seed_api(users=3, posts=5, comments=5)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_seeded_users_log_in_with_the_demo_password(client: httpx.AsyncClient) -> None:
    got = await client.post(
        "/api/token/", json={"email": "user1@example.com", "password": DEMO_PASSWORD}
    )
    assert got.status_code == 200
    me = await client.get(
        "/api/users/me/", headers={"Authorization": f"Bearer {got.json()['access']}"}
    )
    assert me.json()["email"] == "user1@example.com"
    refreshed = await client.post("/api/token/refresh/", json={"refresh": got.json()["refresh"]})
    again = await client.get(
        "/api/users/me/", headers={"Authorization": f"Bearer {refreshed.json()['access']}"}
    )
    assert again.json()["id"] == me.json()["id"]
    wrong = await client.post(
        "/api/token/", json={"email": "user1@example.com", "password": "guess"}
    )
    assert wrong.status_code == 401
    anonymous = await client.get("/api/users/me/")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
    assert (await client.post("/api/users/", json={"name": "x"})).status_code == 405


async def test_only_the_author_changes_a_post(client: httpx.AsyncClient) -> None:
    guide = await Post.objects.select_related("author").get(slug=GUIDE_SLUG)
    url = f"/api/posts/{GUIDE_SLUG}/"
    assert (await client.patch(url, json={"title": "Mine"})).status_code == 401
    stranger = await log_in(client, "user2@example.com")
    refused = await client.patch(url, json={"title": "Mine"}, headers=stranger)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only the author may change this."}
    assert (await client.delete(url, headers=stranger)).status_code == 403
    author = await log_in(client, guide.author.email)
    changed = await client.patch(url, json={"title": "Faster"}, headers=author)
    assert changed.status_code == 200, changed.text
    assert (await Post.objects.get(pk=guide.pk)).title == "Faster"


async def test_a_signed_in_user_writes_posts_and_comments_as_themselves(
    client: httpx.AsyncClient,
) -> None:
    user2 = await User.objects.get(email="user2@example.com")
    headers = await log_in(client, user2.email)
    post = await client.post(
        "/api/posts/",
        json={"title": "New", "slug": "new", "author": 1, "tags": []},
        headers=headers,
    )
    assert post.status_code == 201, post.text
    assert post.json()["author"] == user2.pk  # the body's author is read-only
    comment = await client.post(
        "/api/comments/", json={"post": post.json()["id"], "body": "First!"}, headers=headers
    )
    assert comment.status_code == 201 and comment.json()["author"] == user2.pk
    other = await log_in(client, "user0@example.com")
    url = f"/api/comments/{comment.json()['id']}/"
    assert (await client.patch(url, json={"body": "Edited"}, headers=other)).status_code == 403
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert not await Comment.objects.filter(pk=comment.json()["id"]).exists()
