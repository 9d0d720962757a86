"""How a paginated list gets its count: ``COUNT(*) OVER()`` in the page query, or a separate
``COUNT(*)`` run after the page or concurrently with it on a second pooled connection.

    python -m benchmarks.bench_pagination [--db both] [--repeat 100]

The data is the ORM benchmark's (``benchmarks.data``: 10,000 posts by 1,000 authors, 50,000
comments), seeded the same way. Each case is a page of 20 posts with their authors
(``select_related``), newest first, at offset 0 and at offset 5,000. The three strategies
run in alternating rounds so that drift in the machine hits all of them alike; the figures
are medians per page request. Before timing, each case checks that the strategies agree
on the rows and the count.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aksara
from aksara.api.counting import count_rows
from aksara.orm.keyget import compiled_select
from aksara.orm.queryset import QuerySet
from benchmarks.bench_orm import DEFAULT_PG_URL, open_database
from examples.blog.models import Post

PAGE_SIZE = 20

#: (label, queryset of the whole result, offset of the page).
CASES: list[tuple[str, Callable[[], QuerySet[Any]], int]] = [
    (
        "all posts, page 1",
        lambda: Post.objects.select_related("author").order_by("-created_at"),
        0,
    ),
    (
        "all posts, offset 5,000",
        lambda: Post.objects.select_related("author").order_by("-created_at"),
        5_000,
    ),
    (
        "published posts, page 1",
        lambda: (
            Post.objects.select_related("author").filter(is_published=True).order_by("-created_at")
        ),
        0,
    ),
    (
        "title contains 'async', page 1",
        lambda: (
            Post.objects.select_related("author")
            .filter(title__icontains="async")
            .order_by("-created_at")
        ),
        0,
    ),
]

Strategy = Callable[[QuerySet[Any], int], Awaitable[tuple[list[Any], int]]]


async def window(queryset: QuerySet[Any], offset: int) -> tuple[list[Any], int]:
    """The page's own SELECT with ``COUNT(*) OVER()`` appended to its select list."""
    page = queryset[offset : offset + PAGE_SIZE]
    query = page.query
    database = aksara.get_database()
    compiled = compiled_select(query, database.statements, database.dialect)
    head, tail = compiled.sql.split(" FROM ", 1)
    sql = f"{head}, COUNT(*) OVER () FROM {tail}"
    rows = await database.fetch(sql, compiled.params(query), read_only=True, keeps_session=True)
    # The builder reads the model's columns by position; the extra last one is the total.
    total = rows[0][-1] if rows else await queryset.count()
    return compiled.build(rows), int(total)


async def sequential(queryset: QuerySet[Any], offset: int) -> tuple[list[Any], int]:
    """The page, then ``count()`` on the same connection's turn."""
    rows = await queryset[offset : offset + PAGE_SIZE]
    return rows, await queryset.count()


async def concurrent(queryset: QuerySet[Any], offset: int) -> tuple[list[Any], int]:
    """The page and ``count()`` at once on two pooled connections (the paginators' way)."""
    rows, total, _ = await count_rows(queryset[offset : offset + PAGE_SIZE], queryset)
    return rows, total


STRATEGIES: dict[str, Strategy] = {
    "COUNT(*) OVER()": window,
    "separate, sequential": sequential,
    "separate, concurrent": concurrent,
}


async def bench_case(make: Callable[[], QuerySet[Any]], offset: int, repeat: int) -> dict[str, Any]:
    results = {name: await strategy(make(), offset) for name, strategy in STRATEGIES.items()}
    pages = {name: [row.pk for row in rows] for name, (rows, _) in results.items()}
    totals = {name: total for name, (_, total) in results.items()}
    agree = len({tuple(page) for page in pages.values()}) == 1 and len(set(totals.values())) == 1
    samples: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    for _ in range(3):  # warm-up
        for strategy in STRATEGIES.values():
            await strategy(make(), offset)
    for _ in range(repeat):
        for name, strategy in STRATEGIES.items():
            queryset = make()
            started = time.perf_counter()
            await strategy(queryset, offset)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {
        "agree": agree,
        "count": next(iter(totals.values())),
        "ms": {name: statistics.median(values) for name, values in samples.items()},
    }


async def bench_database(db: str, args: argparse.Namespace, sqlite_path: str) -> None:
    _, close, info = await open_database(db, pg_url=args.pg_url, sqlite_path=sqlite_path)
    try:
        print(
            f"\n{info['server']} ({info['driver']}), page of {PAGE_SIZE}, median ms of {args.repeat}"
        )
        names = list(STRATEGIES)
        print("| case | rows | " + " | ".join(names) + " | agree |")
        print("|---|---:|" + "---:|" * len(names) + "---|")
        for label, make, offset in CASES:
            result = await bench_case(make, offset, args.repeat)
            cells = " | ".join(f"{result['ms'][name]:.2f}" for name in names)
            print(f"| {label} | {result['count']:,} | {cells} | {result['agree']} |")
    finally:
        await close()


async def run(args: argparse.Namespace) -> None:
    # The window variant is slow by design; its slow-query warnings would bury the tables.
    logging.getLogger("aksara.db.slow").setLevel(logging.ERROR)
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory() as folder:
        for db in databases:
            await bench_database(db, args, str(Path(folder) / "bench.sqlite3"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_pagination",
        description="COUNT(*) OVER() against a separate COUNT for a paginated list.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=100, help="timed rounds per case")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
