"""Session authentication on both databases: the signed cookie set by logging in, tampered
and foreign cookies, CSRF (token missing or wrong, foreign origins, https referers), a
password change ending sessions, and logging out."""

from __future__ import annotations

from typing import Any

import httpx

import aksara
from aksara.api import (
    IsAuthenticated,
    ModelSerializer,
    ModelViewSet,
    SessionAuthentication,
    SessionViewSet,
)
from aksara.db import Database
from examples.blog.models import Post, User
from tests.api.auth_support import configure, make_user, serve


class TitleSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author"]


class SessionPosts(ModelViewSet):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    queryset = Post.objects.all()
    serializer_class = TitleSerializer


ROUTES = (("session", SessionViewSet), ("posts", SessionPosts))


async def log_in(client: httpx.AsyncClient, email: str = "ann@example.com") -> str:
    response = await client.post("/api/session/", json={"email": email, "password": "pw"})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    assert client.cookies["csrftoken"] == csrf
    cookie_line = next(v for v in response.headers.get_list("set-cookie") if "aksara_session" in v)
    assert "HttpOnly" in cookie_line and "SameSite=lax" in cookie_line
    return csrf


def new_post(author: User) -> dict[str, Any]:
    return {"title": "T", "slug": "t", "author": author.pk}


async def test_a_session_reads_and_with_its_csrf_token_writes(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com", "pw")
    async with serve(*ROUTES) as client:
        assert (await client.get("/api/posts/")).status_code == 403
        wrong = await client.post("/api/session/", json={"email": ann.email, "password": "no"})
        assert wrong.status_code == 401 and "aksara_session" not in client.cookies
        csrf = await log_in(client)
        assert (await client.get("/api/posts/")).status_code == 200
        missing = await client.post("/api/posts/", json=new_post(ann))
        assert missing.status_code == 403
        assert missing.json() == {"detail": "CSRF failed: CSRF token missing."}
        wrong_token = await client.post(
            "/api/posts/", json=new_post(ann), headers={"X-CSRFToken": csrf[:-2] + "xx"}
        )
        assert wrong_token.json() == {"detail": "CSRF failed: CSRF token incorrect."}
        assert await Post.objects.count() == 0
        created = await client.post(
            "/api/posts/", json=new_post(ann), headers={"X-CSRFToken": csrf}
        )
        assert created.status_code == 201, created.text
        # The CSRF token of another session does not do: it is bound to this cookie.
        other = await make_user("bob@example.com", "pw")
        async with serve(*ROUTES) as second:
            bobs = await log_in(second, other.email)
        assert bobs != csrf
        foreign = await client.post(
            "/api/posts/", json={**new_post(ann), "slug": "u"}, headers={"X-CSRFToken": bobs}
        )
        assert foreign.status_code == 403


async def test_a_foreign_origin_is_refused_unless_trusted(db: Database) -> None:
    configure(SESSION={"trusted_origins": ["https://app.example.com"]})
    ann = await make_user("ann@example.com", "pw")
    async with serve(*ROUTES) as client:
        csrf = await log_in(client)
        evil = await client.post(
            "/api/posts/",
            json=new_post(ann),
            headers={"X-CSRFToken": csrf, "Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        assert evil.json() == {"detail": "CSRF failed: origin https://evil.example is not trusted."}
        own = {"X-CSRFToken": csrf, "Origin": "http://testserver"}
        assert (
            await client.post("/api/posts/", json=new_post(ann), headers=own)
        ).status_code == 201
        trusted = {"X-CSRFToken": csrf, "Origin": "https://app.example.com"}
        body = {**new_post(ann), "slug": "t2"}
        assert (await client.post("/api/posts/", json=body, headers=trusted)).status_code == 201


async def test_https_without_an_origin_needs_a_same_origin_referer(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com", "pw")
    async with serve(*ROUTES, base_url="https://testserver") as client:
        csrf = await log_in(client)
        no_referer = await client.post(
            "/api/posts/", json=new_post(ann), headers={"X-CSRFToken": csrf}
        )
        assert no_referer.status_code == 403 and "Referer" in no_referer.json()["detail"]
        other = {"X-CSRFToken": csrf, "Referer": "https://testserver.evil/page"}
        assert (
            await client.post("/api/posts/", json=new_post(ann), headers=other)
        ).status_code == 403
        same = {"X-CSRFToken": csrf, "Referer": "https://testserver/page"}
        assert (
            await client.post("/api/posts/", json=new_post(ann), headers=same)
        ).status_code == 201


async def test_tampered_or_foreign_cookies_are_no_session(db: Database) -> None:
    configure()
    await make_user("ann@example.com", "pw")
    async with serve(*ROUTES) as client:
        await log_in(client)
        value = client.cookies["aksara_session"]
        payload, _, signature = value.partition(".")
        for forged in (
            value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"),
            payload + ".x" + signature,
            "eyJ1IjoiMSJ9.garbage.sig",
            "",
        ):
            client.cookies.set("aksara_session", forged)
            response = await client.get("/api/posts/")
            assert response.status_code == 403, forged
        # Signed with another SECRET_KEY: refused too.
        aksara.configure(SECRET_KEY="another-secret-key-of-at-least-32-chars!!")
        client.cookies.set("aksara_session", value)
        assert (await client.get("/api/posts/")).status_code == 403


async def test_a_password_change_or_deactivation_ends_sessions(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com", "pw")
    async with serve(*ROUTES) as client:
        await log_in(client)
        assert (await client.get("/api/posts/")).status_code == 200
        await ann.aset_password("new")
        await ann.save()
        assert (await client.get("/api/posts/")).status_code == 403
        await ann.aset_password("pw")
        await ann.save()
        await log_in(client)
        ann.is_active = False
        await ann.save()
        assert (await client.get("/api/posts/")).status_code == 403


async def test_logging_out_needs_the_csrf_token_and_ends_the_session(db: Database) -> None:
    configure()
    await make_user("ann@example.com", "pw")
    async with serve(*ROUTES) as client:
        csrf = await log_in(client)
        assert (await client.post("/api/session/logout/")).status_code == 403
        out = await client.post("/api/session/logout/", headers={"X-CSRFToken": csrf})
        assert out.status_code == 204
        assert "aksara_session" not in client.cookies
        assert (await client.get("/api/posts/")).status_code == 403
