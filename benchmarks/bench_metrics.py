"""What monitoring costs a request: METRICS and SLOW_REQUEST_MS off against on.

    python -m benchmarks.bench_metrics [--posts 200] [--rounds 300] [--number 50]
                                       [--multiprocess] [--postgresql]

The blog example is seeded (``seed_api``) on a temporary SQLite file (``--postgresql``: a
database of its own on ``$AKSARA_BENCH_POSTGRES_URL``'s server, dropped at the end: no
driver thread between the event loop and the database), and the ASGI app is
called directly (no HTTP client: its cost would hide the middleware's) for the detail
endpoint ``/api/posts/abc-123/`` (two queries) and a ``/ping`` route without queries, with
each configuration in turn, alternating, *rounds* rounds of *number* requests each. Figures
are µs per request: the median round and the best one (on a shared machine the best
round is the steadiest estimate of the cost itself); the overhead is the difference from
"off". ``--multiprocess``
measures prometheus_client's multiprocess mode (values in mmapped files, as
``aksara serve --workers N`` runs it) instead of the in-memory one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import aksara
from aksara import Aksara
from benchmarks import asgi
from examples.blog.app import router
from examples.blog.seed import GUIDE_SLUG, seed_api

POSTGRES_URL = os.environ.get("AKSARA_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
PATHS = {"detail (2 queries)": f"/api/posts/{GUIDE_SLUG}/", "/ping (no query)": "/ping"}
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "off": {"METRICS": None, "SLOW_REQUEST_MS": None},
    "METRICS": {"METRICS": {}, "SLOW_REQUEST_MS": None},
    "METRICS + SLOW_REQUEST_MS": {"METRICS": {}, "SLOW_REQUEST_MS": 10_000},
}


async def ping(request: Request) -> Response:
    return Response(b"pong", media_type="text/plain")


def build_app(keys: dict[str, Any]) -> Aksara:
    """The example's API and /ping, with the monitoring settings *keys*."""
    aksara.configure(**keys)
    app = Aksara(routes=[Route("/ping", ping)])
    app.include_router(router)
    return app


async def call(app: Aksara, path: str) -> int:
    """One GET of *path* straight through the ASGI interface; the response status."""
    return await asgi.get(app, path)


@asynccontextmanager
async def database(postgresql: bool) -> AsyncIterator[str]:
    """The URL of an empty database for the run, removed afterwards."""
    if not postgresql:
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'blog.sqlite3'}"
        return
    name = f"aksara_bench_metrics_{os.getpid()}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def run(
    posts: int, rounds: int, number: int, postgresql: bool
) -> dict[str, dict[str, tuple[float, float]]]:
    """(median, best) µs per request for each path and configuration."""
    async with database(postgresql) as url:
        aksara.configure(DATABASE_URL=url)
        async with aksara.connect(url):
            await aksara.create_tables()
            await seed_api(posts=posts)
            apps = {name: build_app(keys) for name, keys in CONFIGURATIONS.items()}
            results: dict[str, dict[str, tuple[float, float]]] = {}
            for label, path in PATHS.items():
                samples: dict[str, list[float]] = {name: [] for name in apps}
                for app in apps.values():  # warm: middleware stacks, statement caches
                    for _ in range(200):
                        assert await call(app, path) == 200
                for _ in range(rounds):
                    for name, app in apps.items():
                        started = time.perf_counter()
                        for _ in range(number):
                            await call(app, path)
                        samples[name].append((time.perf_counter() - started) / number * 1e6)
                results[label] = {
                    name: (statistics.median(found), min(found)) for name, found in samples.items()
                }
    return results


def main() -> None:
    logging.getLogger("aksara.db.slow").setLevel(logging.ERROR)  # a loaded machine's noise
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--number", type=int, default=50)
    parser.add_argument("--multiprocess", action="store_true")
    parser.add_argument("--postgresql", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as metrics_directory:
        if arguments.multiprocess:  # before prometheus_client is first imported
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_directory
        results = asyncio.run(
            run(arguments.posts, arguments.rounds, arguments.number, arguments.postgresql)
        )
    mode = "multiprocess" if arguments.multiprocess else "in-memory"
    backend = "PostgreSQL" if arguments.postgresql else "SQLite"
    print(
        f"In-process ASGI on {backend}, µs per request ({arguments.rounds} rounds; {mode} values)"
    )
    for label, figures in results.items():
        print(f"\n{label:<28} {'median':>8} {'+':>6} {'best':>8} {'+':>6}")
        base_median, base_best = figures["off"]
        for name, (median, best) in figures.items():
            print(
                f"  {name:<26} {median:8.1f} {median - base_median:+6.1f} "
                f"{best:8.1f} {best - base_best:+6.1f}"
            )


if __name__ == "__main__":
    main()
