"""What a throttle check costs a request, on the memory backend and on Redis.

    python -m benchmarks.bench_throttle [--repeat N] [--requests N] [--redis-url URL]

Three viewsets answer ``GET /api/items/{pk}/`` with the same small JSON body, called in
process as ASGI apps (no server, no socket) and interleaved run by run, ``gc.collect()``
before each run:

- ``none``: no throttle (the floor; the router skips the check entirely);
- ``memory``: ``AnonRateThrottle`` counting in a memory cache;
- ``redis``: the same throttle counting in Redis (one ``EVALSHA`` round trip per request).

The rate is never reached, so every request runs the counter and is allowed. The report
gives the median wall and CPU µs (this process's only, not the Redis server's) per request of
each, the throttle's cost (the difference to ``none``) and share of the request, and the
same for ``check_throttles()`` alone, awaited directly on one viewset instance, beside a bare
``GET`` on the same Redis client (the floor of any Redis round trip).
The Redis keys live under a prefix of the run's own and are deleted after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

import aksara
from aksara.api import AnonRateThrottle, Response, Router, ViewSet
from aksara.app import Aksara
from aksara.cache import caches
from benchmarks import asgi

RATE = "1000000000/day"


class MemoryThrottle(AnonRateThrottle):
    rate = RATE
    cache_alias = "throttle_memory"


class RedisThrottle(AnonRateThrottle):
    rate = RATE
    cache_alias = "throttle_redis"


class Plain(ViewSet):
    async def retrieve(self, request: Request, pk: str) -> Response:
        return Response({"id": 1})


class Memory(Plain):
    throttle_classes = [MemoryThrottle]


class Redis(Plain):
    throttle_classes = [RedisThrottle]


SIDES: dict[str, type[ViewSet]] = {"none": Plain, "memory": Memory, "redis": Redis}


def build_app(viewset: type[ViewSet]) -> Aksara:
    router = Router()
    router.register("items", viewset, basename="item")
    app = Aksara()
    app.include_router(router)
    return app


def scope(pk: int) -> dict[str, Any]:
    return asgi.http_scope(f"/api/items/{pk}/")


receive = asgi.receive_empty


async def send(message: dict[str, Any]) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise RuntimeError(f"The benchmark request was answered {message['status']}.")


def timed(
    calls: int, function: Callable[[int], Awaitable[Any]]
) -> Callable[[], Awaitable[tuple[float, float]]]:
    """A run of *calls* awaits of *function*: (wall µs, this process's CPU µs) per call."""

    async def run() -> tuple[float, float]:
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        for number in range(calls):
            await function(number)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall / calls * 1e6, cpu / calls * 1e6

    return run


async def run(repeat: int, requests: int, redis_url: str) -> None:
    prefix = f"aksara-bench-throttle-{uuid.uuid4().hex[:8]}"
    aksara.configure(
        CACHE={
            "default": {"backend": "memory"},
            "throttle_memory": {"backend": "memory", "key_prefix": prefix},
            "throttle_redis": {
                "backend": "redis",
                "url": redis_url,
                "key_prefix": prefix,
                "timeout_ms": 1000,
            },
        }
    )
    try:
        await caches["throttle_redis"].open()
        await measure(repeat, requests)
        errors = caches["throttle_redis"].errors
        if errors:
            raise RuntimeError(f"Redis failed {errors} times: the figures are not valid.")
    finally:
        await caches["throttle_redis"].clear()
        await caches.close_all()


async def measure(repeat: int, requests: int) -> None:
    apps = {name: build_app(viewset) for name, viewset in SIDES.items()}
    request = Request(scope(1), receive)
    views = {}
    for name, viewset in SIDES.items():
        view = viewset()
        view.request, view.action, view.kwargs = request, "retrieve", {"pk": "1"}
        views[name] = view
    runs = {
        f"request, {name}": timed(requests, lambda n, app=app: app(scope(n), receive, send))
        for name, app in apps.items()
    }
    for name in ("memory", "redis"):
        view = views[name]
        runs[f"check_throttles, {name}"] = timed(
            requests, lambda n, view=view: view.check_throttles(request)
        )
    client = caches["throttle_redis"].redis
    runs["bare Redis GET (floor)"] = timed(requests, lambda n: client.get("missing"))
    for side in runs.values():  # warm-up
        await side()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for round_number in range(repeat):
        order = list(runs.items())
        if round_number % 2:
            order.reverse()
        for name, side in order:
            samples[name].append(await side())
    medians = {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in samples.items()
    }
    floor, floor_cpu = medians["request, none"]
    print(f"{'side':<24} {'wall µs':>8} {'throttle':>9} {'share':>6} {'CPU µs':>8} {'throttle':>9}")
    for name, (wall, cpu) in medians.items():
        if name.startswith("request"):
            cost, cpu_cost = wall - floor, cpu - floor_cpu
            print(
                f"{name:<24} {wall:>8.1f} {cost:>9.1f} {cost / wall:>6.0%} "
                f"{cpu:>8.1f} {cpu_cost:>9.1f}"
            )
        else:
            print(f"{name:<24} {wall:>8.1f} {'':>9} {'':>6} {cpu:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side")
    parser.add_argument("--requests", type=int, default=5_000, help="requests per run")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("AKSARA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    options = parser.parse_args()
    asyncio.run(run(options.repeat, options.requests, options.redis_url))


if __name__ == "__main__":
    main()
