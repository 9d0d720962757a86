"""Query-event overhead workloads of the benchmark: what the one execute path costs.

These run inside ``benchmarks.bench_orm`` (same seeding, same interleaved runner); this
module builds them and reports them:

    python -m benchmarks.bench_orm --only event_path,event_path_noio,capture_queries
    python -m benchmarks.bench_events [bench_orm options]   # the same, these only

- ``event_path``: the ORM's get-by-pk statement 2,000 times through ``database.fetch`` (the
  execute path: timing, stats counters, listener check, slow-query check) and 2,000 times
  through ``database.backend.fetch`` (the backend's pooled fetch, no event path). The two
  alternate query by query and every call is timed on its own, wall and CPU, in slices
  interleaved with slices of ``Post.objects.get(pk=n)`` for scale. The difference is the
  event path's cost with no subscriber; the issue's target is under 2% of an ORM get.
- ``event_path_noio``: the same two calls with the backend replaced by one that returns a row
  at once (no I/O, on a copy of the Database), 20,000 each: the path's pure Python cost,
  without the round trip's noise.
- ``capture_queries``: ORM get-by-pk 2,000 times with ``aksara.debug.capture_queries()``
  active (one block per slice of 100 gets) and without; target: under 10% overhead.
"""

from __future__ import annotations

import copy
import functools
import statistics
from collections.abc import Sequence
from time import perf_counter, process_time
from typing import Any

import aksara
from aksara.db.events import current_listeners
from aksara.db.stats import QueryStats
from aksara.debug import capture_queries
from benchmarks import bench_orm
from benchmarks.bench_orm import Context, Side, Workload, _chunked, _expect
from examples.blog.models import Post

__all__ = ["TARGETS", "WORKLOADS", "build_event_workloads", "format_events"]

NOIO_CALLS = 20_000

# (name, label, operations per timed run, default repetitions, warm-up runs per side,
#  chunks), as bench_orm.WORKLOADS.
WORKLOADS: list[tuple[str, str, int, int, int, int]] = [
    ("event_path", "event path, get SQL x2,000", bench_orm.GETS, 15, 2, 20),
    ("event_path_noio", "event path, no I/O x20,000", NOIO_CALLS, 15, 2, 4),
    ("capture_queries", "capture_queries, get x2,000", bench_orm.GETS, 15, 2, 20),
]

#: Ceilings on the share of the ORM get-by-pk time (the query-event issue's targets).
TARGETS: dict[str, float] = {"event_path": 0.02, "capture_queries": 0.10}

#: Side names.
ORM_GET = "Post.objects.get"
PATH = "database.fetch"
BACKEND = "backend.fetch"
PAIRS = "database.fetch / backend.fetch pairs"
PLAIN = "get, no capture"
CAPTURE = "get, capture_queries"


