"""The get path: ``Post.objects.get(pk=n)`` against a bare driver connection.

    python -m benchmarks.bench_get [--db sqlite|postgresql|both] [--repeat N] [--json out.json]

The floor is one bare driver connection (asyncpg ``conn.fetchrow``; aiosqlite
``execute_fetchall``), set up as Aksara sets up its own (the same codecs / pragmas). Against
it, in the same process and interleaved slice by slice (100 gets a slice, the order rotating):

- ``pool``: the same statement through an asyncpg pool with Aksara's options (PostgreSQL only;
  aiosqlite has no pool), the floor a hand-written pooled data layer gets;
- ``orm``: ``await Post.objects.get(pk=n)``, each get taking a connection from Aksara's pool;
- ``orm pinned``: the same gets inside ``async with database.connection():``, the connection
  pinned to the task as inside ``atomic()``.

Every slice records wall time, this process's CPU time and the main thread's CPU time. The
report gives the median per get of each side and its ratio to the bare connection, in each:
on a shared machine the CPU times are the steady numbers (the server's work is not in them),
and the main thread's is the ORM's own work (aiosqlite's worker threads are not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson

import aksara
from benchmarks import bench_orm, data
from examples.blog.models import Post

__all__ = ["main", "run"]

GETS = bench_orm.GETS
SLICE = 100
#: The get path's ceilings against the bare connection (PostgreSQL and SQLite).
TARGETS = {"orm": 1.3, "orm pinned": 1.15}

log = logging.getLogger("benchmarks")

#: A side runs the gets of one slice.
Side = Callable[[list[int]], Awaitable[Any]]


async def _orm_gets(pks: list[int]) -> Any:
    get = Post.objects.get
    obj = None
    for pk in pks:
        obj = await get(pk=pk)
    return obj


async def _orm_pinned_gets(pks: list[int]) -> Any:
    async with aksara.get_database().connection():
        return await _orm_gets(pks)


def _fetchrow_gets(fetchrow: Callable[..., Awaitable[Any]], sql: str) -> Side:
    async def gets(pks: list[int]) -> Any:
        row = None
        for pk in pks:
            row = await fetchrow(sql, pk)
            if row is None:
                raise LookupError(pk)
        return row

    return gets


def _fetchall_gets(fetchall: Callable[..., Awaitable[Any]], sql: str) -> Side:
    async def gets(pks: list[int]) -> Any:
        row = None
        for pk in pks:
            rows = await fetchall(sql, (pk,))
            if not rows:
                raise LookupError(pk)
            row = rows[0]
        return row

    return gets


async def _sides(db: str, url: str, path: str) -> tuple[dict[str, Side], list[Any]]:
    """The sides, bare first, and what to close afterwards."""
    columns = ", ".join(data.POST_COLUMNS)
    if db == "postgresql":
        bare = await asyncpg.connect(url, server_settings={"application_name": "aksara-bench-bare"})
        await bench_orm._pg_init(bare)
        pool = await bench_orm._raw_pg_pool(url)
        sql = f"SELECT {columns} FROM posts WHERE id = $1"
        sides = {
            "bare": _fetchrow_gets(bare.fetchrow, sql),
            "pool": _fetchrow_gets(pool.fetchrow, sql),
        }
        return sides, [bare, pool]
    connection = await bench_orm._raw_sqlite(path)
    sql = f"SELECT {columns} FROM posts WHERE id = ?"
    return {"bare": _fetchall_gets(connection.execute_fetchall, sql)}, [connection]


async def _time_sides(
    sides: dict[str, Side], pks: list[int], repeat: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Per side, the wall, CPU and main-thread CPU microseconds per get of every repetition."""
    slices = [pks[start : start + SLICE] for start in range(0, len(pks), SLICE)]
    names = list(sides)
    for _ in range(warmup):
        last = {name: await sides[name](pks) for name in names}
        ids = {name: (r.id if hasattr(r, "id") else r[0]) for name, r in last.items()}
        if len(set(ids.values())) != 1:
            raise AssertionError(f"the sides fetched different rows: {ids}")
    kinds = ("wall", "cpu", "thread")
    samples: dict[str, dict[str, list[float]]] = {n: {k: [] for k in kinds} for n in names}
    for rep in range(repeat):
        totals = {name: dict.fromkeys(kinds, 0.0) for name in names}
        for index, part in enumerate(slices):
            shift = (rep + index) % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                started = time.perf_counter(), time.process_time(), time.thread_time()
                await sides[name](part)
                total = totals[name]
                total["wall"] += time.perf_counter() - started[0]
                total["cpu"] += time.process_time() - started[1]
                total["thread"] += time.thread_time() - started[2]
        for name in names:
            for kind in kinds:
                samples[name][kind].append(totals[name][kind] * 1e6 / len(pks))
    return samples


