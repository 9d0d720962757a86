"""Caching: the ``@cached`` hit path against a bare ``redis.asyncio`` GET + decode of the same
value, the memory backend's hit, and the example's list endpoint cached against uncached.

    python -m benchmarks.bench_cache                       # about a minute
    python -m benchmarks.bench_cache --rounds 15 --http    # and over HTTP (needs wrk)

The blog is seeded into a SQLite file (``--database-url`` for PostgreSQL): 50 users, 500
posts, 1,000 comments. Redis at ``--redis-url`` (database 15 by default, its keys under a
prefix of the run's own, cleared after).

- Hit path: ``get_popular_posts`` (the spec's: 10 posts as model instances) and a small dict,
  each stored once; then, per round, 2,000 sequential awaits of each side: ``await
  client.get(key)`` + ``codec.decode`` on the cache's own client (the bare side), and the
  ``@cached`` function hitting on Redis and on the memory backend. Targets: Redis hit at
  most 1.2x the bare GET; memory hit under 5 µs.
- ASGI: ``GET /api/posts/`` (a page of 20 with its count) called in-process through the
  app (no HTTP server), 500 sequential requests per side per round: the example's
  ``PostViewSet``, and the spec's ``@cache_response(ttl=60)`` override of its ``list`` on
  the memory backend and on Redis. Requests per second.
- HTTP (``--http``): the same three apps, each in its own uvicorn process (one worker, uvloop,
  httptools), loaded by ``wrk`` in alternating rounds.

Rounds interleave the sides (the order rotating, ``gc.collect()`` first); medians reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aksara
from aksara import Aksara
from aksara.api import Router
from aksara.cache import cache_response, cached, caches, versions
from benchmarks import asgi, bench_http
from examples.blog.models import Post
from examples.blog.seed import seed_api
from examples.blog.viewsets import PostViewSet

HIT_CALLS = 2_000
REQUESTS = 500
MODE_VARIABLE = "AKSARA_BENCH_CACHE_MODE"
REDIS_VARIABLE = "AKSARA_BENCH_CACHE_REDIS"
URL_VARIABLE = "AKSARA_BENCH_HTTP_URL"
PREFIX_VARIABLE = "AKSARA_BENCH_CACHE_PREFIX"
PREFIX = f"bench-cache-{os.getpid()}"
Side = Callable[[], Awaitable[Any]]


class CachedPostViewSet(PostViewSet):
    """The spec's override, on the default cache."""

    @cache_response(ttl=60)
    async def list(self, request):  # type: ignore[no-untyped-def, override]
        return await super().list(request)


class RedisCachedPostViewSet(PostViewSet):
    """The same on the cache aliased "redis"."""

    @cache_response(ttl=60, cache="redis")
    async def list(self, request):  # type: ignore[no-untyped-def, override]
        return await super().list(request)


VIEWSETS = {"uncached": PostViewSet, "memory": CachedPostViewSet, "redis": RedisCachedPostViewSet}


def configure(database_url: str, redis_url: str, prefix: str) -> None:
    aksara.configure(
        DATABASE_URL=database_url,
        DATABASE_POOL={"min_size": 1, "max_size": 4},
        CACHE={
            "default": {"backend": "memory", "key_prefix": prefix},
            "redis": {"backend": "redis", "url": redis_url, "key_prefix": prefix},
        },
    )


def app_for(mode: str) -> Aksara:
    router = Router(prefix="/api")
    router.register("posts", VIEWSETS[mode])
    app = Aksara()
    app.include_router(router)
    return app


def http_app() -> Aksara:
    """The uvicorn factory of ``--http``: the app of ``$AKSARA_BENCH_CACHE_MODE``."""
    configure(os.environ[URL_VARIABLE], os.environ[REDIS_VARIABLE], os.environ[PREFIX_VARIABLE])
    return app_for(os.environ[MODE_VARIABLE])


async def timed(side: Side, calls: int) -> float:
    """Seconds per call of *side* over *calls* sequential awaits."""
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        await side()
    return (time.perf_counter() - started) / calls


