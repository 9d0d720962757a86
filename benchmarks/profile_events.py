"""Where the query-event path's time goes, in place: variants timed query by query.

    python -m benchmarks.profile_events [--db sqlite|postgresql|both] [--part path|capture]

The execute path costs about 1 us per query in a tight loop with no I/O, but 3-4 us between
real round trips (``bench_events``' ``event_path``), where its code and data are cold, and
a sampling profiler pins only part of that on its own frames. So this takes the path apart
by measuring variants the same way the benchmark does: every variant runs once per primary
key, in an order that rotates key by key, each call timed on its own (wall and CPU); the
report is each variant minus the baseline, in us per query (the shift of the median call,
and the CPU means), medians over ``--rounds`` rounds of 2,000 keys with their range.

``--part path``: ``backend.fetch`` (baseline) against a bare coroutine wrapper, the wrapper
with the two ``perf_counter`` calls, ``Database.fetch`` as it is, without its stats record,
without ``_report``, and a leaner prototype with the same behaviour (stats updated inline,
listener / log / slow-query work only when one applies, the reconnect retry in the
``except`` branch). ``--part capture``: ORM get-by-pk with no listener (baseline), a no-op
listener (building and dispatching the QueryEvent), ``capture_queries``' own listener, that
listener without ``find_caller``, ``find_caller`` alone, and a lazy listener that keeps
``(event, caller)`` and would build ``CapturedQuery`` on access. Aksara is not modified:
the variants are copies of the Database or listeners set on the context.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import shutil
import statistics
import tempfile
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aksara
from aksara.db import database as database_module
from aksara.db.events import QueryEvent, _listeners
from aksara.db.querylog import find_caller, log_query, report_slow
from aksara.db.stats import DURATION_BUCKETS_MS
from aksara.debug.capture import CapturedQuery, QueryCapture
from benchmarks import bench_orm
from examples.blog.models import Post

__all__ = ["main"]

Call = Callable[[int], Awaitable[Any]]


async def rotate(
    variants: dict[str, Call], keys: list[int], rounds: int
) -> dict[str, dict[str, Any]]:
    """Per variant minus the first one: {"wall": [...], "cpu": [...]} us per call, by round."""
    names = list(variants)
    base = names[0]
    result: dict[str, dict[str, Any]] = {name: {"wall": [], "cpu": []} for name in names}
    clock, cpu_clock = time.perf_counter, time.process_time
    for _ in range(rounds):
        walls: dict[str, list[float]] = {name: [] for name in names}
        cpus = dict.fromkeys(names, 0.0)
        gc.collect()
        for index, key in enumerate(keys):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                call = variants[name]
                t0, c0 = clock(), cpu_clock()
                await call(key)
                c1, t1 = cpu_clock(), clock()
                if index:  # the first key after gc.collect() runs cold for everyone
                    walls[name].append(t1 - t0)
                    cpus[name] += c1 - c0
        base_median = statistics.median(walls[base])
        for name in names:
            result[name]["wall"].append(1e6 * (statistics.median(walls[name]) - base_median))
            result[name]["cpu"].append(1e6 * (cpus[name] - cpus[base]) / (len(keys) - 1))
        result[base].setdefault("median_call_us", []).append(1e6 * base_median)
    return result


def report(title: str, result: dict[str, dict[str, Any]]) -> list[str]:
    names = list(result)
    base = names[0]
    lines = [
        title,
        f"  baseline ({base}): median call "
        f"{statistics.median(result[base]['median_call_us']):.1f} us",
        f"  {'variant':<44} {'wall us':>8} {'range':>13} {'CPU us':>8} {'range':>13}",
    ]
    for name in names[1:]:
        wall, cpu = result[name]["wall"], result[name]["cpu"]
        lines.append(
            f"  {name:<44} {statistics.median(wall):+8.2f} "
            f"{min(wall):+6.2f}..{max(wall):+5.2f} {statistics.median(cpu):+8.2f} "
            f"{min(cpu):+6.2f}..{max(cpu):+5.2f}"
        )
    return lines


# The execute path -------------------------------------------------------------------


class _NoStats:
    def record(self, duration_ms: float) -> None:
        return None


def lean_fetch(database: Any) -> Callable[[str, Sequence[Any]], Awaitable[Any]]:
    """A prototype of Database.fetch with the same behaviour and less work per query."""
    clock = time.perf_counter
    binding_var = database_module._binding
    listeners_var = _listeners
    buckets = DURATION_BUCKETS_MS
    backend = database.backend
    stats = database.stats
    slow = float("inf") if database.slow_query_ms is None else database.slow_query_ms
    attempts = database.pool_options["max_size"] + 1

    def watched(sql: str, params: Sequence[Any], duration: float, rows: int) -> None:
        listeners = listeners_var.get()
        if listeners:
            event = QueryEvent(sql, params, duration, rows, database.name)
            for listener in listeners:
                listener(event)
        if database.log_queries:
            log_query(sql, params, duration, rows)
        if duration >= slow:
            report_slow(sql, params, duration, database.name, database.slow_query_handler)

    async def fetch(sql: str, params: Sequence[Any] = ()) -> Any:
        if not database._opened:
            await database.open()
        binding = binding_var.get()
        start = clock()
        try:
            if binding is not None and binding.database is database:
                # Pinned statements are not what this prototype measures: the Database's own.
                return await database._statement(sql, params, False, False, True)
            else:
                try:
                    rows = await backend.fetch(sql, params, False)
                except Exception as error:
                    if not backend.is_connection_lost(error):
                        raise
                    for attempt in range(1, attempts):  # every pooled connection may be dead
                        try:
                            rows = await backend.fetch(sql, params, False)
                            break
                        except Exception as again:
                            if attempt == attempts - 1 or not backend.is_connection_lost(again):
                                raise
        except Exception as error:
            raise database._failed(sql, params, start, error) from error
        duration = (clock() - start) * 1000.0
        stats.queries += 1
        stats.total_time_ms += duration
        stats.histogram[0 if duration <= buckets[0] else bisect_left(buckets, duration)] += 1
        if database.log_queries or duration >= slow or listeners_var.get():
            watched(sql, params, duration, len(rows))
        return rows

    return fetch


async def path_variants(rounds: int, keys: list[int]) -> dict[str, dict[str, Any]]:
    sql, params = await _get_statement()
    database = aksara.get_database()
    backend = database.backend.fetch
    clock = time.perf_counter

    async def wrapped(key: int) -> Any:
        return await backend(sql, [key, *params[1:]])

    async def timed(key: int) -> Any:
        start = clock()
        rows = await backend(sql, [key, *params[1:]])
        _ = (clock() - start) * 1000.0
        return rows

    no_stats = copy.copy(database)
    no_stats.stats = _NoStats()  # type: ignore[assignment]
    no_report = copy.copy(database)
    no_report._report = lambda *args: None  # type: ignore[method-assign]
    lean_copy = copy.copy(database)
    lean_copy.stats = copy.deepcopy(database.stats)
    lean = lean_fetch(lean_copy)

    def through(fetch: Callable[[str, Sequence[Any]], Awaitable[Any]]) -> Call:
        async def call(key: int) -> Any:
            return await fetch(sql, [key, *params[1:]])

        return call

    return await rotate(
        {
            "backend.fetch": through(backend),
            "coroutine wrapper": wrapped,
            "wrapper + 2 perf_counter": timed,
            "Database.fetch": through(database.fetch),
            "Database.fetch, stats.record a no-op": through(no_stats.fetch),
            "Database.fetch, _report a no-op": through(no_report.fetch),
            "lean prototype (same behaviour)": through(lean),
        },
        keys,
        rounds,
    )


# capture_queries ----------------------------------------------------------------------


async def capture_variants(rounds: int, keys: list[int]) -> dict[str, dict[str, Any]]:
    capture = QueryCapture()
    kept: list[Any] = []

    def noop(event: QueryEvent) -> None:
        return None

    def without_caller(event: QueryEvent) -> None:
        if event.is_transaction_control:
            return
        kept.append(
            CapturedQuery(
                event.sql,
                event.params,
                event.duration,
                event.rows,
                event.database,
                None,
                None,
                None,
                event.error,
            )
        )

    def caller_only(event: QueryEvent) -> None:
        kept.append(find_caller())

    def lazy(event: QueryEvent) -> None:
        kept.append((event, find_caller()))

    get = Post.objects.get

    def with_listeners(*listeners: Callable[[QueryEvent], None]) -> Call:
        async def call(key: int) -> Any:
            token = _listeners.set(listeners)
            try:
                return await get(pk=key)
            finally:
                _listeners.reset(token)
                if len(kept) > 10_000:
                    kept.clear()
                    capture._queries.clear()

        return call

    return await rotate(
        {
            "get, no listener": with_listeners(),
            "no-op listener (QueryEvent + dispatch)": with_listeners(noop),
            "capture_queries' listener": with_listeners(capture.record),
            "  the same without find_caller": with_listeners(without_caller),
            "  find_caller alone": with_listeners(caller_only),
            "lazy listener: (event, find_caller())": with_listeners(lazy),
        },
        keys,
        rounds,
    )


async def _get_statement() -> tuple[str, list[Any]]:
    from aksara.debug import capture_queries

    async with capture_queries() as queries:
        await Post.objects.get(pk=1)
    return queries[0].sql, list(queries[0].params)


async def _run(args: argparse.Namespace) -> None:
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for db in databases:
        temp_dir = tempfile.mkdtemp(prefix="aksara-profile-events-")
        ctx, close, info = await bench_orm.open_database(
            db, pg_url=args.pg_url, sqlite_path=str(Path(temp_dir) / "bench.sqlite3")
        )
        try:
            keys = ctx.pks
            await rotate({"warm-up": lambda key: Post.objects.get(pk=key)}, keys[:200], 1)
            lines = [f"{info['server']}, {info['driver']}, {args.rounds} rounds of {len(keys)}"]
            if args.part in ("path", "both"):
                result = await path_variants(args.rounds, keys)
                lines += report("execute path, us per query against backend.fetch", result)
            if args.part in ("capture", "both"):
                result = await capture_variants(args.rounds, keys)
                lines += report("capture_queries, us per ORM get against no listener", result)
            print("\n".join(lines), flush=True)
        finally:
            await close()
            shutil.rmtree(temp_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_events")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--part", choices=("path", "capture", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pg-url", default=bench_orm.DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    bench_orm._quiet_aksara_logs()
    asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
