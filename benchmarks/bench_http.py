"""The request path: the detail endpoint served over HTTP, loaded by ``wrk``.

    python -m benchmarks.bench_http [--rounds 5] [--duration 10] [--apps floor,handler,viewset]

Needs ``wrk`` on the PATH (``apt-get install wrk``) and PostgreSQL at
``$AKSARA_BENCH_POSTGRES_URL`` (default ``postgresql://127.0.0.1:5432/test``), whose blog
tables are dropped, made again and seeded (``benchmarks.data``: 1,000 users, 10,000 posts).

Each app of ``benchmarks.http_apps`` runs in its own uvicorn process on 127.0.0.1 (one
worker, uvloop, httptools, no access log). After a warm-up, ``wrk`` loads one app at a time
in alternating rounds, each request a random post id over the seeded range (a Lua script).
The report gives each app's median requests/s, its ratio to the floor (the median of the
per-round ratios) and the server's CPU µs per request. It stops by itself and always stops
its servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import examples.blog.models  # noqa: F401 - registers the blog's tables
from benchmarks import bench_orm
from benchmarks.http.schema import seed_blog

__all__ = ["APPS", "LUA", "LUA_DONE", "Server", "load", "main", "run", "seed", "start", "stop"]

DEFAULT_URL = os.environ.get("AKSARA_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
APPS = ("floor", "handler", "viewset")
#: The viewset path's floor against the hand-written Starlette + asyncpg + orjson app.
TARGET = 0.70
_READY_SECONDS = 30.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Each thread seeds its own generator (its number and the time) and reports nothing itself;
# done() prints one JSON line with the totals. A script is a request() function + LUA_DONE.
LUA_DONE = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end
function init(args)
  math.randomseed(os.time() * 1000 + number)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "microseconds": %d, "status_errors": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
LUA = """
function request()
  return wrk.format("GET", "/api/posts/" .. math.random(1, %(posts)d) .. "/")
end
""" + LUA_DONE.replace("%", "%%")


@dataclass
class Server:
    """One app served by its own uvicorn process."""

    app: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    samples: list[dict[str, float]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def start(
    app: str,
    database_url: str,
    workdir: Path,
    *,
    factory: str | None = None,
    ready: str = "/api/posts/1/",
    environment: dict[str, str] | None = None,
) -> Server:
    """Start *app*'s server (uvicorn running *factory*, by default ``benchmarks.http_apps``'
    *app*) and wait until *ready* answers 200 (bounded); raise if it never does."""
    port = _free_port()
    log = workdir / f"{app}.log"
    command = [
        *(sys.executable, "-m", "uvicorn", "--factory", factory or f"benchmarks.http_apps:{app}"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
    ]
    if environment is None:
        environment = {"AKSARA_BENCH_HTTP_URL": database_url}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **environment}
        )
    server = Server(app, port, process, log)
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The {app} server exited: {log.read_text()[-2000:]}")
        try:
            if _get(f"{server.base}{ready}", timeout=1.0)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"The {app} server did not answer in {_READY_SECONDS:.0f} s.")


def stop(server: Server) -> None:
    """Terminate the server; kill it when it does not stop in 5 s."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)


def check_same_json(servers: list[Server], ids: list[int]) -> None:
    """Every app answers each id (and a missing one) as the first app does."""
    for post_id in [*ids, 10**9]:
        answers = {s.app: _get(f"{s.base}/api/posts/{post_id}/") for s in servers}
        status, body = answers[servers[0].app]
        for app, (other_status, other_body) in answers.items():
            if other_status != status or json.loads(other_body) != json.loads(body):
                raise RuntimeError(
                    f"{app} answers /api/posts/{post_id}/ differently from {servers[0].app}:\n"
                    f"{other_status} {other_body[:500]!r}\n{status} {body[:500]!r}"
                )


