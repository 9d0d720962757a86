"""Aksara ORM against the raw driver, on the same data, on SQLite and PostgreSQL.

    python -m benchmarks.bench_orm [--db sqlite|postgresql|both] [--repeat N] [--json out.json]

For each database the schema is created with Aksara's ``create_tables`` and the seeded data
(``benchmarks.data``: 1,000 users, 10,000 posts, 50,000 comments) is loaded raw (COPY on
PostgreSQL, ``executemany`` on SQLite). Every workload then runs on the ORM and on the raw
driver in the same process, interleaved repetition by repetition (the order alternates), so
both sides share the machine's noise. Each timed run starts after ``gc.collect()``; the
report gives medians and ORM/raw ratios.

The raw side is the floor a hand-written data layer gets from the same driver and pool
settings: on PostgreSQL ``pool.fetch`` / ``pool.fetchrow`` on an asyncpg pool with Aksara's
options (``reset=`` a no-op, the same orjson jsonb codec) - by default the very pool Aksara
opened, so both sides use the same server backend process (``--raw-pool separate`` builds a
second one with the same options; see BENCHMARKS.md for why that is noisier); on SQLite
one aiosqlite connection of its own with Aksara's pragmas and ``execute_fetchall``. Raw rows
are left as driver Records / tuples (on SQLite that means JSON and datetimes stay text; the
extra ``raw+types`` baseline of the fetch workload also decodes them, as the ORM must).

Besides wall time, every run's process CPU time is recorded: the ORM's extra CPU per
operation is the steadiest number on a shared machine.

A full run also takes the relation workloads of ``benchmarks.bench_relations``
(select_related, nested prefetch, a page with a count) and the query-event workloads of
``benchmarks.bench_events`` (the execute path's cost, ``capture_queries``' cost), built on
the same context and runner; ``--only`` picks any of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg
import orjson

import aksara
from aksara import F
from aksara.db.backends.postgres import _init_connection
from benchmarks import data
from examples.blog.models import Comment, Post, User

__all__ = ["main", "run"]

MODELS = [User, Post, Comment]
POOL = {"min_size": 1, "max_size": 4}
DEFAULT_PG_URL = os.environ.get("AKSARA_BENCH_PG_URL", "postgresql://127.0.0.1/aksara_bench")

#: ORM/raw ceilings the PostgreSQL results are held to (the performance issue's targets).
TARGETS: dict[str, dict[str, float]] = {
    "postgresql": {
        "fetch_1000": 1.5,
        "get_by_pk": 1.3,
        "bulk_insert": 1.2,
        "update_1000": 1.2,
        # relations (benchmarks.bench_relations)
        "select_related_1000": 1.6,
        "nested_prefetch_200": 2.0,
        "page_20": 1.6,
    },
}

FETCH_ROWS = 1_000
FETCHES = 5
UPDATES = 5
GETS = 2_000
INSERT_ROWS = 10_000
UPDATE_ROWS = 1_000
COUNTS = 200

# (name, label, operations per timed run, default repetitions, warm-up runs per side,
#  chunks). A run of a chunked workload is split into that many slices, and the sides take
#  turns slice by slice (each side's run time is the sum of its slices), so on a shared
#  machine both sides see the same background load instead of one side catching a burst.
WORKLOADS: list[tuple[str, str, int, int, int, int]] = [
    ("fetch_1000", "fetch 1,000 posts x5", FETCHES, 21, 2, FETCHES),
    ("get_by_pk", "get by pk x2,000", GETS, 15, 2, 20),
    ("bulk_insert", "bulk insert 10,000", 1, 15, 1, 1),
    ("update_1000", "update 1,000 rows x5", UPDATES, 21, 2, UPDATES),
    ("count", "count() x200", COUNTS, 15, 2, 10),
]

_COLUMNS = ", ".join(data.POST_COLUMNS)
_NEW_COLUMNS = ", ".join(data.NEW_POST_COLUMNS)
_UTC = dt.UTC

log = logging.getLogger("benchmarks")


# Raw PostgreSQL: the pool Aksara builds, built by hand ---------------------------------


# The same connection setup and release policy as Aksara's own pool (one definition).
_pg_init = _init_connection


async def _pg_reset(connection: asyncpg.Connection) -> None:
    # Aksara resets only connections whose session state user SQL may have changed; the
    # workloads change none, so the raw pool skips asyncpg's RESET ALL round trip too.
    return None


async def _raw_pg_pool(dsn: str) -> asyncpg.Pool:
    # The same options Aksara passes for DATABASE_POOL={"min_size": 1, "max_size": 4}.
    return await asyncpg.create_pool(
        dsn,
        min_size=POOL["min_size"],
        max_size=POOL["max_size"],
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        command_timeout=None,
        statement_cache_size=1024,
        init=_pg_init,
        reset=_pg_reset,
        server_settings={"application_name": "aksara-bench-raw"},
    )


async def _ensure_pg_database(dsn: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        name = parts.path.lstrip("/")
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return
    await connection.close()


# Raw SQLite: one aiosqlite connection with Aksara's pragmas ---------------------------

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA case_sensitive_like = ON",
    "PRAGMA synchronous = NORMAL",
)


async def _raw_sqlite(path: str) -> aiosqlite.Connection:
    pending = aiosqlite.connect(path, isolation_level=None)
    thread = getattr(pending, "_thread", None)  # a daemon worker thread, as Aksara makes it
    if thread is not None:
        thread.daemon = True
    connection = await pending
    for pragma in _SQLITE_PRAGMAS:
        # execute_fetchall steps every statement to its end and finalizes it, as Aksara does;
        # a half-read PRAGMA cursor would keep a read transaction (and the WAL) open.
        await connection.execute_fetchall(pragma)
    return connection


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    # Aksara's storage format on SQLite: naive UTC, fixed width, so text order is time order.
    if value is None:
        return None
    return value.astimezone(_UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Seeding -----------------------------------------------------------------------------


async def _seed_postgres(connection: asyncpg.Connection, dataset: data.Dataset) -> None:
    await connection.copy_records_to_table(
        "users", records=dataset.users, columns=data.USER_COLUMNS
    )
    await connection.copy_records_to_table(
        "posts", records=dataset.posts, columns=data.POST_COLUMNS
    )
    await connection.copy_records_to_table(
        "comments", records=dataset.comments, columns=data.COMMENT_COLUMNS
    )
    for table in ("users", "posts", "comments"):
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )
    await connection.execute("VACUUM ANALYZE users, posts, comments")


async def _seed_sqlite(connection: aiosqlite.Connection, dataset: data.Dataset) -> None:
    when = _sqlite_datetime
    users = [(i, n, e, a, when(ll), when(c)) for i, n, e, a, ll, c in dataset.users]
    posts = [
        (i, t, s, body, orjson.dumps(m).decode(), a, p, v, when(c))
        for i, t, s, body, m, a, p, v, c in dataset.posts
    ]
    comments = [(i, p, a, body, when(c)) for i, p, a, body, c in dataset.comments]
    await connection.execute_fetchall("BEGIN")
    for table, columns, rows in (
        ("users", data.USER_COLUMNS, users),
        ("posts", data.POST_COLUMNS, posts),
        ("comments", data.COMMENT_COLUMNS, comments),
    ):
        marks = ", ".join("?" * len(columns))
        await connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )
    await connection.execute_fetchall("COMMIT")
    await connection.execute_fetchall("ANALYZE")
    await connection.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")


# Workloads ---------------------------------------------------------------------------

#: A side's run (or one slice of it): takes the repetition number and the slice number.
Side = Callable[[int, int], Awaitable[Any]]


@dataclass
class Workload:
    name: str
    label: str
    ops: int
    repeat: int
    warmup: int
    chunks: int
    #: "orm" first, then the baselines.
    sides: dict[str, Side]
    #: Checks the warm-up results of every side agree (outside timing).
    check: Callable[[dict[str, Any]], None]
    #: Untimed, after every run of any side (e.g. delete the rows a bulk insert added).
    cleanup: Callable[[], Awaitable[None]] | None = None
    #: (db, workload, samples, cpu) -> the result; default: ORM against its baselines.
    summarise: Callable[..., dict[str, Any]] | None = None
    #: The baselines a target is judged against: the fastest of them (alternative raw SQL
    #: for the same result, e.g. GROUP BY or a correlated subquery).
    target_against: tuple[str, ...] = ("raw",)


@dataclass
class Context:
    db: str
    raw: Any  # asyncpg.Pool or aiosqlite.Connection
    pks: list[int]
    new_rows: list[tuple[Any, ...]]
    #: Untimed, between workloads: VACUUM ANALYZE / WAL checkpoint.
    settle: Callable[[], Awaitable[None]]
    #: Untimed, after each bulk insert: delete the new rows, then settle.
    cleanup_inserts: Callable[[], Awaitable[None]]
    #: Untimed, after each update: on SQLite a WAL checkpoint, so no timed statement pays
    #: for the automatic checkpoint its commit would otherwise trigger every few updates.
    cleanup_writes: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"ORM and raw results disagree: {message}")


def _chunks(name: str) -> int:
    return next(w[5] for w in WORKLOADS if w[0] == name)


def _chunked(items: list[int], chunks: int) -> list[list[int]]:
    size = len(items) // chunks
    return [items[index * size : (index + 1) * size] for index in range(chunks)]


def _update_range(rep: int, chunk: int) -> tuple[int, int]:
    """The ids a run's update touches: each slice of a run a different 1,000."""
    start = 1 + ((rep * UPDATES + chunk) % (data.N_POSTS // UPDATE_ROWS)) * UPDATE_ROWS
    return start, start + UPDATE_ROWS


def build_workloads(ctx: Context, repeat: int | None, warmup: int | None) -> list[Workload]:
    pg = ctx.db == "postgresql"
    raw = ctx.raw
    pks = ctx.pks
    new_rows = ctx.new_rows

    # (1) fetch 1,000 posts --------------------------------------------------------
    async def orm_fetch(rep: int, chunk: int) -> Any:
        return await Post.objects.limit(FETCH_ROWS)

    if pg:
        fetch_sql = f"SELECT {_COLUMNS} FROM posts LIMIT $1"

        async def raw_fetch(rep: int, chunk: int) -> Any:
            return await raw.fetch(fetch_sql, FETCH_ROWS)

        fetch_sides: dict[str, Side] = {"orm": orm_fetch, "raw": raw_fetch}
    else:
        fetch_sql = f"SELECT {_COLUMNS} FROM posts LIMIT ?"

        async def raw_fetch(rep: int, chunk: int) -> Any:
            return await raw.execute_fetchall(fetch_sql, (FETCH_ROWS,))

        async def raw_fetch_typed(rep: int, chunk: int) -> Any:
            # The floor with the ORM's Python types: JSON, datetime and bool decoded.
            rows = await raw.execute_fetchall(fetch_sql, (FETCH_ROWS,))
            loads = orjson.loads
            parse = dt.datetime.fromisoformat
            utc = _UTC
            return [
                (
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    loads(r[4]),
                    r[5],
                    bool(r[6]),
                    r[7],
                    parse(r[8]).replace(tzinfo=utc),
                )
                for r in rows
            ]

        fetch_sides = {"orm": orm_fetch, "raw": raw_fetch, "raw+types": raw_fetch_typed}

    def check_fetch(results: dict[str, Any]) -> None:
        orm = results["orm"]
        _expect(len(orm) == FETCH_ROWS, f"ORM fetched {len(orm)} rows")
        ids = sorted(obj.id for obj in orm)
        for side, rows in results.items():
            if side != "orm":
                _expect(sorted(row[0] for row in rows) == ids, f"{side} fetched other rows")
        first = orm[0]
        _expect(
            isinstance(first.metadata, dict) and isinstance(first.created_at, dt.datetime), "types"
        )

    # (2) get by primary key, 2,000 times in sequence ------------------------------
    get_chunks = _chunked(pks, _chunks("get_by_pk"))

    async def orm_get(rep: int, chunk: int) -> Any:
        get = Post.objects.get
        obj = None
        for pk in get_chunks[chunk]:
            obj = await get(pk=pk)
        return obj

    if pg:
        get_sql = f"SELECT {_COLUMNS} FROM posts WHERE id = $1"

        async def raw_get(rep: int, chunk: int) -> Any:
            fetchrow = raw.fetchrow
            row = None
            for pk in get_chunks[chunk]:
                row = await fetchrow(get_sql, pk)
                if row is None:
                    raise LookupError(pk)
            return row

    else:
        get_sql = f"SELECT {_COLUMNS} FROM posts WHERE id = ?"

        async def raw_get(rep: int, chunk: int) -> Any:
            fetchall = raw.execute_fetchall
            row = None
            for pk in get_chunks[chunk]:
                rows = await fetchall(get_sql, (pk,))
                if not rows:
                    raise LookupError(pk)
                row = rows[0]
            return row

    def check_get(results: dict[str, Any]) -> None:
        _expect(results["orm"].id == results["raw"][0] == pks[-1], "last post fetched")
        _expect(results["orm"].title == results["raw"][1], "title")

    # (3) bulk insert 10,000 posts -------------------------------------------------
    async def orm_insert(rep: int, chunk: int) -> Any:
        objs = [
            Post(
                title=title,
                slug=slug,
                content=content,
                metadata=metadata,
                author_id=author_id,
                is_published=is_published,
                view_count=view_count,
                created_at=created_at,
            )
            for (
                title,
                slug,
                content,
                metadata,
                author_id,
                is_published,
                view_count,
                created_at,
            ) in new_rows
        ]
        await Post.objects.bulk_create(objs)
        return objs

    if pg:
        insert_sql = (
            f"INSERT INTO posts ({_NEW_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], "
            "$3::text[], $4::jsonb[], $5::bigint[], $6::boolean[], $7::integer[], "
            "$8::timestamptz[]) RETURNING id"
        )

        async def raw_insert(rep: int, chunk: int) -> Any:
            columns = [list(column) for column in zip(*new_rows, strict=True)]
            rows = await raw.fetch(insert_sql, *columns)
            return [row[0] for row in rows]

    else:
        width = len(data.NEW_POST_COLUMNS)
        batch = 32_766 // width
        head = f"INSERT INTO posts ({_NEW_COLUMNS}) VALUES "
        group = "(" + ", ".join("?" * width) + ")"

        async def raw_insert(rep: int, chunk: int) -> Any:
            dumps = orjson.dumps
            ids: list[int] = []
            for start in range(0, len(new_rows), batch):
                part = new_rows[start : start + batch]
                params: list[Any] = []
                extend = params.extend
                for title, slug, content, metadata, author_id, published, views, created in part:
                    extend(
                        (
                            title,
                            slug,
                            content,
                            dumps(metadata).decode(),
                            author_id,
                            published,
                            views,
                            created.astimezone(_UTC)
                            .replace(tzinfo=None)
                            .isoformat(" ", "microseconds"),
                        )
                    )
                sql = head + ", ".join([group] * len(part)) + " RETURNING id"
                ids.extend([row[0] for row in await raw.execute_fetchall(sql, params)])
            return ids

    def check_insert(results: dict[str, Any]) -> None:
        objs = results["orm"]
        _expect(len(objs) == INSERT_ROWS and all(obj.pk is not None for obj in objs), "ORM pks")
        _expect(len(results["raw"]) == INSERT_ROWS, "raw ids")

    # (4) filtered update of 1,000 rows -------------------------------------------
    async def orm_update(rep: int, chunk: int) -> Any:
        start, stop = _update_range(rep, chunk)
        return await Post.objects.filter(id__gte=start, id__lt=stop).update(
            view_count=F("view_count") + 1
        )

    if pg:
        update_sql = "UPDATE posts SET view_count = view_count + 1 WHERE id >= $1 AND id < $2"

        async def raw_update(rep: int, chunk: int) -> Any:
            start, stop = _update_range(rep, chunk)
            status = await raw.execute(update_sql, start, stop)
            return int(status.rpartition(" ")[2])

    else:
        update_sql = "UPDATE posts SET view_count = view_count + 1 WHERE id >= ? AND id < ?"

        async def raw_update(rep: int, chunk: int) -> Any:
            start, stop = _update_range(rep, chunk)
            cursor = await raw.execute(update_sql, (start, stop))
            return cursor.rowcount

    def check_update(results: dict[str, Any]) -> None:
        _expect(results["orm"] == results["raw"] == UPDATE_ROWS, f"rows updated {results}")

    # (5) count(), 200 times in sequence ------------------------------------------
    counts = COUNTS // _chunks("count")

    async def orm_count(rep: int, chunk: int) -> Any:
        objects = Post.objects
        total = 0
        for _ in range(counts):
            total = await objects.count()
        return total

    if pg:

        async def raw_count(rep: int, chunk: int) -> Any:
            fetchval = raw.fetchval
            total = 0
            for _ in range(counts):
                total = await fetchval("SELECT COUNT(*) FROM posts")
            return total

    else:

        async def raw_count(rep: int, chunk: int) -> Any:
            fetchall = raw.execute_fetchall
            total = 0
            for _ in range(counts):
                total = (await fetchall("SELECT COUNT(*) FROM posts", ()))[0][0]
            return total

    def check_count(results: dict[str, Any]) -> None:
        _expect(results["orm"] == results["raw"] == data.N_POSTS, f"counts {results}")

    sides: dict[
        str,
        tuple[
            dict[str, Side], Callable[[dict[str, Any]], None], Callable[[], Awaitable[None]] | None
        ],
    ] = {
        "fetch_1000": (fetch_sides, check_fetch, None),
        "get_by_pk": ({"orm": orm_get, "raw": raw_get}, check_get, None),
        "bulk_insert": ({"orm": orm_insert, "raw": raw_insert}, check_insert, ctx.cleanup_inserts),
        "update_1000": ({"orm": orm_update, "raw": raw_update}, check_update, ctx.cleanup_writes),
        "count": ({"orm": orm_count, "raw": raw_count}, check_count, None),
    }
    workloads = []
    for name, label, ops, default_repeat, default_warmup, chunks in WORKLOADS:
        workload_sides, check, cleanup = sides[name]
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
                cleanup=cleanup,
            )
        )
    # Relations and query-event workloads live in modules of their own (imported here:
    # they import this one).
    from benchmarks.bench_events import build_event_workloads
    from benchmarks.bench_relations import build_relation_workloads

    workloads += build_relation_workloads(ctx, repeat, warmup)
    workloads += build_event_workloads(ctx, repeat, warmup)
    return workloads


