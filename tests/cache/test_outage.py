"""A Redis outage: a server of the test's own is stopped, killed and started again while the
cache is in use. Every operation fails open within timeout_ms, errors are counted and logged
once, and caching resumes without a restart."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara.cache import Cache, cache, caches
from tests.conftest import IN_CI

TIMEOUT_MS = 200
#: What a loaded machine may add to a bounded operation.
SLACK = 0.5
FAILED = "failed, so it serves misses"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A redis-server process on a port of its own, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                    return
                except (redis.RedisError, OSError):
                    await asyncio.sleep(0.05)
            raise RuntimeError(f"redis-server on port {self.port} did not start")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            async with asyncio.timeout(10):
                await self.process.wait()
            self.process = None

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
async def server() -> AsyncIterator[RedisServer]:
    """A redis-server started for this test (fails under CI when it is not installed)."""
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed (CI requires it)")
        pytest.skip("redis-server is not installed")
    own = RedisServer(free_port())
    await own.start()
    try:
        yield own
    finally:
        if own.process is not None:
            own.resume()
        await own.kill()


async def bounded(operation: Awaitable[Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await operation
    return result, time.perf_counter() - start


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if FAILED in record.getMessage()]


async def every_operation(target: Cache) -> list[tuple[str, Any, float]]:
    calls: dict[str, Awaitable[Any]] = {
        "get": target.get("key", "default"),
        "set": target.set("key", "value"),
        "add": target.add("new", 1),
        "get_many": target.get_many(["key", "other"]),
        "set_many": target.set_many({"a": 1}),
        "delete": target.delete("key"),
        "delete_many": target.delete_many(["a", "b"]),
        "incr": target.incr("counter", 3),
        "touch": target.touch("key", ttl=5),
        "get_or_set": target.get_or_set("computed", lambda: "fresh"),
        "get_raw": target.get_raw("key"),
        "set_raw": target.set_raw("key", b"1"),
        "clear": target.clear(),
    }
    results = []
    for name, call in calls.items():
        result, elapsed = await bounded(call)
        results.append((name, result, elapsed))
    return results


async def test_a_killed_server_is_a_miss_within_the_timeout_and_caching_resumes(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    aksara.configure(
        CACHE={"default": {"backend": "redis", "url": server.url, "timeout_ms": TIMEOUT_MS}}
    )
    await caches.open_all()
    await cache.set("key", "cached")
    assert await cache.get("key") == "cached"

    await server.kill()
    caplog.set_level(logging.INFO, logger="aksara.cache")
    results = await every_operation(cache)
    expected = {
        "get": "default",
        "add": False,
        "get_many": {},
        "delete": False,
        "delete_many": 0,
        "incr": 3,
        "touch": False,
        "get_or_set": "fresh",
        "get_raw": None,
    }
    for name, result, elapsed in results:
        assert elapsed < TIMEOUT_MS / 1000 + SLACK, name
        if name in expected:
            assert result == expected[name], name
    stats = cache.stats()
    assert stats.errors == len(results) + 1  # get_or_set both reads and stores
    assert len(failures(caplog)) == 1

    await server.start()
    await asyncio.sleep(Cache.retry_interval + 0.1)
    await cache.set("key", "again")
    assert await cache.get("key") == "again"
    assert cache.stats().errors == stats.errors
    assert "answers again" in caplog.text
    assert len(failures(caplog)) == 1


async def test_a_server_that_hangs_costs_one_timeout_then_fails_fast(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    aksara.configure(
        CACHE={"default": {"backend": "redis", "url": server.url, "timeout_ms": TIMEOUT_MS}}
    )
    await cache.set("key", "cached")
    server.pause()
    value, elapsed = await bounded(cache.get("key"))
    assert value is None
    assert TIMEOUT_MS / 1000 * 0.8 < elapsed < TIMEOUT_MS / 1000 + SLACK
    # Within the retry interval the backend is not asked: no request waits again.
    for _ in range(20):
        value, elapsed = await bounded(cache.get("key"))
        assert value is None
        assert elapsed < 0.05
    assert cache.stats().errors == 21
    assert len(failures(caplog)) == 1
    server.resume()
    await asyncio.sleep(Cache.retry_interval + 0.1)
    assert await cache.get("key") == "cached"


async def test_the_app_starts_and_serves_while_redis_is_down(server: RedisServer) -> None:
    await server.kill()
    aksara.configure(
        DATABASE_URL="sqlite:///:memory:",
        CACHE={"default": {"backend": "redis", "url": server.url, "timeout_ms": TIMEOUT_MS}},
    )

    async def endpoint(request: Request) -> JSONResponse:
        count = await cache.get_or_set("count", lambda: 41)
        return JSONResponse({"count": count + 1})

    app = aksara.Aksara(routes=[Route("/", endpoint)])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response, elapsed = await bounded(client.get("/"))
    assert response.json() == {"count": 42}
    assert elapsed < TIMEOUT_MS / 1000 + SLACK
    assert caches["default"].stats().errors >= 2