class _InstantBackend:
    """A backend whose fetch returns the same rows at once: no pool, no I/O."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    async def fetch(self, sql: str, params: Sequence[Any], dirty: bool = False) -> list[Any]:
        return self.rows

    def may_change_session(self, sql: str) -> bool:
        return False

    def is_connection_lost(self, error: BaseException) -> bool:
        return False


def _chunks(name: str) -> int:
    return next(w[5] for w in WORKLOADS if w[0] == name)


def build_event_workloads(ctx: Context, repeat: int | None, warmup: int | None) -> list[Workload]:
    pks = ctx.pks
    get_chunks = _chunked(pks, _chunks("event_path"))  # the same slices for the capture one
    # The ORM's own get-by-pk statement and parameters (captured once, in the first warm-up).
    statement: dict[str, Any] = {}

    async def get_statement() -> tuple[str, list[Any]]:
        if not statement:
            async with capture_queries() as queries:
                await Post.objects.get(pk=pks[0])
            statement["sql"], statement["params"] = queries[0].sql, list(queries[0].params)
            _expect(statement["params"][0] == pks[0], f"get params {statement['params']}")
        return statement["sql"], statement["params"]

    # (1) the event path around a real round trip -----------------------------------
    # The two calls alternate query by query (the order flips every pair) and each call is
    # timed on its own, wall and CPU: a 1-3 us difference on a 100-200 us round trip is
    # lost in the drift between slices of 100 (+-2 us over 15 runs), not between
    # neighbouring queries. The ORM get-by-pk slices, interleaved with these, give the
    # scale. pairs[rep] = [path wall, backend wall, path CPU, backend CPU] per call.
    pairs: dict[int, list[list[float]]] = {}

    async def orm_get(rep: int, chunk: int) -> Any:
        get = Post.objects.get
        obj = None
        for pk in get_chunks[chunk]:
            obj = await get(pk=pk)
        return obj

    async def path_pairs(rep: int, chunk: int) -> Any:
        sql, (_, *rest) = await get_statement()
        database = aksara.get_database()
        path, backend = database.fetch, database.backend.fetch
        walls, cpus = perf_counter, process_time
        path_wall, backend_wall, path_cpu, backend_cpu = pairs.setdefault(rep, [[], [], [], []])
        rows = other = None
        # The first pair of a slice, right after gc.collect(), runs cold (often 100+ us
        # slower): it is run but not recorded, and which call leads alternates by slice, so
        # neither side is favoured (an A/A run of backend against backend reads 0.2 us).
        flip = (rep + chunk) % 2
        for index, pk in enumerate(get_chunks[chunk]):
            params = [pk, *rest]
            if index == 0:
                rows = await path(sql, params)
                other = await backend(sql, params)
            elif (index + flip) % 2:
                t0, c0 = walls(), cpus()
                rows = await path(sql, params)
                c1, t1 = cpus(), walls()
                other = await backend(sql, params)
                c2, t2 = cpus(), walls()
                path_wall.append(t1 - t0)
                backend_wall.append(t2 - t1)
                path_cpu.append(c1 - c0)
                backend_cpu.append(c2 - c1)
            else:
                t0, c0 = walls(), cpus()
                other = await backend(sql, params)
                c1, t1 = cpus(), walls()
                rows = await path(sql, params)
                c2, t2 = cpus(), walls()
                backend_wall.append(t1 - t0)
                path_wall.append(t2 - t1)
                backend_cpu.append(c1 - c0)
                path_cpu.append(c2 - c1)
        return rows, other

    def check_path(results: dict[str, Any]) -> None:
        _expect(not current_listeners(), "no query listener is active")
        last = pks[-1]
        rows, other = results[PAIRS]
        _expect(results[ORM_GET].id == last == rows[0][0] == other[0][0], "the same last post")
        _expect(list(rows[0]) == list(other[0]), "the same values both ways")
        pairs.clear()  # warm-up pairs are not reported

    # (2) the same path with the I/O taken out -------------------------------------
    noio: dict[str, Any] = {}

    async def instant() -> tuple[Any, _InstantBackend, str, list[Any]]:
        if not noio:
            sql, params = await get_statement()
            database = aksara.get_database()
            rows = await database.backend.fetch(sql, params)
            # A copy of the open Database, its backend swapped for the instant one: the
            # real one stays untouched.
            twin = copy.copy(database)
            twin.backend = _InstantBackend(rows)  # type: ignore[assignment]
            twin.stats = QueryStats()
            noio.update(database=twin, backend=twin.backend, sql=sql, params=params)
        return noio["database"], noio["backend"], noio["sql"], noio["params"]

    per_slice = NOIO_CALLS // _chunks("event_path_noio")

    async def path_noio(rep: int, chunk: int) -> Any:
        database, _, sql, params = await instant()
        fetch = database.fetch
        rows = None
        for _ in range(per_slice):
            rows = await fetch(sql, params)
        return rows

    async def backend_noio(rep: int, chunk: int) -> Any:
        _, backend, sql, params = await instant()
        fetch = backend.fetch
        rows = None
        for _ in range(per_slice):
            rows = await fetch(sql, params)
        return rows

    def check_noio(results: dict[str, Any]) -> None:
        _expect(results[PATH] is results[BACKEND], "the instant backend's rows")
        _expect(noio["database"].stats.queries > 0, "the copy counted its queries")

    # (3) capture_queries active or not ---------------------------------------------
    async def captured_get(rep: int, chunk: int) -> Any:
        get = Post.objects.get
        obj = None
        async with capture_queries() as queries:
            for pk in get_chunks[chunk]:
                obj = await get(pk=pk)
        return obj, len(queries)

    def check_capture(results: dict[str, Any]) -> None:
        obj, captured = results[CAPTURE]
        _expect(captured == len(get_chunks[-1]), f"{captured} queries captured")
        _expect(obj.id == results[PLAIN].id == pks[-1], "same post")

    sides: dict[str, tuple[dict[str, Side], Any]] = {
        "event_path": ({ORM_GET: orm_get, PAIRS: path_pairs}, check_path),
        "event_path_noio": ({PATH: path_noio, BACKEND: backend_noio}, check_noio),
        "capture_queries": ({PLAIN: orm_get, CAPTURE: captured_get}, check_capture),
    }
    workloads = []
    for name, label, ops, default_repeat, default_warmup, chunks in WORKLOADS:
        workload_sides, check = sides[name]
        workloads.append(
            Workload(
                name=name,
                label=label,
                ops=ops,
                repeat=repeat or default_repeat,
                warmup=default_warmup if warmup is None else warmup,
                chunks=chunks,
                sides=workload_sides,
                check=check,
                summarise=functools.partial(summarise, pairs=pairs),
            )
        )
    return workloads


# Summaries ---------------------------------------------------------------------------


def _side(values: list[float], cpu: list[float], ops: int) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(values),
        "us_per_op": statistics.median(values) * 1000.0 / ops,
        "cpu_us_per_op": statistics.median(cpu) * 1000.0 / ops,
        "samples_ms": values,
        "cpu_samples_ms": cpu,
    }


def _difference(
    samples: dict[str, list[float]], cpu: dict[str, list[float]], more: str, less: str, ops: int
) -> dict[str, float]:
    """*more* minus *less* per operation: of the medians, and the median of the paired runs."""
    scale = 1000.0 / ops
    return {
        "us_per_op": (statistics.median(samples[more]) - statistics.median(samples[less])) * scale,
        "paired_us_per_op": statistics.median(
            (a - b) * scale for a, b in zip(samples[more], samples[less], strict=True)
        ),
        "cpu_us_per_op": (statistics.median(cpu[more]) - statistics.median(cpu[less])) * scale,
        "paired_cpu_us_per_op": statistics.median(
            (a - b) * scale for a, b in zip(cpu[more], cpu[less], strict=True)
        ),
    }


def _pair_rep(values: list[list[float]]) -> dict[str, float]:
    """One run's pairs, in us per query: means, and the shift of the median call."""
    path_wall, backend_wall, path_cpu, backend_cpu = values
    n = len(path_wall)
    return {
        "path_us": 1e6 * sum(path_wall) / n,
        "backend_us": 1e6 * sum(backend_wall) / n,
        "path_cpu_us": 1e6 * sum(path_cpu) / n,
        "backend_cpu_us": 1e6 * sum(backend_cpu) / n,
        "mean_diff_us": 1e6 * (sum(path_wall) - sum(backend_wall)) / n,
        "median_diff_us": 1e6 * (statistics.median(path_wall) - statistics.median(backend_wall)),
        "cpu_diff_us": 1e6 * (sum(path_cpu) - sum(backend_cpu)) / n,
    }