async def interleave(sides: dict[str, Side], calls: int, rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for name in names:
        await timed(sides[name], max(1, calls // 10))  # warm-up
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(await timed(sides[name], calls))
    return samples


@cached(ttl=3600, cache="redis")
async def get_popular_posts():  # type: ignore[no-untyped-def]
    return await Post.objects.filter(is_published=True).order_by("-view_count").limit(10).all()


@cached(ttl=3600)
async def get_popular_posts_in_memory():  # type: ignore[no-untyped-def]
    return await Post.objects.filter(is_published=True).order_by("-view_count").limit(10).all()


SMALL = {"id": 42, "title": "Performance", "tags": ["orm", "cache"], "count": 7}


@cached(ttl=3600, cache="redis")
async def small_value() -> dict[str, Any]:
    return SMALL


@cached(ttl=3600)
async def small_value_in_memory() -> dict[str, Any]:
    return SMALL


async def hit_sides() -> dict[str, Side]:
    redis_cache = caches["redis"]
    client, codec = redis_cache.redis, redis_cache.codec
    posts = await get_popular_posts()
    await get_popular_posts_in_memory()
    await small_value()
    await small_value_in_memory()
    for function in (get_popular_posts, small_value):
        found, _ = await versions.get_fresh(redis_cache, function.key())
        if not found:
            raise RuntimeError(f"{function.__name__} was not stored in Redis")
    bare_posts, bare_small = redis_cache.make_key("bare:posts"), redis_cache.make_key("bare:small")
    await client.set(bare_posts, codec.encode(posts))
    await client.set(bare_small, codec.encode(SMALL))

    async def bare_get_posts() -> Any:
        return codec.decode(await client.get(bare_posts))

    async def bare_get_small() -> Any:
        return codec.decode(await client.get(bare_small))

    return {
        "redis bare GET+decode, 10 posts": bare_get_posts,
        "redis @cached hit, 10 posts": get_popular_posts,
        "redis bare GET+decode, small dict": bare_get_small,
        "redis @cached hit, small dict": small_value,
        "memory @cached hit, 10 posts": get_popular_posts_in_memory,
        "memory @cached hit, small dict": small_value_in_memory,
    }


async def asgi_sides() -> dict[str, Side]:
    sides: dict[str, Side] = {}
    for mode in VIEWSETS:
        app = app_for(mode)
        if await asgi.get(app, "/api/posts/") != 200:
            raise RuntimeError(f"the {mode} app does not answer 200")
        sides[mode] = lambda app=app: asgi.get(app, "/api/posts/")  # type: ignore[misc]
    return sides


def http_rounds(arguments: argparse.Namespace, workdir: Path) -> dict[str, list[float]]:
    """Requests/s of each app over HTTP, by ``wrk`` in alternating rounds."""
    samples: dict[str, list[float]] = {mode: [] for mode in VIEWSETS}
    servers: dict[str, bench_http.Server] = {}
    try:
        for mode in VIEWSETS:
            servers[mode] = start(mode, arguments, workdir)
        for number in range(arguments.http_rounds + 1):
            modes = list(VIEWSETS)
            shift = number % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                seconds = arguments.duration if number else 2.0  # the first is a warm-up
                rps = wrk(servers[mode], arguments, seconds)
                if number:
                    samples[mode].append(rps)
                    print(f"http round {number} {mode:>9}: {rps:8.0f} req/s", file=sys.stderr)
    finally:
        for server in servers.values():
            bench_http.stop(server)
        asyncio.run(clear_redis(arguments.redis_url))
    return samples


async def clear_redis(url: str) -> None:
    """Remove the run's keys (entries, versions) from Redis."""
    configure("sqlite:///:memory:", url, PREFIX)
    try:
        await caches["redis"].clear()
    finally:
        await caches.close_all()


def start(mode: str, arguments: argparse.Namespace, workdir: Path) -> bench_http.Server:
    port = bench_http._free_port()
    log = workdir / f"{mode}.log"
    command = [
        *(sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bench_cache:http_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
    ]
    environment = {
        **os.environ,
        MODE_VARIABLE: mode,
        URL_VARIABLE: arguments.database_url,
        REDIS_VARIABLE: arguments.redis_url,
        PREFIX_VARIABLE: PREFIX,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    server = bench_http.Server(mode, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The {mode} server exited: {log.read_text()[-2000:]}")
        try:
            if bench_http._get(f"{server.base}/api/posts/", timeout=1.0)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    bench_http.stop(server)
    raise RuntimeError(f"The {mode} server did not answer in 30 s.")


def wrk(server: bench_http.Server, arguments: argparse.Namespace, seconds: float) -> float:
    command = [
        *("wrk", f"-t{arguments.threads}", f"-c{arguments.connections}", f"-d{seconds:g}s"),
        f"{server.base}/api/posts/",
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    for line in finished.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            if "Non-2xx" in finished.stdout or "Socket errors" in finished.stdout:
                raise RuntimeError(f"{server.app}: errors under load:\n{finished.stdout}")
            return float(line.split()[1])
    raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr}")


async def measure(arguments: argparse.Namespace) -> dict[str, Any]:
    configure(arguments.database_url, arguments.redis_url, PREFIX)
    await aksara.connect()
    try:
        if arguments.seed:
            await aksara.drop_tables()
            await aksara.create_tables()
            await seed_api(users=50, posts=500, comments=1_000)
        await caches.open_all()
        hits = await interleave(await hit_sides(), HIT_CALLS, arguments.rounds)
        asgi = await interleave(await asgi_sides(), REQUESTS, arguments.rounds)
    finally:
        await caches["redis"].clear()
        await caches.close_all()
        await aksara.disconnect()
    return {"hits": hits, "asgi": asgi}


def report(results: dict[str, Any], arguments: argparse.Namespace) -> str:
    hits = {name: statistics.median(values) * 1e6 for name, values in results["hits"].items()}
    lines = [f"@cached hit path, median µs per call ({arguments.rounds} rounds of {HIT_CALLS:,})"]
    for name, value in hits.items():
        lines.append(f"  {name:<36} {value:7.2f} µs")
    for size in ("10 posts", "small dict"):
        ratio = statistics.median(
            hit / bare
            for hit, bare in zip(
                results["hits"][f"redis @cached hit, {size}"],
                results["hits"][f"redis bare GET+decode, {size}"],
                strict=True,
            )
        )
        lines.append(f"  redis hit / bare GET, {size}: {ratio:.2f}x (target <= 1.20x)")
    memory = hits["memory @cached hit, small dict"]
    lines.append(f"  memory hit, small dict: {memory:.2f} µs (target < 5 µs)")
    lines.append("")
    lines.append(f"GET /api/posts/ in-process ASGI, median requests/s ({REQUESTS} per round)")
    asgi = {name: 1 / statistics.median(values) for name, values in results["asgi"].items()}
    for name, value in asgi.items():
        lines.append(f"  {name:<10} {value:9.0f} req/s  {value / asgi['uncached']:6.2f}x")
    if "http" in results:
        lines.append("")
        lines.append(
            f"GET /api/posts/ over HTTP, wrk -t{arguments.threads} -c{arguments.connections} "
            f"-d{arguments.duration:g}s, median requests/s of {arguments.http_rounds} rounds"
        )
        http = {name: statistics.median(values) for name, values in results["http"].items()}
        for name, value in http.items():
            lines.append(f"  {name:<10} {value:9.0f} req/s  {value / http['uncached']:6.2f}x")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cache", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--database-url", help="default: a new SQLite file, seeded")
    parser.add_argument("--no-seed", dest="seed", action="store_false")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("AKSARA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    parser.add_argument("--http", action="store_true", help="also over HTTP with wrk")
    parser.add_argument("--http-rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", metavar="PATH", help="also write every sample")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="aksara-bench-cache-"))
    try:
        if arguments.database_url is None:
            arguments.database_url = f"sqlite:///{workdir / 'blog.sqlite3'}"
        results = asyncio.run(measure(arguments))
        if arguments.http:
            if shutil.which("wrk") is None:
                raise SystemExit("wrk is not installed: apt-get install wrk")
            results["http"] = http_rounds(arguments, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(results, arguments))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
