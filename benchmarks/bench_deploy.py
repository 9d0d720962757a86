"""The deployment shapes: the blog example's list and detail endpoints served by
``aksara serve`` with 1 and 2 workers, reading from a streaming replica instead of the
primary, and through PgBouncer (transaction mode) instead of directly; loaded by ``wrk``.

    python -m benchmarks.bench_deploy [--rounds 3] [--duration 5] [--posts 1000]

Needs ``wrk``, PostgreSQL's ``initdb`` / ``pg_ctl`` / ``pg_basebackup`` and ``pgbouncer``.
It starts a primary and its replica of its own (tests/db/pgcluster.py: temporary folder, free
ports) and a PgBouncer in transaction mode in front of the primary, seeds the blog there
from its migrations, and serves one server per shape, all at once:

- ``primary-1w`` / ``primary-2w``: DATABASE_URL on the primary, 1 and 2 workers;
- ``replica-1w``: reads routed to the replica (``READ_REPLICAS``), 1 worker;
- ``pgbouncer-1w``: the primary through PgBouncer, ``"pgbouncer": True``, 1 worker.

After a warm-up, ``wrk`` loads one (shape, endpoint) at a time, in alternating rounds. The
report gives the median requests/s and latencies, and each comparison's median per-round
ratio. Every server, PgBouncer and both PostgreSQL servers are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.bench_http import LUA_DONE, Server, _free_port, _get, load, stop
from tests.db.pgcluster import Cluster, pgbouncer, streaming_cluster

__all__ = ["COMPARISONS", "SHAPES", "main", "run"]

REPO = Path(__file__).resolve().parents[1]
POOL = {"min_size": 1, "max_size": 5}
#: The servers: the database they read from and their workers (see the module's docstring).
SHAPES = ("primary-1w", "primary-2w", "replica-1w", "pgbouncer-1w")
#: (label, the shape measured, the shape it is compared with)
COMPARISONS = (
    ("2 workers / 1", "primary-2w", "primary-1w"),
    ("replica / primary", "replica-1w", "primary-1w"),
    ("PgBouncer / direct", "pgbouncer-1w", "primary-1w"),
)
ENDPOINTS = {
    "list": 'wrk.format("GET", "/api/posts/?page=" .. math.random(1, pages))',
    "detail": 'wrk.format("GET", "/api/posts/" .. slugs[math.random(1, #slugs)] .. "/")',
}
_READY_SECONDS = 60.0


def _databases(shape: str, cluster: Cluster, bouncer_port: int) -> dict[str, Any]:
    if shape.startswith("primary"):
        return {"DATABASE_URL": cluster.primary_url, "DATABASE_POOL": POOL}
    if shape.startswith("replica"):
        return {
            "DATABASES": {
                "default": {"url": cluster.primary_url, "pool": POOL},
                "replica": {"url": cluster.replica_url, "pool": POOL},
            },
            "READ_REPLICAS": ["replica"],
        }
    url = f"postgresql://postgres@127.0.0.1:{bouncer_port}/postgres"
    return {"DATABASES": {"default": {"url": url, "pool": POOL, "pgbouncer": True}}}


async def _seed(cluster: Cluster, posts: int) -> list[str]:
    """The blog from its migrations on the primary; once the replica has it, the slugs."""
    from examples.blog.serve import prepare

    await prepare(cluster.primary_url, posts=posts)
    primary = await asyncpg.connect(cluster.primary_url)
    replica = await asyncpg.connect(cluster.replica_url)
    try:
        slugs = [row[0] for row in await primary.fetch("SELECT slug FROM posts ORDER BY id")]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if await replica.fetchval("SELECT count(*) FROM posts") == len(slugs):
                    return slugs
            except asyncpg.UndefinedTableError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError("the replica did not catch up with the seeded primary in 60 s")
    finally:
        await primary.close()
        await replica.close()


def _start(shape: str, settings: dict[str, Any], workdir: Path) -> Server:
    """``aksara serve examples.blog.app:app`` with *settings* in a folder of its own."""
    folder = workdir / shape
    folder.mkdir()
    (folder / "settings.py").write_text(f"AKSARA = {settings!r}\n")
    port = _free_port()
    workers = "2" if shape.endswith("2w") else "1"
    log = folder / "server.log"
    environment = {
        **{k: v for k, v in os.environ.items() if k != "AKSARA_SETTINGS_MODULE"},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "BLOG_ANON_RATE": "off",
    }
    command = [sys.executable, "-m", "aksara.cli", "serve", "examples.blog.app:app"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", workers, "--log-level", "warning"],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(shape, port, process, log)
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The {shape} server exited: {log.read_text()[-2000:]}")
        if _status(f"{server.base}/readyz") == 200:
            return server
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"The {shape} server was not ready in {_READY_SECONDS:.0f} s.")


def _status(url: str) -> int | None:
    try:
        return _get(url, timeout=2)[0]
    except OSError:
        return None


async def _replica_reads(cluster: Cluster) -> int:
    """Rows the replica has returned so far (its statistics; they lag about a second)."""
    connection = await asyncpg.connect(cluster.replica_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT tup_returned FROM pg_stat_database WHERE datname = 'postgres'"
            )
        )
    finally:
        await connection.close()


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Start the cluster, PgBouncer and the servers; load in alternating rounds."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with (
        streaming_cluster() as cluster,
        pgbouncer(cluster, pool_size=8) as bouncer_port,
        tempfile.TemporaryDirectory(prefix="aksara-bench-deploy-") as scratch,
    ):
        workdir = Path(scratch)
        slugs = asyncio.run(_seed(cluster, arguments.posts))
        # The blog's page size is 20: pages 1..10 exist from 200 posts on.
        pages = max(1, min(10, len(slugs) // 20))
        table = ", ".join(json.dumps(slug) for slug in slugs[:500])
        scripts: dict[str, Path] = {}
        for endpoint, request in ENDPOINTS.items():
            scripts[endpoint] = workdir / f"{endpoint}.lua"
            scripts[endpoint].write_text(
                f"local slugs = {{{table}}}\nlocal pages = {pages}\n"
                f"function request()\n  return {request}\nend\n" + LUA_DONE
            )
        servers: list[Server] = []
        try:
            for shape in SHAPES:
                settings = {
                    **_databases(shape, cluster, bouncer_port),
                    "SECRET_KEY": os.urandom(32).hex(),
                }
                servers.append(_start(shape, settings, workdir))
            before = asyncio.run(_replica_reads(cluster))
            for server in servers:
                for script in scripts.values():
                    load(server, script, arguments, arguments.warmup)
                if server.app.startswith("replica"):
                    time.sleep(1.5)  # the statistics collector's delay
                    if asyncio.run(_replica_reads(cluster)) <= before:
                        raise RuntimeError("the replica shape's reads did not reach the replica")
            pairs = [(server, endpoint) for server in servers for endpoint in scripts]
            for number in range(arguments.rounds):
                shift = number % len(pairs)
                for server, endpoint in pairs[shift:] + pairs[:shift]:
                    sample = load(server, scripts[endpoint], arguments, arguments.duration)
                    samples.setdefault((server.app, endpoint), []).append(sample)
                    print(
                        f"round {number + 1} {server.app:>13} {endpoint:>6}: "
                        f"{sample['rps']:7.0f} req/s",
                        file=sys.stderr,
                    )
        finally:
            for server in servers:
                stop(server)
    return summarise(samples)


def summarise(samples: dict[tuple[str, str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians by shape and endpoint, and each comparison's median per-round ratio."""
    results: dict[str, Any] = {"shapes": {}, "ratios": {}}
    for (shape, endpoint), found in samples.items():
        results["shapes"].setdefault(shape, {})[endpoint] = {
            "rps": statistics.median(s["rps"] for s in found),
            "p50_ms": statistics.median(s["p50_us"] for s in found) / 1000,
            "p99_ms": statistics.median(s["p99_us"] for s in found) / 1000,
            "load": [round(s["load"], 2) for s in found],
        }
    for label, measured, base in COMPARISONS:
        for endpoint in ENDPOINTS:
            ratios = [
                a["rps"] / b["rps"]
                for a, b in zip(
                    samples[(measured, endpoint)], samples[(base, endpoint)], strict=True
                )
            ]
            results["ratios"][f"{label} ({endpoint})"] = statistics.median(ratios)
    return results


def format_report(results: dict[str, Any], arguments: argparse.Namespace) -> str:
    lines = [
        f"{arguments.rounds} rounds x {arguments.duration:g} s, wrk -t{arguments.threads} "
        f"-c{arguments.connections}; list: GET /api/posts/?page=1..10 (20 posts a page), detail: by slug",
        f"{'shape':<13} {'endpoint':<7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    loads: list[float] = []
    for shape, endpoints in results["shapes"].items():
        for endpoint, figures in endpoints.items():
            loads.extend(figures["load"])
            lines.append(
                f"{shape:<13} {endpoint:<7} {figures['rps']:>7.0f} {figures['p50_ms']:>7.2f} "
                f"{figures['p99_ms']:>7.2f}"
            )
    for label, ratio in results["ratios"].items():
        lines.append(f"{label:<28} {ratio:5.2f}x")
    lines.append(f"load average (1 min) during the rounds: {min(loads):.2f}-{max(loads):.2f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per load")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per load first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--posts", type=int, default=1000, help="posts seeded")
    parser.add_argument("--json", type=Path, help="write the results there")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    results = run(arguments)
    print(format_report(results, arguments))
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
