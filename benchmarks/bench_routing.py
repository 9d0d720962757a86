"""What the HTTP layer costs a request, without a database.

    python -m benchmarks.bench_routing [--repeat N] [--requests N]

Three ASGI apps answer ``GET /api/posts/{pk}/`` with the same small JSON body, called in
process (no server, no socket) and interleaved run by run:

- ``starlette``: a plain Starlette app and a function route (the floor);
- ``aksara route``: the same route on ``Aksara`` (its middleware and error handlers);
- ``aksara viewset``: a ``ViewSet.retrieve`` registered with a ``Router`` beside five other
  viewsets, so the route is found among twelve.

The report gives the median µs per request of each and its ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from aksara.api import Response, Router, ViewSet
from aksara.app import Aksara
from benchmarks import asgi

BODY = b'{"id":1}'


async def plain(request: Request) -> StarletteResponse:
    return StarletteResponse(BODY, media_type="application/json")


class PostViewSet(ViewSet):
    async def list(self, request: Request) -> Response:
        return Response([])

    async def retrieve(self, request: Request, pk: str) -> Response:
        return Response({"id": 1})


def build_apps() -> dict[str, Any]:
    routes = [Route("/api/posts/", plain), Route("/api/posts/{pk}/", plain)]
    router = Router()
    router.register("posts", PostViewSet, basename="post")
    for number in range(5):
        router.register(f"other{number}", PostViewSet, basename=f"other{number}")
    viewsets = Aksara()
    viewsets.include_router(router)
    return {
        "starlette": Starlette(routes=routes),
        "aksara route": Aksara(routes=routes),
        "aksara viewset": viewsets,
    }


def scope(pk: int) -> dict[str, Any]:
    return asgi.http_scope(f"/api/posts/{pk}/")


async def run(repeat: int, requests: int) -> None:
    receive = asgi.receive_empty

    async def send(message: dict[str, Any]) -> None:
        pass

    apps = build_apps()
    for app in apps.values():
        for number in range(500):
            await app(scope(number), receive, send)
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for round_number in range(repeat):
        order = list(apps.items())
        if round_number % 2:
            order.reverse()
        for name, app in order:
            gc.collect()
            start = time.perf_counter()
            for number in range(requests):
                await app(scope(number), receive, send)
            samples[name].append((time.perf_counter() - start) / requests * 1e6)
    floor = statistics.median(samples["starlette"])
    print(f"{'app':<16} {'µs/request':>10} {'/ floor':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:>10.1f} {median / floor:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per app")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run")
    options = parser.parse_args()
    asyncio.run(run(options.repeat, options.requests))


if __name__ == "__main__":
    main()
