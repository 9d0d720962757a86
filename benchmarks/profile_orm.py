"""Profile the ORM side of one benchmark workload, on the benchmark's data.

    python -m benchmarks.profile_orm --db postgresql --workload get_by_pk [--tool cprofile]

Seeds the database exactly as ``benchmarks.bench_orm`` does, warms the workload up, then
runs its ORM side ``--runs`` times under the profiler. The raw side is timed without the
profiler alongside, for the ratio.

Tools: ``pyinstrument`` (call tree), ``cprofile`` (exact call counts, own time per
function). Both hook every call and so inflate call-heavy code (the ORM roughly doubles).
For undistorted shares use py-spy, an external sampler: ``--tool none --seconds 20``
prints ``START <pid>`` once warm and then runs the side in a loop, for

    py-spy record -r 1000 -f raw -o stacks.txt --pid <pid> --duration 15
    python -m benchmarks.profile_orm --summarise stacks.txt
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_orm

__all__ = ["main"]


def _aksara_rows(stats: pstats.Stats, total: float, limit: int) -> list[str]:
    """Own time of aksara's functions, as a share of the profiled total."""
    rows = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        if "/aksara/" not in filename:
            continue
        short = filename[filename.index("/aksara/") + 1 :]
        rows.append((tottime, cumtime, calls, f"{name} ({short}:{line})"))
    rows.sort(reverse=True)
    lines = [f"{'own %':>6} {'cum %':>6} {'calls':>9}  function"]
    for tottime, cumtime, calls, label in rows[:limit]:
        lines.append(
            f"{100 * tottime / total:6.1f} {100 * cumtime / total:6.1f} {calls:9d}  {label}"
        )
    return lines


async def _profile(args: argparse.Namespace) -> None:
    temp_dir = tempfile.mkdtemp(prefix="aksara-profile-")
    sqlite_path = str(Path(temp_dir) / "bench.sqlite3")
    ctx, close, _info = await bench_orm.open_database(
        args.db, pg_url=args.pg_url, sqlite_path=sqlite_path, raw_pool=args.raw_pool
    )
    try:
        workloads = {w.name: w for w in bench_orm.build_workloads(ctx, args.runs, None)}
        workload = workloads[args.workload]
        sides = workload.sides

        async def whole(name: str, rep: int) -> Any:
            result = None
            for chunk in range(workload.chunks):
                result = await sides[name](rep, chunk)
            if workload.cleanup:
                await workload.cleanup()
            return result

        names = list(sides)
        for index in range(workload.warmup + 1):
            workload.check({name: await whole(name, -1 - index) for name in names})
        # --side: a side's name; "orm" is the first side and "raw" the second, so the
        # relation and query-event workloads (other side names) work too.
        aliases = {"orm": names[0], "raw": names[1]}
        target = aliases.get(args.side, args.side)
        if target not in sides:
            raise SystemExit(f"{args.workload} has the sides {', '.join(names)}")
        other = names[1] if target == names[0] else names[0]
        other_times, times = [], []
        if args.tool == "none":
            print(f"START {os.getpid()}", flush=True)
            deadline = time.perf_counter() + args.seconds
            rep = 0
            while time.perf_counter() < deadline:
                for chunk in range(workload.chunks):
                    await sides[target](rep, chunk)
                if workload.cleanup:
                    await workload.cleanup()
                rep += 1
            print(f"{rep} runs of the {target} side", flush=True)
            return
        profiler: Any
        if args.tool == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=args.interval, async_mode="disabled")
        else:
            profiler = cProfile.Profile()
        for rep in range(args.runs):
            start = time.perf_counter()
            await whole(other, rep)
            other_times.append(time.perf_counter() - start)
            profiler.enable() if args.tool == "cprofile" else profiler.start()
            start = time.perf_counter()
            for chunk in range(workload.chunks):
                await sides[target](rep, chunk)
            times.append(time.perf_counter() - start)
            profiler.disable() if args.tool == "cprofile" else profiler.stop()
            if workload.cleanup:
                await workload.cleanup()
        profiled = sum(times)
        other_ms = 1000 * statistics.median(other_times)
        profiled_ms = 1000 * statistics.median(times)
        print(
            f"{args.db} {args.workload}: {other} median {other_ms:.2f} ms, "
            f"{target} under {args.tool} median {profiled_ms:.2f} ms "
            f"({args.runs} runs, {profiled:.2f} s profiled)"
        )
        if args.tool == "pyinstrument":
            print(
                profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
            )
        else:
            stream = io.StringIO()
            stats = pstats.Stats(profiler, stream=stream)
            print(f"\nOwn time of aksara functions (share of profiled {target} time):")
            print("\n".join(_aksara_rows(stats, profiled, args.limit)))
            stats.sort_stats("tottime").print_stats(args.limit)
            print(stream.getvalue())
    finally:
        await close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _frame(text: str) -> tuple[str, bool]:
    """``name (path:line)`` -> (``name (aksara/x.py:line)``, is it aksara code)."""
    index = text.find("(aksara/")
    if index >= 0:
        return text, True
    index = text.find("/aksara/")
    if index < 0:
        return text, False
    return text[: text.rfind("(", 0, index) + 1] + text[index + 1 :], True


def summarise(path: str, limit: int) -> str:
    """Shares of aksara functions in py-spy ``-f raw`` (collapsed) stacks.

    own: samples whose innermost frame is the function. attributed: samples where it is
    the innermost aksara frame (so its calls into the stdlib/driver count, its calls into
    other aksara functions do not). inclusive: samples with the function anywhere.
    """
    own: dict[str, int] = {}
    attributed: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame(frame) for frame in stack.split(";")]
        seen = set()
        innermost = None
        for name, is_aksara in frames:
            if is_aksara:
                innermost = name
                if name not in seen:
                    seen.add(name)
                    inclusive[name] = inclusive.get(name, 0) + count
        if frames[-1][1]:
            own[frames[-1][0]] = own.get(frames[-1][0], 0) + count
        if innermost is not None:
            attributed[innermost] = attributed.get(innermost, 0) + count
    lines = [f"{total} samples", f"{'own %':>6} {'attr %':>6} {'incl %':>6}  function"]
    for name, value in sorted(attributed.items(), key=lambda item: -item[1])[:limit]:
        lines.append(
            f"{100 * own.get(name, 0) / total:6.1f} {100 * value / total:6.1f} "
            f"{100 * inclusive[name] / total:6.1f}  {name}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_orm")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--workload", choices=bench_orm.workload_names(), default="get_by_pk")
    parser.add_argument(
        "--tool", choices=("pyinstrument", "cprofile", "none"), default="pyinstrument"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="with --tool none")
    parser.add_argument("--summarise", metavar="STACKS", help="summarise py-spy raw stacks")
    parser.add_argument(
        "--side",
        default="orm",
        help='the side to profile: "orm" (the first side), "raw" (the second), or a side name '
        'such as "database.fetch" (event_path)',
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--interval", type=float, default=0.001, help="pyinstrument interval (s)")
    parser.add_argument("--pg-url", default=bench_orm.DEFAULT_PG_URL)
    parser.add_argument("--raw-pool", choices=("shared", "separate"), default="shared")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(args.summarise, args.limit))
        return 0
    bench_orm._quiet_aksara_logs()
    asyncio.run(_profile(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
