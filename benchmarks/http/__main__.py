"""The peer HTTP benchmark in one command.

    python -m benchmarks.http [--rounds 3] [--duration 3] [--stacks floor,aksara,...]
                              [--endpoints list,detail,...] [--out DIR] [--quick]

Seeds PostgreSQL at ``--pg-url`` (the database is created when missing; its blog, world
and fortune tables are dropped and made again), serves each stack with uvicorn (one
worker, uvloop, httptools, no access log) on 127.0.0.1, checks that every stack answers
each endpoint with the same data, then loads each endpoint with ``wrk``, stacks
alternating within each round. Writes ``results.json`` and ``ratios.png`` into ``--out``
and prints the table (requests/s, p50, p99, ratio to the floor, server CPU µs/request).
The defaults take about ten minutes for five stacks and nine endpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.http import harness
from benchmarks.http.endpoints import ENDPOINTS, by_name
from benchmarks.http.plot import plot

DEFAULT_URL = os.environ.get(
    "BENCH_HTTP_DATABASE_URL", "postgresql://127.0.0.1:5432/aksara_bench_http"
)
DEFAULT_OUT = Path(__file__).parent / "results"
#: Targets of Aksara's ratio to the floor, by endpoint.
TARGETS = {"detail": 0.70, "db": 0.70, "list": 0.90, "feed": 0.60}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", default=",".join(harness.STACKS), help="%(default)s")
    endpoints = ",".join(endpoint.name for endpoint in ENDPOINTS)
    parser.add_argument("--endpoints", default=endpoints, help="%(default)s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3, help="seconds per stack a round")
    parser.add_argument("--warmup", type=int, default=1, help="seconds per stack first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--pg-url", default=DEFAULT_URL, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 s")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.rounds, arguments.duration, arguments.warmup = 1, 1, 0
    arguments.stacks = arguments.stacks.split(",")
    unknown = [name for name in arguments.stacks if name not in harness.STACKS]
    if unknown:
        parser.error(f"--stacks: unknown {', '.join(unknown)}; choose from {harness.STACKS}")
    try:
        arguments.endpoints = by_name(arguments.endpoints.split(","))
    except ValueError as error:
        parser.error(f"--endpoints: {error}")
    return arguments


def format_report(results: dict[str, Any]) -> str:
    """The results as a Markdown table, then the conditions and the skipped stacks."""
    lines = [
        "| endpoint | stack | req/s | p50 ms | p99 ms | / floor | CPU µs/req | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in results["results"].items():
        for stack, figures in row.items():
            ratio = figures["ratio"]
            shown = "-" if ratio is None else f"{ratio:.2f}"
            if stack == "aksara" and ratio is not None and name in TARGETS:
                shown += " ✓" if ratio >= TARGETS[name] else f" (target {TARGETS[name]:.2f})"
            lines.append(
                f"| {results['labels'][name]} | {stack} | {figures['rps']:.0f} "
                f"| {figures['p50_ms']:.2f} | {figures['p99_ms']:.2f} | {shown} "
                f"| {figures['cpu_us']:.0f} | {figures['errors']} |"
            )
    conditions = results["conditions"]
    lines.append("")
    lines.append(
        f"{conditions['rounds']} rounds x {conditions['duration_s']:g} s per stack and "
        f"endpoint, wrk {conditions['wrk']}, pool {conditions['pool_size']}, "
        f"{conditions['cpus']} CPUs, load average {conditions['load_average']}"
    )
    for stack, reason in results["skipped"].items():
        lines.append(f"skipped {stack}: {reason}")
    for stack in results["server_logs"]:
        lines.append(f"{stack} failed requests under load: its server's log is in results.json")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    results = harness.run(arguments)
    print(format_report(results))
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, arguments.out / "ratios.png")
    print(f"wrote {arguments.out / 'results.json'} and {arguments.out / 'ratios.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