def _summarise(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    bare_wall = statistics.median(samples["bare"]["wall"])
    bare_cpu = statistics.median(samples["bare"]["cpu"])
    bare_thread = statistics.median(samples["bare"]["thread"])
    sides = {}
    for name, side in samples.items():
        wall = statistics.median(side["wall"])
        cpu = statistics.median(side["cpu"])
        thread = statistics.median(side["thread"])
        target = TARGETS.get(name)
        sides[name] = {
            "wall_us": round(wall, 1),
            "cpu_us": round(cpu, 1),
            "thread_us": round(thread, 1),
            "ratio": round(wall / bare_wall, 3),
            "cpu_ratio": round(cpu / bare_cpu, 3),
            "thread_ratio": round(thread / bare_thread, 3),
            "target": target,
            "met": None if target is None else wall / bare_wall <= target,
            "samples": side,
        }
    return sides


async def bench_database(db: str, args: argparse.Namespace, sqlite_path: str) -> dict[str, Any]:
    ctx, close, info = await bench_orm.open_database(
        db, pg_url=args.pg_url, sqlite_path=sqlite_path, raw_pool="separate"
    )
    sides, extra = await _sides(db, args.pg_url, sqlite_path)
    sides["orm"] = _orm_gets
    sides["orm pinned"] = _orm_pinned_gets
    try:
        await ctx.settle()
        samples = await _time_sides(sides, ctx.pks, args.repeat, args.warmup)
    finally:
        for resource in extra:
            await resource.close()
        if db == "postgresql":
            await ctx.raw.close()  # open_database's own raw pool, unused here
        await close()
    result = {"database": db, "server": info["server"], "driver": info["driver"]}
    result["sides"] = _summarise(samples)
    return result


def format_report(report: dict[str, Any]) -> str:
    lines = []
    for result in report["databases"]:
        lines.append(f"{result['server']}, {result['driver']}: {GETS:,} gets by pk, median per get")
        header = (
            f"{'side':<12} {'wall us':>8} {'/ bare':>7} {'cpu us':>8} {'/ bare':>7} "
            f"{'main us':>8} {'/ bare':>7} {'target':>8}  met"
        )
        lines += [header, "-" * len(header)]
        for name, side in result["sides"].items():
            target = f"<= {side['target']:.2f}x" if side["target"] else ""
            met = {None: "", True: "yes", False: "NO"}[side["met"]]
            lines.append(
                f"{name:<12} {side['wall_us']:8.1f} {side['ratio']:6.2f}x {side['cpu_us']:8.1f} "
                f"{side['cpu_ratio']:6.2f}x {side['thread_us']:8.1f} {side['thread_ratio']:6.2f}x "
                f"{target:>8}  {met}"
            )
        lines.append("")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    temp_dir = tempfile.mkdtemp(prefix="aksara-bench-get-")
    report: dict[str, Any] = {"gets": GETS, "slice": SLICE, "databases": []}
    try:
        for db in databases:
            path = os.path.join(temp_dir, "bench.sqlite3")
            report["databases"].append(await bench_database(db, args, path))
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_get",
        description="The ORM's get by pk against a bare driver connection.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per side")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per side first")
    parser.add_argument("--pg-url", default=bench_orm.DEFAULT_PG_URL)
    parser.add_argument("--json", metavar="PATH", help="also write every sample")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("aksara.db.slow").setLevel(logging.ERROR)
    report = asyncio.run(run(args))
    print(format_report(report))
    if args.json:
        with open(args.json, "wb") as handle:
            handle.write(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    from benchmarks.bench_get import main as _main

    raise SystemExit(_main())
