"""The blog example throttles anonymous requests by client address (``BLOG_ANON_RATE``),
on both databases; logged-in users are not counted."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

import aksara
from aksara.cache import caches
from aksara.db import Database
from examples.blog import viewsets
from examples.blog.app import app
from examples.blog.seed import seed_api
from tests.cache.conftest import unique_prefix

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
async def blog(db: Database) -> AsyncIterator[None]:
    await seed_api(users=2, posts=3, comments=2)
    aksara.configure(CACHE={"default": {"backend": "memory", "key_prefix": unique_prefix()}})
    yield
    await caches.close_all()


def test_every_blog_viewset_throttles_anonymous_requests_at_a_generous_default() -> None:
    for viewset in (
        viewsets.PostViewSet,
        viewsets.UserViewSet,
        viewsets.CommentViewSet,
        viewsets.TagViewSet,
    ):
        assert viewset.resolve_throttle_classes() == (viewsets.AnonReadThrottle,)
    if "BLOG_ANON_RATE" not in os.environ:
        assert viewsets.AnonReadThrottle().get_rate() == (2000, 1)


async def test_anonymous_reads_are_throttled_by_address(
    blog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(viewsets.AnonReadThrottle, "rate", "3/min")

    async def statuses(address: str, count: int) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(address, 50_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.get("/api/tags/")).status_code for _ in range(count)]

    assert await statuses("10.1.0.1", 4) == [200, 200, 200, 429]
    assert await statuses("10.1.0.2", 1) == [200]


@pytest.mark.parametrize(("value", "expected"), [("off", "0"), ("20/s", "1")])
def test_the_rate_is_set_by_an_environment_variable(value: str, expected: str) -> None:
    code = (
        "from examples.blog import viewsets; "
        "print(len(viewsets.PostViewSet.resolve_throttle_classes()))"
    )
    environment = {**os.environ, "BLOG_ANON_RATE": value}
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, check=True
    )
    assert output.stdout.decode().strip() == expected


def test_a_bad_rate_fails_at_import() -> None:
    environment = {**os.environ, "BLOG_ANON_RATE": "lots"}
    output = subprocess.run(
        [sys.executable, "-c", "import examples.blog.viewsets"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
    )
    assert output.returncode != 0
    assert b"Bad throttle rate 'lots'" in output.stderr
