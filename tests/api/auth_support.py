"""What the authentication and permission tests share: settings with a known secret and
cheap argon2, users of the blog with known passwords, and clients of an app built from
viewsets after the settings are in place."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

import aksara
from aksara import Aksara
from aksara.api import Router
from aksara.api.tokens import issue_tokens
from aksara.auth import create_user
from examples.blog.models import User

SECRET = "a-test-secret-key-that-is-long-enough-0123456789"
#: argon2 at its cheapest: the tests check behaviour, not the cost of hashing.
CHEAP_HASHER = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


def configure(**extra: Any) -> None:
    """A known SECRET_KEY and a cheap hasher, plus *extra* settings."""
    aksara.configure(SECRET_KEY=SECRET, PASSWORD_HASHER=CHEAP_HASHER, **extra)


async def make_user(email: str, password: str = "correct horse", **values: Any) -> User:
    """A blog user who logs in with *email* and *password*."""
    user: User = await create_user(email, password, name=email.split("@")[0], **values)
    return user


def bearer(user: Any, keyword: str = "Bearer") -> dict[str, str]:
    """The Authorization header of a fresh access token of *user*."""
    return {"Authorization": f"{keyword} {issue_tokens(user)['access']}"}


def basic(username: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic credentials."""
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@asynccontextmanager
async def serve(
    *registrations: tuple[str, Any], **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app routing each ``(prefix, viewset)`` under ``/api``."""
    router = Router(prefix="/api")
    for prefix, viewset in registrations:
        router.register(prefix, viewset, basename=prefix)
    app = Aksara()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    base_url = options.get("base_url", "http://testserver")
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client
