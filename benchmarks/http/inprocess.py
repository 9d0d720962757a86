"""The peer stacks' apps called in-process as ASGI callables: server CPU per request without
the HTTP server and the load generator sharing the machine.

    python -m benchmarks.http.inprocess [--stacks floor,aksara] [--path /api/posts/?page=3]
                                        [--requests 500] [--rounds 14] [--concurrency 32]

Every stack's app runs in this one process on uvloop, started through its ASGI lifespan;
each round sends ``--requests`` GET requests, ``--concurrency`` at a time, to each stack in
turn (the order rotating a round), and measures this thread's CPU time (``time.thread_time``)
across them. Prints each stack's median CPU µs per request and the median of the per-round
ratio floor/stack. The database is the one ``python -m benchmarks.http`` seeded
(``BENCH_HTTP_DATABASE_URL``, default ``postgresql://127.0.0.1:5432/aksara_bench_http``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.asgi import http_scope

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

DEFAULT_URL = "postgresql://127.0.0.1:5432/aksara_bench_http"


async def get(app: App, path: str) -> tuple[int, bytes]:
    """``GET path`` on *app*: the status and the body."""
    scope = http_scope(path)
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the client waits for the answer
        raise AssertionError("unreachable")

    status = 0
    body: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def start(app: App) -> asyncio.Task[None]:
    """Run *app*'s lifespan startup; the returned task holds it open until cancelled."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {message}")
    return task


async def cpu_per_request(app: App, path: str, requests: int, concurrency: int) -> float:
    """This thread's CPU µs per request over *requests* GETs, *concurrency* at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            status, body = await get(app, path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")

    gc.collect()
    start_cpu = time.thread_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (time.thread_time() - start_cpu) / requests * 1e6


async def run(arguments: argparse.Namespace) -> dict[str, list[float]]:
    """Each stack's CPU µs per request, one figure a round."""
    os.environ.setdefault("BENCH_HTTP_DATABASE_URL", DEFAULT_URL)
    stacks = arguments.stacks.split(",")
    apps: dict[str, App] = {}
    lifespans = []
    for name in stacks:
        app = importlib.import_module(f"benchmarks.http.stacks.{name}").app()
        lifespans.append(await start(app))
        apps[name] = app
        await cpu_per_request(app, arguments.path, 200, arguments.concurrency)  # warm-up
    figures: dict[str, list[float]] = {name: [] for name in stacks}
    for turn in range(arguments.rounds):
        shift = turn % len(stacks)
        for name in stacks[shift:] + stacks[:shift]:
            figures[name].append(
                await cpu_per_request(
                    apps[name], arguments.path, arguments.requests, arguments.concurrency
                )
            )
    for task in lifespans:
        task.cancel()
    return figures


def main(argv: list[str] | None = None) -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", default="floor,aksara", help="%(default)s")
    parser.add_argument("--path", default="/api/posts/?page=3", help="%(default)s")
    parser.add_argument("--requests", type=int, default=500, help="%(default)s a round")
    parser.add_argument("--rounds", type=int, default=14, help="%(default)s")
    parser.add_argument("--concurrency", type=int, default=32, help="%(default)s")
    arguments = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the bench extra
        pass
    else:
        uvloop.install()
    figures = asyncio.run(run(arguments))
    floor = figures.get("floor")
    print(f"GET {arguments.path}: CPU µs per request (median of {arguments.rounds} rounds)")
    for name, values in figures.items():
        line = f"  {name:10s} {statistics.median(values):7.1f}  (min {min(values):.1f})"
        if floor is not None and name != "floor":
            ratio = statistics.median(f / v for f, v in zip(floor, values, strict=True))
            line += f"  floor/{name} {ratio:.3f}"
        print(line)


if __name__ == "__main__":
    main()
