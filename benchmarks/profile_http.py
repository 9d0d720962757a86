"""Where a request's CPU goes: py-spy samples one app's uvicorn process while wrk loads it.

    python -m benchmarks.profile_http [--app viewset] [--seconds 15] [--top 25]
    python -m benchmarks.profile_http --direct [--requests 500] [--rounds 9]

Seeds and serves as ``benchmarks.bench_http`` does (same apps, same PostgreSQL), warms the
server up, then loads it with ``wrk`` while ``py-spy record`` samples it (raw stacks; idle
time in the event loop's poll is not sampled). The report turns the sample shares into µs
per request with the server's CPU time per request measured over the same run: self time by
area of the code, the functions with the most self time, and Aksara's functions with the
most inclusive time.

``--direct`` leaves the HTTP server out: the ``handler`` and ``viewset`` apps are called as
ASGI callables in one process (uvloop), request after request, rounds alternating; the
report gives each one's CPU µs per request (this thread's time: the framework, the ORM and
the driver's client side), the difference being what the REST layer costs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop

import aksara
from benchmarks import asgi, bench_http, http_apps

__all__ = ["main"]

#: Areas of the code by the path of a frame's file; the first match wins.
AREAS = [
    ("aksara.api serializers (output, plan)", "aksara/api/serializers/"),
    ("aksara.api routing, views, responses", "aksara/api/"),
    ("aksara app and middleware", "aksara/app.py"),
    ("aksara debug (N+1 middleware, events)", "aksara/debug/"),
    ("aksara ORM (queryset, compiler, rows)", "aksara/orm/"),
    ("aksara db (execute path, pool)", "aksara/db/"),
    ("asyncpg", "asyncpg/"),
    ("starlette", "starlette/"),
    ("uvicorn, httptools", "uvicorn/"),
    ("msgspec / orjson", "msgspec"),
    ("the app module", "benchmarks/"),
    ("asyncio, uvloop", "asyncio/"),
]


def _frame_file(frame: str) -> str:
    inside = frame.rsplit(" (", 1)[-1].rstrip(")")
    return inside.rsplit(":", 1)[0]


def _function(frame: str) -> str:
    """``name (file)`` without the line number, the file relative to site-packages or repo."""
    name, _, where = frame.partition(" (")
    path = _frame_file(frame)
    for marker in ("site-packages/", "/wt-", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    if path.startswith(("ex/", "http/")):
        path = path.split("/", 1)[1]
    return f"{name} ({path})" if where else name


def _area(frame: str) -> str:
    path = _frame_file(frame)
    for label, marker in AREAS:
        if marker in path:
            return label
    return "other (Python runtime, builtins)"


def read_stacks(raw: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: each stack's frames, root first, and its count."""
    stacks = []
    for line in raw.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        names = frames.split(";")[1:]  # [0] names the process
        if names:
            stacks.append((names, int(count)))
    return stacks


def report(stacks: list[tuple[list[str], int]], cpu_us: float, top: int) -> str:
    """Self time by area and the top functions, in µs per request (*cpu_us* in all)."""
    total = sum(count for _, count in stacks)
    areas: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        areas[_area(frames[-1])] += count
        own[_function(frames[-1])] += count
        for name in {_function(frame) for frame in frames}:
            inclusive[name] += count
    scale = cpu_us / total
    lines = [f"{total} samples; server CPU {cpu_us:.0f} µs per request", "", "self time by area:"]
    lines += [
        f"  {n * scale:7.1f} µs  {n / total:6.1%}  {label}" for label, n in areas.most_common()
    ]
    ours = collections.Counter({k: n for k, n in inclusive.items() if "(aksara/" in k})
    for title, counter in (("self", own), ("inclusive", ours)):
        lines += [
            "",
            f"top {top} functions by {title} time"
            + (" (Aksara's)" if counter is ours else "")
            + ":",
        ]
        lines += [
            f"  {n * scale:7.1f} µs  {n / total:6.1%}  {name}"
            for name, n in counter.most_common(top)
        ]
    return "\n".join(lines)


async def _direct(requests: int, rounds: int, posts: int) -> dict[str, float]:
    """CPU µs per request of the Aksara apps called in-process (medians over *rounds*)."""
    apps = {"handler": http_apps.handler(), "viewset": http_apps.viewset()}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    rng = random.Random(7)

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"unexpected answer: {message}")

    async with aksara.connect():
        for number in range(rounds):
            order = list(apps.items())
            for name, app in order if number % 2 else order[::-1]:
                paths = [f"/api/posts/{rng.randint(1, posts)}/" for _ in range(requests)]
                gc.collect()
                start = time.thread_time()
                for path in paths:
                    await app(asgi.http_scope(path), asgi.receive_empty, send)
                samples[name].append((time.thread_time() - start) / requests * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def direct(arguments: argparse.Namespace) -> int:
    """Seed, then time the handler and viewset apps called as ASGI callables."""
    posts = asyncio.run(bench_http.seed(arguments.pg_url))
    os.environ[http_apps.URL_VARIABLE] = arguments.pg_url
    results = uvloop.run(_direct(arguments.requests, arguments.rounds, posts))
    for name, cpu in results.items():
        print(f"{name:<8} {cpu:7.1f} CPU µs per request (in-process ASGI, no HTTP server)")
    print(f"viewset - handler: {results['viewset'] - results['handler']:+.1f} µs")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default="viewset", choices=bench_http.APPS)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pg-url", default=bench_http.DEFAULT_URL)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks there")
    parser.add_argument("--direct", action="store_true", help="in-process, no HTTP server")
    parser.add_argument("--requests", type=int, default=500, help="--direct: per round")
    parser.add_argument("--rounds", type=int, default=9, help="--direct: rounds per app")
    arguments = parser.parse_args(argv)
    if arguments.direct:
        return direct(arguments)
    load = bench_http.parse_args(["--apps", "floor"])  # wrk's threads and connections
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    posts = asyncio.run(bench_http.seed(arguments.pg_url))
    with tempfile.TemporaryDirectory(prefix="aksara-profile-http-") as scratch:
        workdir = Path(scratch)
        script = workdir / "random_posts.lua"
        script.write_text(bench_http.LUA % {"posts": posts})
        raw = arguments.raw or workdir / "stacks.txt"
        server = bench_http.start(arguments.app, arguments.pg_url, workdir)
        try:
            bench_http.load(server, script, load, 3)
            command = [spy, "record", "-p", str(server.process.pid), "-r", str(arguments.rate)]
            command += ["-d", f"{arguments.seconds:g}", "-f", "raw", "-o", str(raw)]
            sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                totals = bench_http.load(server, script, load, arguments.seconds)
                _, errors = sampler.communicate(timeout=arguments.seconds + 30)
            finally:
                if sampler.poll() is None:
                    sampler.kill()
                    sampler.wait()
            if sampler.returncode != 0:
                raise RuntimeError(f"py-spy failed: {errors.decode()[-2000:]}")
        finally:
            bench_http.stop(server)
        print(f"{arguments.app}: {totals['rps']:.0f} req/s while sampled")
        print(report(read_stacks(raw), totals["cpu_us"], arguments.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