def summarise(
    db: str,
    workload: Workload,
    samples: dict[str, list[float]],
    cpu: dict[str, list[float]],
    pairs: dict[int, list[list[float]]] | None = None,
) -> dict[str, Any]:
    ops = workload.ops
    sides = {name: _side(samples[name], cpu[name], ops) for name in samples}
    summary: dict[str, Any] = {
        "kind": "events",
        "workload": workload.name,
        "label": workload.label,
        "ops": ops,
        "repeat": workload.repeat,
        "sides": sides,
    }
    if workload.name == "event_path_noio":
        summary["difference"] = _difference(samples, cpu, PATH, BACKEND, ops)
    if workload.name == "event_path":
        assert pairs is not None
        runs = [_pair_rep(pairs[rep]) for rep in sorted(pairs)]
        per_query: dict[str, Any] = {
            key: statistics.median(run[key] for run in runs) for key in runs[0]
        }
        per_query["median_diff_range_us"] = [
            min(run["median_diff_us"] for run in runs),
            max(run["median_diff_us"] for run in runs),
        ]
        per_query["cpu_diff_range_us"] = [
            min(run["cpu_diff_us"] for run in runs),
            max(run["cpu_diff_us"] for run in runs),
        ]
        summary["pairs"] = {"per_query": per_query, "runs": runs}
        orm_us = sides[ORM_GET]["us_per_op"]
        # The share of an ORM get the path adds: its wall cost per query (the shift of the
        # median call, robust to the odd slow round trip) and its CPU cost per query (all
        # of it is client work on the critical path). Met only when both are under.
        summary["share_wall"] = per_query["median_diff_us"] / orm_us
        summary["share_cpu"] = per_query["cpu_diff_us"] / orm_us
        summary["target"] = TARGETS["event_path"]
        summary["met"] = max(summary["share_wall"], summary["share_cpu"]) < summary["target"]
    if workload.name == "capture_queries":
        plain, captured = samples[PLAIN], samples[CAPTURE]
        summary["ratio"] = statistics.median(captured) / statistics.median(plain)
        summary["paired_ratio"] = statistics.median(
            c / p for c, p in zip(captured, plain, strict=True)
        )
        summary["difference"] = _difference(samples, cpu, CAPTURE, PLAIN, ops)
        # CPU added per get, as a share of the plain get's wall time.
        summary["share_cpu"] = (
            summary["difference"]["paired_cpu_us_per_op"] / sides[PLAIN]["us_per_op"]
        )
        summary["target"] = TARGETS["capture_queries"]
        summary["met"] = max(summary["ratio"] - 1, summary["share_cpu"]) < summary["target"]
    return summary


