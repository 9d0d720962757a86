"""The blog example served by ``aksara serve --workers 3`` on a PostgreSQL database of its
own, with Redis as the cache and the throttles' counters and METRICS on: migrations applied
once by three ``aksara migrate`` started together, requests answered by all three workers,
a write through one worker seen by the cached reads of the others, one throttle count, one
set of metrics, and the same answers from every worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as redis

import aksara
import tests.conftest as common
from examples.blog.models import Post
from examples.blog.seed import DEMO_PASSWORD, seed_api
from tests.cache.conftest import require_redis
from tests.migrations.helpers import postgres_database
from tests.monitoring.helpers import total
from tests.test_example_server import REPO, free_port, stop

WORKERS = 3
#: Longest wait for the server to start, or the workers to report their metrics.
WAIT_SECONDS = 60.0
#: Most requests sent while looking for every worker (a new connection each time).
MAX_REQUESTS = 300
#: The anonymous rate of the blog's viewsets: low enough that one worker alone would allow
#: the requests the three together refuse.
ANON_LIMIT = 6
MIGRATIONS = ["--models", "examples.blog.models", "--path", str(REPO / "examples/blog/migrations")]


async def _run(cwd: Path, env: dict[str, str], *arguments: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aksara.cli",
        *arguments,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def _serve(port: int, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``aksara serve`` of the test app with WORKERS workers, its output in *log*."""
    command = [sys.executable, "-m", "aksara.cli", "serve", "tests.deploy_app:app"]
    with log.open("wb") as output:
        return subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning"],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _text(log: Path) -> str:
    return _text(log)


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {WAIT_SECONDS} s:\n{_text(log)}")


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The database (migrated by three processes at once, then seeded), the settings and
    the environment; the Redis keys of the run are deleted after."""
    problem = await common._postgres_unavailable()
    if problem:
        if common.IN_CI:
            pytest.fail(problem + " (CI requires it)")
        pytest.skip(problem)
    redis_url = await require_redis()
    prefix = f"deploy-{uuid.uuid4().hex[:12]}"
    async with postgres_database() as url:
        (tmp_path / "settings.py").write_text(
            "AKSARA = {\n"
            f"    'DATABASE_URL': {url!r},\n"
            "    'DATABASE_POOL': {'min_size': 1, 'max_size': 2},\n"
            f"    'CACHE': {{'default': {{'backend': 'redis', 'url': {redis_url!r},"
            f" 'key_prefix': {prefix!r}, 'timeout_ms': 5000}}}},\n"
            "    'THROTTLE_CACHE': 'default',\n"
            "    'METRICS': {},\n"
            f"    'SECRET_KEY': {uuid.uuid4().hex * 2!r},\n"
            "}\n"
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("AKSARA_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")
        }
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["BLOG_ANON_RATE"] = f"{ANON_LIMIT}/min"
        try:
            yield {"url": url, "env": env, "cwd": tmp_path}
        finally:
            client = redis.Redis.from_url(redis_url)
            try:
                keys = [key async for key in client.scan_iter(f"{prefix}:*")]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()


async def test_three_workers_share_one_state(deployment: dict[str, Any]) -> None:
    url, env, cwd = deployment["url"], deployment["env"], deployment["cwd"]

    # Three deploys migrating at once: the advisory lock lets one apply each revision.
    results = await asyncio.gather(
        *(_run(cwd, env, "migrate", "--database-url", url, *MIGRATIONS) for _ in range(3))
    )
    assert [code for code, _ in results] == [0, 0, 0], results
    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await connection.close()
    async with aksara.connect(url):
        await seed_api(users=5, posts=30, comments=40)

    port = free_port()
    log = cwd / "server.log"
    process = _serve(port, cwd, env, log)
    # No keep-alive: every request a new connection, so the workers share them.
    limits = httpx.Limits(max_keepalive_connections=0)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
            await _serving(client, process, log)
            await _check_workers(client, url, log)
    finally:
        stop(process)


async def _serving(client: httpx.AsyncClient, process: subprocess.Popen[bytes], log: Path) -> None:
    async def answers() -> bool:
        assert process.poll() is None, _text(log)
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await _eventually(answers, "the server answering /readyz", log)


async def _until_every_worker(
    send: Callable[[], Awaitable[httpx.Response]], log: Path
) -> dict[str, list[httpx.Response]]:
    """Send until each worker has answered at least once; the responses by worker."""
    seen: dict[str, list[httpx.Response]] = {}
    for _ in range(MAX_REQUESTS):
        response = await send()
        seen.setdefault(response.headers["x-worker"], []).append(response)
        if len(seen) == WORKERS:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered:\n{_text(log)}")


async def _check_workers(client: httpx.AsyncClient, url: str, log: Path) -> None:
    token = await client.post(
        "/api/token/", json={"email": "user0@example.com", "password": DEMO_PASSWORD}
    )
    assert token.status_code == 200, token.text
    signed_in = {"Authorization": f"Bearer {token.json()['access']}"}

    # The same answer from every worker: a token one issued is good on all (one SECRET_KEY,
    # nothing kept per process), and a page is the same page wherever it is served.
    pages = await _until_every_worker(
        lambda: client.get("/api/posts/?page_size=5&ordering=title", headers=signed_in), log
    )
    bodies = {response.content for answered in pages.values() for response in answered}
    assert all(r.status_code == 200 for answered in pages.values() for r in answered)
    assert len(bodies) == 1
    assert len(pages) == WORKERS  # three processes, by their pids

    # Cached on Redis: the first answer is stored, and a post added behind the app's back
    # (no write announced) stays unseen by every worker: they all answer from that entry.
    assert (await client.get("/post-count/")).json() == {"posts": 31}
    async with aksara.connect(url):
        await Post.objects.create(title="Unannounced", slug="unannounced", author_id=1)
    counts = await _until_every_worker(lambda: client.get("/post-count/"), log)
    assert {r.json()["posts"] for answered in counts.values() for r in answered} == {31}
    # A write through one worker makes the entry stale for all of them (each answered).
    created = await client.post(
        "/api/posts/",
        json={"title": "Deployed", "slug": "deployed", "tags": []},
        headers=signed_in,
    )
    assert created.status_code == 201, created.text
    after = await _until_every_worker(lambda: client.get("/post-count/"), log)
    assert {r.json()["posts"] for answered in after.values() for r in answered} == {33}

    # One throttle count for the three: ANON_LIMIT anonymous reads pass, whoever serves them.
    anonymous = [await client.get("/api/tags/") for _ in range(ANON_LIMIT * 2)]
    statuses = [response.status_code for response in anonymous]
    assert statuses == [200] * ANON_LIMIT + [429] * ANON_LIMIT, statuses
    assert len({response.headers["x-worker"] for response in anonymous}) > 1

    # One set of metrics: any worker's /metrics counts the requests of all three.
    post_counts = 1 + sum(len(answered) for answered in [*counts.values(), *after.values()])
    expected = {
        ("GET", "/api/posts/", "200"): sum(len(answered) for answered in pages.values()),
        ("GET", "/post-count/", "200"): post_counts,
        ("POST", "/api/posts/", "201"): 1,
        ("GET", "/api/tags/", "200"): ANON_LIMIT,
        ("GET", "/api/tags/", "429"): ANON_LIMIT,
    }

    async def counted() -> bool:
        text = (await client.get("/metrics")).text
        found = {
            labels: total(
                text,
                "aksara_http_requests_total",
                method=labels[0],
                route=labels[1],
                status=labels[2],
            )
            for labels in expected
        }
        return found == expected

    await _eventually(counted, f"the requests counted as {expected}", log)
