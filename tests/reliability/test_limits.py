"""Limits on what a client may send, each answered with a clear error: body size (413),
JSON nesting depth (400, not the 500 of a RecursionError), page_size (clamped), ?fields=
(bounded by the serializer's fields, however long), and header size on a served socket."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import aksara
from aksara.db import Database
from examples.blog.app import app
from examples.blog.models import Post, User
from examples.blog.seed import seed_api
from tests.reliability.servers import free_port
from tests.test_example_api import TEST_AUTH, log_in

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[2]
#: The example's endpoints that take a body (users are read-only: made by the seed).
WRITES = ["/api/posts/", "/api/comments/", "/api/tags/"]


@pytest.fixture
async def http(db: Database) -> Any:
    """A client signed in as a seeded user: the limits hold for those allowed to write."""
    aksara.configure(**TEST_AUTH)
    await seed_api(users=1, posts=1, comments=0)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        client.headers.update(await log_in(client, "user0@example.com"))
        yield client


@pytest.mark.parametrize("path", WRITES)
async def test_bodies_past_max_body_bytes_are_413(http: httpx.AsyncClient, path: str) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1048576 bytes."}


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize("shape", ["array", "object", "inside a field"])
async def test_json_nested_too_deeply_is_a_400(
    http: httpx.AsyncClient, path: str, shape: str
) -> None:
    depth = 100_000
    if shape == "array":
        body = b"[" * depth + b"]" * depth
    elif shape == "object":
        body = b'{"a":' * depth + b"1" + b"}" * depth
    else:
        body = b'{"title": "t", "metadata": ' + b"[" * depth + b"]" * depth + b"}"
    response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}


async def test_page_size_is_clamped(http: httpx.AsyncClient) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    await Post.objects.bulk_create(
        [Post(title=f"t{n}", slug=f"s{n}", author=author) for n in range(130)]
    )
    for asked, served in [(10**12, 100), (101, 100), (100, 100), (7, 7)]:
        response = await http.get("/api/posts/", params={"page_size": asked})
        assert response.status_code == 200
        assert len(response.json()["results"]) == served
    for bad in ["-1", "0", "abc", "1e9", "9" * 400]:
        response = await http.get("/api/posts/", params={"page_size": bad})
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert len(response.json()["results"]) <= 100


async def test_a_long_fields_list_is_bounded_by_the_serializer(http: httpx.AsyncClient) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    await Post.objects.create(title="t", slug="s", author=author)
    response = await http.get("/api/posts/", params={"fields": ",".join(["id", "title"] * 2000)})
    assert response.status_code == 200
    assert set(response.json()["results"][0]) == {"id", "title"}
    response = await http.get("/api/posts/", params={"fields": ",".join(["nope"] * 2000)})
    assert response.status_code == 400
    assert "Valid fields" in response.json()["fields"][0]
    assert len(response.text) < 2_000  # the bad name is named once, not 2,000 times


def _serve(port: int, tmp: Path, http: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("AKSARA_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.blog.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--http", http, "--no-access-log"],
        cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def _header_answer(port: int, size: int) -> int | str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for _ in range(300):
            try:
                await http.get("/no-such-path")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        try:
            response = await http.get("/no-such-path", headers={"x-big": "a" * size})
        except httpx.RemoteProtocolError:
            return "connection closed"
        answer = response.status_code
        # The server is still there for everyone else.
        assert (await http.get("/no-such-path")).status_code == 404
        return answer


@pytest.mark.parametrize("http", ["h11", "httptools"])
async def test_header_size_on_a_served_socket(tmp_path: Path, http: str) -> None:
    port = free_port()
    process = _serve(port, tmp_path, http)
    try:
        fine = await _header_answer(port, 8_000)
        big = await _header_answer(port, 200_000)
    finally:
        process.terminate()
        process.wait(10)
    assert fine == 404
    if http == "h11":
        # h11 refuses a request head past h11_max_incomplete_event_size (16 KiB by default)
        # before the app sees it.
        assert big in (400, 431, "connection closed")
    else:
        # httptools sets no bound: the app's MAX_HEADER_BYTES (32 KiB) answers 431.
        assert big == 431
    print(f"\n[figure] 200 kB header, uvicorn --http {http}: {big}")


async def test_too_many_query_parameters_is_a_400(http: httpx.AsyncClient) -> None:
    at_limit = "&".join(f"x{n}=1" for n in range(1000))
    assert (await http.get(f"/api/tags/?{at_limit}")).status_code == 200
    response = await http.get(f"/api/tags/?{at_limit}&one=more")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Too many query parameters: at most 1000 (MAX_QUERY_PARAMS)."
    }
    aksara.configure(MAX_QUERY_PARAMS=2)
    assert (await http.get("/api/tags/?a=1&b=2")).status_code == 200
    assert (await http.get("/api/tags/?a=1&b=2&c=3")).status_code == 400