def log_line(db: str, summary: dict[str, Any]) -> str:
    name = summary["workload"]
    if name == "capture_queries":
        return f"{db} {name:<19} x{summary['ratio']:.3f}"
    if name == "event_path":
        per_query = summary["pairs"]["per_query"]
        return (
            f"{db} {name:<19} +{per_query['median_diff_us']:.2f} us/query wall, "
            f"+{per_query['cpu_diff_us']:.2f} us CPU ({100 * summary['share_wall']:.2f}% / "
            f"{100 * summary['share_cpu']:.2f}% of an ORM get)"
        )
    diff = summary["difference"]
    return f"{db} {name:<19} +{diff['paired_cpu_us_per_op']:.2f} us/call CPU"


def _verdict(summary: dict[str, Any]) -> str:
    return f"target < {100 * summary['target']:.0f}%: {'met' if summary['met'] else 'MISSED'}"


def format_events(result: dict[str, Any]) -> list[str]:
    """The query-event section of one database's report."""
    events = {w["workload"]: w for w in result["workloads"] if w.get("kind") == "events"}
    if not events:
        return []
    lines = ["", "Query events, us per query (medians over the runs)"]
    row = "  {:<40} {:>9} {:>9}"
    w = events.get("event_path")
    if w is not None:
        per_query = w["pairs"]["per_query"]
        orm = w["sides"][ORM_GET]
        low, high = per_query["median_diff_range_us"]
        lines.append(row.format(f"{w['label']}, {w['repeat']} runs", "wall", "CPU"))
        lines.append(row.format(ORM_GET, f"{orm['us_per_op']:.2f}", f"{orm['cpu_us_per_op']:.2f}"))
        lines.append(
            row.format(
                "database.fetch (timed call by call)",
                f"{per_query['path_us']:.2f}",
                f"{per_query['path_cpu_us']:.2f}",
            )
        )
        lines.append(
            row.format(
                "backend.fetch (timed call by call)",
                f"{per_query['backend_us']:.2f}",
                f"{per_query['backend_cpu_us']:.2f}",
            )
        )
        lines.append(
            row.format(
                "event path: database - backend",
                f"{per_query['median_diff_us']:.2f}",
                f"{per_query['cpu_diff_us']:.2f}",
            )
        )
        lines.append(
            f"    (wall: shift of the median call, runs {low:.2f}..{high:.2f}; "
            f"difference of the means {per_query['mean_diff_us']:.2f})"
        )
        lines.append(
            f"    share of an ORM get: {100 * w['share_wall']:.2f}% wall, "
            f"{100 * w['share_cpu']:.2f}% CPU; {_verdict(w)}"
        )
    w = events.get("event_path_noio")
    if w is not None:
        diff = w["difference"]
        lines.append(row.format(f"{w['label']}, {w['repeat']} runs", "wall", "CPU"))
        for side, values in w["sides"].items():
            lines.append(
                row.format(side, f"{values['us_per_op']:.2f}", f"{values['cpu_us_per_op']:.2f}")
            )
        lines.append(
            row.format(
                "event path, no I/O",
                f"{diff['paired_us_per_op']:.2f}",
                f"{diff['paired_cpu_us_per_op']:.2f}",
            )
        )
    w = events.get("capture_queries")
    if w is not None:
        diff = w["difference"]
        lines.append(row.format(f"{w['label']}, {w['repeat']} runs", "wall", "CPU"))
        for side, values in w["sides"].items():
            lines.append(
                row.format(side, f"{values['us_per_op']:.2f}", f"{values['cpu_us_per_op']:.2f}")
            )
        lines.append(
            row.format(
                "capture - plain (paired runs)",
                f"{diff['paired_us_per_op']:.2f}",
                f"{diff['paired_cpu_us_per_op']:.2f}",
            )
        )
        lines.append(
            f"    overhead {100 * (w['ratio'] - 1):.1f}% wall (paired runs "
            f"{100 * (w['paired_ratio'] - 1):.1f}%), {100 * w['share_cpu']:.1f}% CPU; "
            f"{_verdict(w)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """``bench_orm`` with these workloads only (an ``--only`` given is kept)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--only" or a.startswith("--only=") for a in args):
        args += ["--only", ",".join(w[0] for w in WORKLOADS)]
    return bench_orm.main(args)


if __name__ == "__main__":
    raise SystemExit(main())
