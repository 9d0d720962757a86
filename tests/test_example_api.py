"""The blog example's API (examples/blog/app.py) through ASGI on both databases: the list
and its pages, the detail by slug, field selection, filters, ordering, search, and a
comment created, changed and deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import aksara
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.app import app
from examples.blog.models import Comment, Post, Tag
from examples.blog.seed import DEMO_PASSWORD, GUIDE_SLUG, seed_api

POSTS = 45  # the random ones; the guide's post makes 46
#: Signs the tests' tokens; argon2 at its cheapest keeps logins fast.
TEST_AUTH = {
    "SECRET_KEY": "test-secret-key-of-the-example-api-tests-0123456789",
    "PASSWORD_HASHER": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}


async def log_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """The Authorization header of a seeded user's access token."""
    response = await client.post("/api/token/", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    aksara.configure(**TEST_AUTH)
    await seed_api(users=5, posts=POSTS, comments=60)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_list_is_a_page_of_light_posts_newest_first(
    client: httpx.AsyncClient,
) -> None:
    async with capture_queries() as queries:
        response = await client.get("/api/posts/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == POSTS + 1
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/posts/?page=2"
    assert len(body["results"]) == 20
    assert set(body["results"][0]) == {"id", "title", "slug", "created_at"}
    stamps = [post["created_at"] for post in body["results"]]
    assert stamps == sorted(stamps, reverse=True)
    assert body["results"][0]["slug"] == GUIDE_SLUG  # seeded last, so the newest
    assert len(queries) <= 2, [query.sql for query in queries]  # the page and its count


async def test_page_size_is_capped_and_a_page_past_the_end_is_a_404(
    client: httpx.AsyncClient,
) -> None:
    last = await client.get("/api/posts/", params={"page": 3})
    assert len(last.json()["results"]) == POSTS + 1 - 40
    assert last.json()["next"] is None
    big = await client.get("/api/posts/", params={"page_size": 1000})
    assert len(big.json()["results"]) == POSTS + 1  # under max_page_size=100
    assert (await client.get("/api/posts/", params={"page": 4})).status_code == 404


async def test_the_detail_by_slug_has_the_author_name_the_comment_count_and_tags(
    client: httpx.AsyncClient,
) -> None:
    guide = await Post.objects.get(slug=GUIDE_SLUG)
    async with capture_queries() as queries:
        response = await client.get(f"/api/posts/{GUIDE_SLUG}/")
    assert response.status_code == 200
    body = response.json()
    tags = {tag.pk for tag in await Tag.objects.filter(name__in=["fast", "query", "cache"])}
    assert body["id"] == guide.pk
    assert body["author_name"] == "User 0"
    assert body["comment_count"] == 1
    assert set(body["tags"]) == tags
    assert body["content"] == guide.content
    # The post, its author and its comment count in one statement; the tags in a second.
    assert len(queries) == 2, [query.sql for query in queries]


async def test_a_random_post_counts_its_comments(client: httpx.AsyncClient) -> None:
    post = await Post.objects.get(slug="post-7")
    expected = await Comment.objects.filter(post=post).count()
    body = (await client.get("/api/posts/post-7/")).json()
    assert body["comment_count"] == expected
    assert body["author"] == post.author_id


async def test_unknown_slug_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/posts/no-such-post/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


async def test_fields_narrow_the_json_and_name_the_valid_ones(
    client: httpx.AsyncClient,
) -> None:
    listing = await client.get("/api/posts/", params={"fields": "id,title"})
    assert {tuple(post) for post in listing.json()["results"]} == {("id", "title")}
    detail = await client.get(f"/api/posts/{GUIDE_SLUG}/", params={"fields": "title,author_name"})
    assert detail.json() == {"title": "Performance", "author_name": "User 0"}
    wrong = await client.get("/api/posts/", params={"fields": "id,password"})
    assert wrong.status_code == 400
    assert "id, title, slug, created_at" in str(wrong.json())


async def test_filters_ordering_and_search(client: httpx.AsyncClient) -> None:
    published = await client.get("/api/posts/", params={"is_published": "true", "page_size": 100})
    assert published.json()["count"] == await Post.objects.filter(is_published=True).count()
    by_author = await client.get("/api/posts/", params={"author": 2, "page_size": 100})
    assert by_author.json()["count"] == await Post.objects.filter(author_id=2).count()
    since = "2026-01-01T05:00:00Z"
    recent = await client.get("/api/posts/", params={"created_at__gte": since})
    assert recent.json()["count"] == POSTS + 1 - 18  # post-0..17 are 17 minutes apart
    fast = await Tag.objects.get(name="fast")
    tagged = await client.get("/api/posts/", params={"tags": fast.pk, "page_size": 100})
    expected = sorted(p.slug for p in await Post.objects.filter(tags=fast))
    assert sorted(p["slug"] for p in tagged.json()["results"]) == expected
    ordered = await client.get("/api/posts/", params={"ordering": "title", "fields": "title"})
    titles = [post["title"] for post in ordered.json()["results"]]
    assert titles == sorted(titles)
    search = await client.get("/api/posts/", params={"search": "Performance"})
    assert [post["slug"] for post in search.json()["results"]] == [GUIDE_SLUG]


async def test_bad_filters_are_400s_naming_the_valid_choices(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get("/api/posts/", params={"view_count": "3"})
    assert unknown.status_code == 400
    assert "is_published" in str(unknown.json())
    wrong_type = await client.get("/api/posts/", params={"author": "ada"})
    assert wrong_type.status_code == 400
    ordering = await client.get("/api/posts/", params={"ordering": "content"})
    assert ordering.status_code == 400
    assert "view_count" in str(ordering.json())


async def test_a_comment_is_created_changed_and_deleted(client: httpx.AsyncClient) -> None:
    guide = await Post.objects.get(slug=GUIDE_SLUG)
    anonymous = await client.post("/api/comments/", json={"post": guide.pk, "body": "Hi."})
    assert anonymous.status_code == 401
    client.headers.update(await log_in(client, "user2@example.com"))
    created = await client.post(
        "/api/comments/", json={"post": guide.pk, "author": 1, "body": "Prefetch too."}
    )
    assert created.status_code == 201, created.text
    comment = created.json()
    assert comment["author_name"] == "User 2"
    assert (comment["post"], comment["body"]) == (guide.pk, "Prefetch too.")
    url = f"/api/comments/{comment['id']}/"
    changed = await client.patch(url, json={"body": "And only()."})
    assert changed.status_code == 200, changed.text
    assert (await Comment.objects.get(pk=comment["id"])).body == "And only()."
    counted = await client.get(f"/api/posts/{GUIDE_SLUG}/", params={"fields": "comment_count"})
    assert counted.json() == {"comment_count": 2}
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert await Comment.objects.filter(post=guide).count() == 1


async def test_a_comment_on_a_missing_post_is_a_400_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    before = await Comment.objects.count()
    client.headers.update(await log_in(client, "user0@example.com"))
    response = await client.post("/api/comments/", json={"post": 10_000, "author": 1})
    assert response.status_code == 400
    assert set(response.json()) >= {"post", "body"}
    assert await Comment.objects.count() == before


async def test_the_other_resources(client: httpx.AsyncClient) -> None:
    user = (await client.get("/api/users/1/")).json()
    assert user == {
        "id": 1,
        "name": "User 0",
        "email": "user0@example.com",
        "is_active": True,
        "created_at": user["created_at"],
    }
    tags = (await client.get("/api/tags/")).json()["results"]
    names = [tag["name"] for tag in tags]
    assert names == sorted(names) and "fast" in names
    comments = (await client.get("/api/comments/", params={"post": 1})).json()
    assert comments["count"] == await Comment.objects.filter(post_id=1).count()


def readme_api_snippet() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## An API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_readme_api_snippet_serves_as_written(client: httpx.AsyncClient) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(readme_api_snippet(), "README.md", "exec"), namespace)
    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as readme:
        listing = await readme.get("/api/posts/", params={"fields": "id,title", "author": 1})
        detail = await readme.get(f"/api/posts/{GUIDE_SLUG}/")
        ours = await client.get(f"/api/posts/{GUIDE_SLUG}/")
    assert listing.status_code == 200
    assert listing.json()["count"] == await Post.objects.filter(author_id=1).count()
    assert {tuple(post) for post in listing.json()["results"]} == {("id", "title")}
    assert detail.json() == {key: ours.json()[key] for key in detail.json()}
    assert detail.json()["comment_count"] == 1