def workload_names() -> list[str]:
    """Every workload, in the order a full run takes them."""
    from benchmarks import bench_events, bench_relations

    return [w[0] for w in WORKLOADS + bench_relations.WORKLOADS + bench_events.WORKLOADS]


# Running -----------------------------------------------------------------------------


async def run_workload(
    workload: Workload, *, disable_gc: bool
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Warm up, check, then time every side *repeat* times, interleaved.

    Returns the wall-clock and the process CPU milliseconds of every run, per side. The CPU
    time is this process's only (the database server's work is not in it), so it shows
    the client-side cost, and is far less disturbed by other tenants of the machine.
    """
    names = list(workload.sides)
    for index in range(workload.warmup):
        results = {}
        for chunk in range(workload.chunks):
            for name in names:
                results[name] = await workload.sides[name](-1 - index, chunk)
                if workload.cleanup is not None:
                    await workload.cleanup()
        workload.check(results)
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu_samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(workload.repeat):
        totals = dict.fromkeys(names, 0.0)
        cpu_totals = dict.fromkeys(names, 0.0)
        for chunk in range(workload.chunks):
            shift = (rep + chunk) % len(names)
            for name in names[shift:] + names[:shift]:  # rotate who goes first
                side = workload.sides[name]
                gc.collect()
                if disable_gc:
                    gc.disable()
                cpu_start = time.process_time()
                start = time.perf_counter()
                try:
                    await side(rep, chunk)
                    elapsed = time.perf_counter() - start
                    cpu = time.process_time() - cpu_start
                finally:
                    gc.enable()
                totals[name] += elapsed
                cpu_totals[name] += cpu
                if workload.cleanup is not None:
                    await workload.cleanup()
        for name in names:
            samples[name].append(totals[name] * 1000.0)
            cpu_samples[name].append(cpu_totals[name] * 1000.0)
    return samples, cpu_samples


def _summarise(
    db: str, workload: Workload, samples: dict[str, list[float]], cpu: dict[str, list[float]]
) -> dict[str, Any]:
    orm = samples["orm"]
    orm_median = statistics.median(orm)
    orm_cpu = statistics.median(cpu["orm"])
    baselines = {}
    for name, values in samples.items():
        if name == "orm":
            continue
        median = statistics.median(values)
        paired = statistics.median(o / r for o, r in zip(orm, values, strict=True))
        cpu_median = statistics.median(cpu[name])
        baselines[name] = {
            "median_ms": median,
            "min_ms": min(values),
            "ratio": orm_median / median,
            "paired_ratio": paired,
            "overhead_us_per_op": (orm_median - median) * 1000.0 / workload.ops,
            "cpu_median_ms": cpu_median,
            "cpu_overhead_us_per_op": (orm_cpu - cpu_median) * 1000.0 / workload.ops,
            "samples_ms": values,
            "cpu_samples_ms": cpu[name],
        }
    target = TARGETS.get(db, {}).get(workload.name)
    judged = min(workload.target_against, key=lambda name: statistics.median(samples[name]))
    ratio = orm_median / statistics.median(samples[judged])
    return {
        "workload": workload.name,
        "label": workload.label,
        "ops": workload.ops,
        "repeat": workload.repeat,
        "orm": {
            "median_ms": orm_median,
            "min_ms": min(orm),
            "cpu_median_ms": orm_cpu,
            "samples_ms": orm,
            "cpu_samples_ms": cpu["orm"],
        },
        "baselines": baselines,
        "ratio": ratio,
        "target_baseline": judged,
        "target": target,
        "met": None if target is None else ratio <= target,
    }


def _aksara_pool() -> asyncpg.Pool | None:
    """The asyncpg pool Aksara opened, when it can be reached."""
    pool = getattr(aksara.get_database().backend, "_pool", None)
    return pool if isinstance(pool, asyncpg.Pool) else None


async def _postgres_context(
    url: str, raw_pool: str
) -> tuple[Context, Callable[[], Awaitable[None]], dict[str, Any]]:
    await _ensure_pg_database(url)
    aksara.configure(DATABASE_URL=url, DATABASE_POOL=POOL)
    await aksara.connect()
    await aksara.drop_tables(MODELS)
    await aksara.create_tables(MODELS)
    # Seeding and the untimed housekeeping use a connection of their own, so the timed
    # pools have only ever run the workloads.
    admin = await asyncpg.connect(url)
    await _pg_init(admin)

    async def settle() -> None:
        await admin.execute("VACUUM ANALYZE posts")
        # Flush dirty buffers now rather than in the middle of a workload.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await admin.execute("CHECKPOINT")

    async def cleanup_inserts() -> None:
        await admin.execute("DELETE FROM posts WHERE id > $1", data.N_POSTS)
        await admin.execute("VACUUM posts")

    started = time.perf_counter()
    await _seed_postgres(admin, _dataset())
    seed_s = round(time.perf_counter() - started, 2)
    await _reconnect_aksara()
    # "shared": the raw side calls pool.fetch / fetchrow on the very asyncpg pool Aksara
    # built (same options by construction), so both sides talk to the same server backend
    # process. On a small machine that matters: identical raw code through two identically
    # configured pools differs by 20% or more per round trip, depending on which CPU each
    # backend process landed on - more than the ORM overhead being measured. "separate":
    # a pool of the benchmark's own, built with Aksara's options (_raw_pg_pool).
    pool = _aksara_pool() if raw_pool == "shared" else None
    if pool is None:
        if raw_pool == "shared":
            log.warning("Aksara pools asyncpg connections itself; the raw side gets its own pool.")
            raw_pool = "separate"
        pool = await _raw_pg_pool(url)
    own_pool = raw_pool == "separate"

    async def close() -> None:
        if own_pool:
            await pool.close()
        await admin.close()
        await aksara.disconnect()

    info = {
        "server": "PostgreSQL " + await admin.fetchval("SHOW server_version"),
        "driver": f"asyncpg {asyncpg.__version__}",
        "raw_side": (
            "pool.fetch/fetchrow on Aksara's own asyncpg pool"
            if raw_pool == "shared"
            else "pool.fetch/fetchrow on a separate asyncpg pool with Aksara's options"
        ),
        "seed_s": seed_s,
    }
    ctx = Context("postgresql", pool, _pks(), _new_rows(), settle, cleanup_inserts)
    return ctx, close, info


async def _sqlite_context(
    path: str,
) -> tuple[Context, Callable[[], Awaitable[None]], dict[str, Any]]:
    aksara.configure(DATABASE_URL=f"sqlite:///{path}", DATABASE_POOL=POOL)
    await aksara.connect()
    await aksara.drop_tables(MODELS)
    await aksara.create_tables(MODELS)
    # Seeding and the untimed housekeeping use a connection of their own, so the timed raw
    # connection, like Aksara's, has only ever run the workloads.
    admin = await _raw_sqlite(path)

    async def settle() -> None:
        await admin.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")

    async def cleanup_inserts() -> None:
        await admin.execute_fetchall("DELETE FROM posts WHERE id > ?", (data.N_POSTS,))
        await admin.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")

    started = time.perf_counter()
    await _seed_sqlite(admin, _dataset())
    connection = await _raw_sqlite(path)
    await _reconnect_aksara()

    async def close() -> None:
        await connection.close()
        await admin.close()
        await aksara.disconnect()

    info = {
        "server": f"SQLite {sqlite3.sqlite_version}",
        "driver": f"aiosqlite {aiosqlite.__version__}",
        "raw_side": "execute_fetchall on a separate aiosqlite connection with Aksara's pragmas",
        "seed_s": round(time.perf_counter() - started, 2),
    }
    ctx = Context("sqlite", connection, _pks(), _new_rows(), settle, cleanup_inserts, settle)
    return ctx, close, info


async def _reconnect_aksara() -> None:
    # A fresh pool after the DDL, as fresh as the raw side's.
    await aksara.disconnect()
    await aksara.connect()


_cache: dict[str, Any] = {}


def _dataset() -> data.Dataset:
    if "dataset" not in _cache:
        _cache["dataset"] = data.generate()
    return _cache["dataset"]  # type: ignore[no-any-return]


def _pks() -> list[int]:
    return random.Random(data.SEED + 2).choices(range(1, data.N_POSTS + 1), k=GETS)


def _new_rows() -> list[tuple[Any, ...]]:
    if "new_rows" not in _cache:
        _cache["new_rows"] = data.new_posts(INSERT_ROWS)
    return _cache["new_rows"]  # type: ignore[no-any-return]


async def open_database(
    db: str, *, pg_url: str, sqlite_path: str, raw_pool: str = "shared"
) -> tuple[Context, Callable[[], Awaitable[None]], dict[str, Any]]:
    """Create the schema, seed it, open the raw side: (context, close, info)."""
    if db == "postgresql":
        return await _postgres_context(pg_url, raw_pool)
    return await _sqlite_context(sqlite_path)


async def bench_database(
    db: str,
    *,
    pg_url: str,
    sqlite_path: str,
    repeat: int | None,
    warmup: int | None,
    only: set[str] | None,
    disable_gc: bool,
    raw_pool: str,
) -> dict[str, Any]:
    ctx, close, info = await open_database(
        db, pg_url=pg_url, sqlite_path=sqlite_path, raw_pool=raw_pool
    )
    results = []
    try:
        for workload in build_workloads(ctx, repeat, warmup):
            if only and workload.name not in only:
                continue
            await ctx.settle()
            started = time.perf_counter()
            samples, cpu = await run_workload(workload, disable_gc=disable_gc)
            summary = (workload.summarise or _summarise)(db, workload, samples, cpu)
            summary["wall_s"] = round(time.perf_counter() - started, 2)
            results.append(summary)
            if summary.get("kind") == "events":
                from benchmarks.bench_events import log_line

                log.info("%s  (%.1fs)", log_line(db, summary), summary["wall_s"])
                continue
            judged = summary["target_baseline"]
            log.info(
                "%s %-12s ORM %9.2f ms  %s %9.2f ms  x%.2f  (%.1fs)",
                db,
                workload.name,
                summary["orm"]["median_ms"],
                judged,
                summary["baselines"][judged]["median_ms"],
                summary["ratio"],
                summary["wall_s"],
            )
    finally:
        await close()
    return {"database": db, **info, "workloads": results}


# Reporting ---------------------------------------------------------------------------


def format_report(report: dict[str, Any]) -> str:
    from benchmarks.bench_events import format_events

    lines = []
    env = report["environment"]
    lines.append(
        f"Python {env['python']} on {env['platform']}, {env['cpus']} CPUs, loop={env['loop']}, "
        f"gc {'disabled' if env['gc_disabled'] else 'enabled'} during timed runs"
    )
    for result in report["databases"]:
        lines.append("")
        lines.append(f"{result['server']}, {result['driver']} - medians, ms per timed run")
        lines.append(f"raw side: {result['raw_side']}")
        header = (
            f"{'workload':<22} {'ops/run':>7} {'runs':>4} {'ORM ms':>9} {'raw ms':>9} "
            f"{'ORM/raw':>7} {'+us/op':>8} {'+cpu us/op':>10} {'target':>7}  met"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for w in result["workloads"]:
            if w.get("kind") == "events":
                continue
            for index, (name, base) in enumerate(w["baselines"].items()):
                label = w["label"] if name == "raw" else f"  vs {name}"
                orm = f"{w['orm']['median_ms']:9.2f}" if index == 0 else f"{'':9}"
                target = w["target"] if name == w.get("target_baseline", "raw") else None
                met = "" if target is None else ("yes" if w["met"] else "NO")
                ceiling = f"<= {target:.1f}x" if target else ""
                ops = w["ops"] if index == 0 else ""
                runs = w["repeat"] if index == 0 else ""
                lines.append(
                    f"{label:<22} {ops:>7} {runs:>4} {orm} {base['median_ms']:9.2f} "
                    f"{base['ratio']:6.2f}x {base['overhead_us_per_op']:8.1f} "
                    f"{base['cpu_overhead_us_per_op']:10.1f} {ceiling:>7}  {met}"
                )
        lines.extend(format_events(result))
    lines.append("")
    lines.append(
        "+us/op: ORM minus raw median wall time, per operation. +cpu us/op: the same in this "
        "process's CPU time\n(client-side cost only; steadier than wall time on a shared machine)."
    )
    targets = [
        (result["database"], w)
        for result in report["databases"]
        for w in result["workloads"]
        if w.get("kind") != "events" and w["target"] is not None
    ]
    if targets:
        lines.append("")
        lines.append("PostgreSQL targets (ORM/raw):")
        for _db, w in targets:
            verdict = "met" if w["met"] else "MISSED"
            against = w.get("target_baseline", "raw")
            note = "" if against == "raw" else f"  (vs {against}, the faster raw SQL)"
            lines.append(
                f"  {w['label']:<22} {w['ratio']:.2f}x  target <= {w['target']:.1f}x  "
                f"{verdict}{note}"
            )
    return "\n".join(lines)


def _environment(loop: str, disable_gc: bool) -> dict[str, Any]:
    commit = None
    git = Path(__file__).resolve().parent.parent / ".git"
    try:  # read, not run, git: HEAD, then the branch file or packed-refs
        ref = (git / "HEAD").read_text().strip()
        if not ref.startswith("ref: "):
            commit = ref
        elif (git / ref[5:]).exists():
            commit = (git / ref[5:]).read_text().strip()
        else:
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref[5:]):
                    commit = line.split()[0]
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loop": loop,
        "gc_disabled": disable_gc,
        "aksara_commit": commit,
        "date": dt.datetime.now(_UTC).isoformat(timespec="seconds"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    only = set(args.only.split(",")) if args.only else None
    if only and only - set(workload_names()):
        raise SystemExit(
            f"Unknown workloads: {', '.join(sorted(only - set(workload_names())))}. "
            f"Known: {', '.join(workload_names())}."
        )
    temp_dir = None
    sqlite_path = args.sqlite_path
    if sqlite_path is None:
        temp_dir = tempfile.mkdtemp(prefix="aksara-bench-")
        sqlite_path = os.path.join(temp_dir, "bench.sqlite3")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path + suffix).unlink(missing_ok=True)  # noqa: ASYNC240 - before any I/O
    report: dict[str, Any] = {
        "environment": _environment(args.loop, args.no_gc),
        "targets": TARGETS,
        "databases": [],
    }
    try:
        for db in databases:
            report["databases"].append(
                await bench_database(
                    db,
                    pg_url=args.pg_url,
                    sqlite_path=sqlite_path,
                    repeat=args.repeat,
                    warmup=args.warmup,
                    only=only,
                    disable_gc=args.no_gc,
                    raw_pool=args.raw_pool,
                )
            )
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_orm",
        description="Benchmark the Aksara ORM against the raw driver on the same data.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per side (default: per workload, 15-21)",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed runs per side first (default: 1-2)"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the full results, samples included"
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="comma-separated workloads: " + ", ".join(workload_names()),
    )
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="default: $AKSARA_BENCH_PG_URL or %(default)s"
    )
    parser.add_argument("--sqlite-path", default=None, help="default: a temporary file")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--no-gc", action="store_true", help="disable the GC during timed runs")
    parser.add_argument(
        "--raw-pool",
        choices=("shared", "separate"),
        default="separate",
        help="PostgreSQL raw side: a separate asyncpg pool built with Aksara's options "
        "(default), or Aksara's own asyncpg.Pool where a backend still has one (falls back)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def _quiet_aksara_logs() -> None:
    # Seeding-sized statements pass SLOW_QUERY_MS; the warnings would only clutter the output.
    logging.getLogger("aksara.db.slow").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    _quiet_aksara_logs()
    if args.loop == "uvloop":
        import uvloop

        report = uvloop.run(run(args))
    else:
        report = asyncio.run(run(args))
    print(format_report(report))
    if args.json:
        with open(args.json, "wb") as handle:
            handle.write(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    # Run the package's copy of this module, not this __main__ one: bench_relations and
    # bench_events import benchmarks.bench_orm, and one copy keeps one set of classes.
    from benchmarks.bench_orm import main as _main

    raise SystemExit(_main())