def load(
    server: Server,
    script: Path,
    arguments: argparse.Namespace,
    seconds: float,
    *,
    strict: bool = True,
) -> dict[str, Any]:
    """Run wrk against *server* for *seconds*; its totals and the server's CPU per request.
    Errors or non-2xx answers under load raise when *strict*, else they are counted."""
    command = [
        *("wrk", f"-t{arguments.threads}", f"-c{arguments.connections}", f"-d{seconds:g}s"),
        *("-s", str(script), server.base),
    ]
    cpu = server.cpu_seconds()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    cpu = server.cpu_seconds() - cpu
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}"
        )
    totals: dict[str, Any] = json.loads(lines[-1])
    if strict and (totals["status_errors"] or totals["socket_errors"]):
        raise RuntimeError(f"{server.app}: errors under load: {totals}")
    totals["rps"] = totals["requests"] / (totals["microseconds"] / 1e6)
    totals["cpu_us"] = cpu / max(totals["requests"], 1) * 1e6
    totals["load"] = os.getloadavg()[0]
    return totals


async def seed(database_url: str) -> int:
    """Make and seed the blog tables at *database_url*; return the number of posts."""
    await bench_orm._ensure_pg_database(database_url)
    return len(await seed_blog(database_url, comments=0))


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Seed, serve, warm up, load in alternating rounds; the results by app."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    posts = asyncio.run(seed(arguments.pg_url))
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="aksara-bench-http-") as scratch:
        workdir = Path(scratch)
        script = workdir / "random_posts.lua"
        script.write_text(LUA % {"posts": posts})
        try:
            for app in arguments.apps:
                servers.append(start(app, arguments.pg_url, workdir))
            check_same_json(servers, [1, posts // 2, posts])
            for server in servers:
                load(server, script, arguments, arguments.warmup)
            for number in range(arguments.rounds):
                shift = number % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    server.samples.append(load(server, script, arguments, arguments.duration))
                    print(
                        f"round {number + 1} {server.app:>8}: {server.samples[-1]['rps']:8.0f} req/s",
                        file=sys.stderr,
                    )
        finally:
            for server in servers:
                stop(server)
    return summarise(servers)


def summarise(servers: list[Server]) -> dict[str, Any]:
    floor = servers[0].samples
    results: dict[str, Any] = {}
    for server in servers:
        ratios = [s["rps"] / f["rps"] for s, f in zip(server.samples, floor, strict=True)]
        results[server.app] = {
            "rps": statistics.median(s["rps"] for s in server.samples),
            "ratio": statistics.median(ratios),
            "cpu_us": statistics.median(s["cpu_us"] for s in server.samples),
            "p50_ms": statistics.median(s["p50_us"] for s in server.samples) / 1000,
            "p99_ms": statistics.median(s["p99_us"] for s in server.samples) / 1000,
            "load": [round(s["load"], 2) for s in server.samples],
            "samples": server.samples,
        }
    return results


def format_report(results: dict[str, Any], arguments: argparse.Namespace) -> str:
    lines = [
        f"GET /api/posts/{{id}}/ - {arguments.rounds} rounds x {arguments.duration:g} s, "
        f"wrk -t{arguments.threads} -c{arguments.connections}",
        f"{'app':<9} {'req/s':>8} {'/ floor':>8} {'server CPU µs/req':>18} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    for app, result in results.items():
        mark = ""
        if app == "viewset":
            mark = (
                " (target met)" if result["ratio"] >= TARGET else f" (target {TARGET:.2f}x missed)"
            )
        lines.append(
            f"{app:<9} {result['rps']:>8.0f} {result['ratio']:>7.2f}x {result['cpu_us']:>18.0f} "
            f"{result['p50_ms']:>7.2f} {result['p99_ms']:>7.2f}{mark}"
        )
    loads = [load for result in results.values() for load in result["load"]]
    lines.append(f"load average (1 min) during the rounds: {min(loads):.2f}-{max(loads):.2f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default=",".join(APPS), help="floor first; default %(default)s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per app a round")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per app first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-url", default=DEFAULT_URL, help="default: %(default)s")
    parser.add_argument("--json", type=Path, help="write every sample there")
    arguments = parser.parse_args(argv)
    arguments.apps = arguments.apps.split(",")
    unknown = [app for app in arguments.apps if app not in APPS]
    if unknown or arguments.apps[0] != "floor":
        parser.error(f"--apps: floor first, then any of {', '.join(APPS[1:])}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    results = run(arguments)
    print(format_report(results, arguments))
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
