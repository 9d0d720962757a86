"""Serve every stack, check their answers agree, load each endpoint in alternating rounds.

Servers, wrk and the CPU accounting are ``benchmarks.bench_http``'s; this module adds the
stacks, the endpoint scripts, the equality check and the clean-up of created posts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks import bench_http
from benchmarks.http import checks, schema
from benchmarks.http.endpoints import Endpoint, script

__all__ = ["STACKS", "Stack", "reset", "run", "start_stacks", "summarise"]

_SETTLE_SECONDS = 1.0
#: Every stack, the floor first (the ratios are to it).
STACKS = ("floor", "aksara", "fastapi_sqlalchemy", "fastapi_tortoise", "django_drf")


@dataclass
class Stack:
    """A stack's server (None when skipped) and its samples by endpoint."""

    name: str
    server: bench_http.Server | None = None
    skipped: str | None = None
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The end of the server's output, kept when a request failed under load.
    log_tail: str | None = None


def _environment(arguments: argparse.Namespace) -> dict[str, str]:
    return {
        "BENCH_HTTP_DATABASE_URL": arguments.pg_url,
        "BENCH_HTTP_POOL_SIZE": str(arguments.pool_size),
    }


def start_stacks(arguments: argparse.Namespace, workdir: Path) -> list[Stack]:
    """Start each stack's server; a stack whose module or dependencies are missing, or
    whose server does not come up, is kept as skipped with the reason."""
    stacks = []
    for name in arguments.stacks:
        stack = Stack(name)
        module = f"benchmarks.http.stacks.{name}"
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            stack.skipped = f"{module} is not present"
        else:
            try:
                stack.server = bench_http.start(
                    name,
                    arguments.pg_url,
                    workdir,
                    factory=f"{module}:app",
                    ready="/json",
                    environment=_environment(arguments),
                )
            except RuntimeError as error:
                stack.skipped = str(error).strip().splitlines()[-1][:300]
        if stack.skipped:
            print(f"skipped {name}: {stack.skipped}", file=sys.stderr)
        stacks.append(stack)
    return stacks


async def reset(database_url: str) -> None:
    """Remove the posts the create endpoint added, so the pages stay the same."""
    connection = await asyncpg.connect(database_url)
    try:
        await schema.reset_posts(connection)
        await connection.execute("VACUUM ANALYZE posts")
    finally:
        await connection.close()


def _check(running: list[Stack], endpoints: list[Endpoint], slugs: list[str]) -> None:
    bases = {stack.name: stack.server.base for stack in running if stack.server}
    picked = [slugs[0], slugs[len(slugs) // 2], slugs[-1]]
    for endpoint in endpoints:
        checks.check_endpoint(endpoint.name, bases, picked)


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Seed, serve, check, warm up, then load every endpoint of every stack in rounds."""
    slugs = asyncio.run(schema.seed(arguments.pg_url))
    endpoints: list[Endpoint] = arguments.endpoints
    with tempfile.TemporaryDirectory(prefix="aksara-bench-peers-") as scratch:
        workdir = Path(scratch)
        scripts = {}
        for endpoint in endpoints:
            scripts[endpoint.name] = workdir / f"{endpoint.name}.lua"
            scripts[endpoint.name].write_text(script(endpoint, slugs))
        stacks = start_stacks(arguments, workdir)
        running = [stack for stack in stacks if stack.server is not None]
        try:
            _check(running, endpoints, slugs)
            asyncio.run(reset(arguments.pg_url))
            for round_number in range(-1 if arguments.warmup else 0, arguments.rounds):
                warm = round_number < 0
                for endpoint in endpoints:
                    shift = max(round_number, 0) % max(len(running), 1)
                    for stack in running[shift:] + running[:shift]:
                        _measure(stack, endpoint, scripts[endpoint.name], arguments, warm)
                    if endpoint.creates:
                        time.sleep(_SETTLE_SECONDS)  # requests wrk left in flight finish
                        asyncio.run(reset(arguments.pg_url))
        finally:
            for stack in running:
                assert stack.server is not None
                bench_http.stop(stack.server)
                failed = any(
                    sample["status_errors"] or sample["socket_errors"]
                    for samples in stack.samples.values()
                    for sample in samples
                )
                if failed:
                    lines = stack.server.log.read_text(errors="replace").splitlines()
                    stack.log_tail = "\n".join(lines[-40:])
    return summarise(stacks, endpoints, arguments)


def _measure(
    stack: Stack, endpoint: Endpoint, path: Path, arguments: argparse.Namespace, warm: bool
) -> None:
    assert stack.server is not None
    seconds = arguments.warmup if warm else arguments.duration
    totals = bench_http.load(stack.server, path, arguments, seconds, strict=False)
    if warm:
        return
    stack.samples.setdefault(endpoint.name, []).append(totals)
    errors = totals["status_errors"] + totals["socket_errors"]
    print(
        f"{endpoint.name:>9} {stack.name:>18}: {totals['rps']:8.0f} req/s "
        f"{totals['cpu_us']:7.0f} µs CPU/req" + (f" {errors} errors" if errors else ""),
        file=sys.stderr,
    )


def summarise(
    stacks: list[Stack], endpoints: list[Endpoint], arguments: argparse.Namespace
) -> dict[str, Any]:
    """The results: per endpoint and stack the medians, the ratio to the floor, errors."""
    floor = next((stack for stack in stacks if stack.name == "floor" and stack.samples), None)
    table: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        row: dict[str, Any] = {}
        for stack in stacks:
            samples = stack.samples.get(endpoint.name)
            if not samples:
                continue
            ratio = None
            if floor is not None:
                base = floor.samples[endpoint.name]
                per_round = [s["rps"] / f["rps"] for s, f in zip(samples, base, strict=True)]
                ratio = statistics.median(per_round)
            row[stack.name] = {
                "rps": statistics.median(s["rps"] for s in samples),
                "ratio": ratio,
                "p50_ms": statistics.median(s["p50_us"] for s in samples) / 1000,
                "p99_ms": statistics.median(s["p99_us"] for s in samples) / 1000,
                "cpu_us": statistics.median(s["cpu_us"] for s in samples),
                "errors": sum(s["status_errors"] + s["socket_errors"] for s in samples),
                "samples": samples,
            }
        table[endpoint.name] = row
    loads = [s["load"] for stack in stacks for r in stack.samples.values() for s in r]
    return {
        "conditions": {
            "rounds": arguments.rounds,
            "duration_s": arguments.duration,
            "warmup_s": arguments.warmup,
            "wrk": f"-t{arguments.threads} -c{arguments.connections}",
            "pool_size": arguments.pool_size,
            "cpus": os.cpu_count(),
            "load_average": [round(min(loads), 2), round(max(loads), 2)] if loads else None,
        },
        "labels": {endpoint.name: endpoint.label for endpoint in endpoints},
        "skipped": {stack.name: stack.skipped for stack in stacks if stack.skipped},
        "server_logs": {stack.name: stack.log_tail for stack in stacks if stack.log_tail},
        "results": table,
    }
