"""Relation workloads of the ORM-vs-raw benchmark: select_related, nested prefetch, a page.

These run inside ``benchmarks.bench_orm`` (same seeding, same interleaved runner, same
report); this module only builds them:

    python -m benchmarks.bench_orm --only select_related_1000,nested_prefetch_200,page_20
    python -m benchmarks.bench_relations [bench_orm options]   # the same, these three only

The raw side of each is what a competent hand-written data layer does with the same driver:
the same SQL (same columns, same parameters, so the same plans), rows left as the driver
returns them, and for the prefetch the grouping done in Python with dicts and lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

from aksara import Count
from benchmarks import data
from benchmarks.bench_orm import Context, Side, Workload, _expect
from examples.blog.models import Post, User

__all__ = ["WORKLOADS", "build_relation_workloads"]

SELECT_ROWS = 1_000
PREFETCH_POSTS = 200
PAGE_SIZE = 20
PAGE_OFFSET = 40

# (name, label, operations per timed run, default repetitions, warm-up runs per side,
#  chunks): as bench_orm.WORKLOADS; one operation per slice.
WORKLOADS: list[tuple[str, str, int, int, int, int]] = [
    ("select_related_1000", "select_related 1k x5", 5, 21, 2, 5),
    ("nested_prefetch_200", "nested prefetch 200 x5", 5, 21, 2, 5),
    ("page_20", "page 20 + count x5", 5, 15, 2, 5),
]

_UTC = dt.UTC
_USER_COLUMNS = data.USER_COLUMNS
_POSTS = ", ".join(f"p.{c}" for c in data.POST_COLUMNS)
_USERS = ", ".join(f"u.{c}" for c in _USER_COLUMNS)
_COMMENTS = ", ".join(f"c.{c}" for c in data.COMMENT_COLUMNS)
_N_POST = len(data.POST_COLUMNS)


# SQLite rows with the ORM's Python types (raw+types baselines) ------------------------


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).replace(tzinfo=_UTC)


def _typed_post(r: Any) -> tuple[Any, ...]:
    # id, title, slug, content, metadata, author_id, is_published, view_count, created_at
    return (
        r[0],
        r[1],
        r[2],
        r[3],
        orjson.loads(r[4]),
        r[5],
        bool(r[6]),
        r[7],
        dt.datetime.fromisoformat(r[8]).replace(tzinfo=_UTC),
    )


def _typed_user(r: Any, at: int = 0) -> tuple[Any, ...]:
    # id, name, email, is_active, last_login, created_at
    return (r[at], r[at + 1], r[at + 2], bool(r[at + 3]), _when(r[at + 4]), _when(r[at + 5]))


def _typed_comment(r: Any) -> tuple[Any, ...]:
    # id, post_id, author_id, body, created_at
    return (r[0], r[1], r[2], r[3], dt.datetime.fromisoformat(r[4]).replace(tzinfo=_UTC))


def build_relation_workloads(
    ctx: Context, repeat: int | None, warmup: int | None
) -> list[Workload]:
    pg = ctx.db == "postgresql"
    raw = ctx.raw
    mark = "$%d" if pg else "?"

    def marks(*numbers: int) -> tuple[str, ...]:
        return tuple(mark % n if pg else mark for n in numbers)

    if pg:

        async def query(sql: str, *params: Any) -> list[Any]:
            return await raw.fetch(sql, *params)  # type: ignore[no-any-return]

    else:

        async def query(sql: str, *params: Any) -> list[Any]:
            return await raw.execute_fetchall(sql, params)  # type: ignore[no-any-return]

    # (1) select_related: 1,000 posts with their authors, one JOIN ------------------
    (limit,) = marks(1)
    join_sql = (
        f"SELECT {_POSTS}, {_USERS} FROM posts p INNER JOIN users u ON u.id = p.author_id "
        f"ORDER BY p.id LIMIT {limit}"
    )

    async def orm_select(rep: int, chunk: int) -> Any:
        return await Post.objects.select_related("author").order_by("id").limit(SELECT_ROWS)

    async def raw_select(rep: int, chunk: int) -> Any:
        return await query(join_sql, SELECT_ROWS)

    select_sides: dict[str, Side] = {"orm": orm_select, "raw": raw_select}
    if not pg:

        async def raw_select_typed(rep: int, chunk: int) -> Any:
            rows = await query(join_sql, SELECT_ROWS)
            return [(*_typed_post(r), *_typed_user(r, _N_POST)) for r in rows]

        select_sides["raw+types"] = raw_select_typed

    def check_select(results: dict[str, Any]) -> None:
        orm = results["orm"]
        _expect(len(orm) == SELECT_ROWS, f"ORM fetched {len(orm)} posts")
        _expect(all(isinstance(post.__dict__.get("author"), User) for post in orm), "authors")
        expected = [(post.id, post.author.id, post.author.name) for post in orm]
        for side, rows in results.items():
            if side != "orm":
                got = [(r[0], r[_N_POST], r[_N_POST + 1]) for r in rows]
                _expect(got == expected, f"{side}: other posts or authors")

    # (2) nested prefetch: 200 posts, their comments, the comments' authors ---------
    posts_sql = f"SELECT {_POSTS} FROM posts p ORDER BY p.id LIMIT {limit}"
    if pg:
        comments_sql = f"SELECT {_COMMENTS} FROM comments c WHERE c.post_id = ANY($1)"
        users_sql = f"SELECT {_USERS} FROM users u WHERE u.id = ANY($1)"

        async def by_ids(sql: str, ids: list[int]) -> list[Any]:
            return await raw.fetch(sql, ids)  # type: ignore[no-any-return]

    else:
        # The heads: by_ids appends "(?, ?, ...)", one mark per id, as Aksara does.
        comments_sql = f"SELECT {_COMMENTS} FROM comments c WHERE c.post_id IN "
        users_sql = f"SELECT {_USERS} FROM users u WHERE u.id IN "

        async def by_ids(sql: str, ids: list[int]) -> list[Any]:
            return await raw.execute_fetchall(  # type: ignore[no-any-return]
                sql + "(" + ", ".join("?" * len(ids)) + ")", ids
            )

    async def orm_prefetch(rep: int, chunk: int) -> Any:
        return await (
            Post.objects.prefetch_related("comments", "comments__author")
            .order_by("id")
            .limit(PREFETCH_POSTS)
        )

    def nested(typed: bool) -> Side:
        # typed: the SQLite rows decoded to the ORM's Python types (raw+types).
        post_row, comment_row, user_row = _typed_post, _typed_comment, _typed_user

        async def raw_prefetch(rep: int, chunk: int) -> Any:
            # [(post, [(comment, author), ...]), ...] in post order.
            posts = await query(posts_sql, PREFETCH_POSTS)
            if typed:
                posts = [post_row(r) for r in posts]
            ids = [post[0] for post in posts]
            comments = await by_ids(comments_sql, ids)
            if typed:
                comments = [comment_row(r) for r in comments]
            users = await by_ids(users_sql, list({comment[2] for comment in comments}))
            if typed:
                users = [user_row(r) for r in users]
            by_id = {user[0]: user for user in users}
            groups: dict[int, list[Any]] = {post_id: [] for post_id in ids}
            for comment in comments:
                groups[comment[1]].append((comment, by_id[comment[2]]))
            return [(post, groups[post[0]]) for post in posts]

        return raw_prefetch

    prefetch_sides: dict[str, Side] = {"orm": orm_prefetch, "raw": nested(False)}
    if not pg:
        prefetch_sides["raw+types"] = nested(True)

    def check_prefetch(results: dict[str, Any]) -> None:
        orm = results["orm"]
        _expect(len(orm) == PREFETCH_POSTS, f"ORM fetched {len(orm)} posts")
        expected = [
            (post.id, sorted((c.id, c.author.id, c.author.name) for c in post.comments))
            for post in orm
        ]
        _expect(sum(len(c) for _, c in expected) > 500, "a few hundred comments")
        _expect(
            all(isinstance(c.__dict__.get("author"), User) for p in orm for c in p.comments),
            "comment authors loaded",
        )
        for side, rows in results.items():
            if side != "orm":
                got = [
                    (post[0], sorted((c[0], u[0], u[1]) for c, u in comments))
                    for post, comments in rows
                ]
                _expect(got == expected, f"{side}: other comments or authors")

    # (3) a page: 20 published posts, newest first, with author and comment count --
    published, size, skip = marks(1, 2, 3)
    join = "FROM posts p INNER JOIN users u ON u.id = p.author_id"
    where = f"WHERE p.is_published = {published}"
    page = f"ORDER BY p.created_at DESC LIMIT {size} OFFSET {skip}"
    page_sql = (
        f"SELECT {_POSTS}, {_USERS}, COUNT(c.id) AS comment_count {join} "
        f"LEFT OUTER JOIN comments c ON c.post_id = p.id {where} GROUP BY p.id, u.id {page}"
    )
    # For information: the count as a correlated subquery, so the database can walk the
    # created_at index and stop after 60 posts instead of grouping every published post.
    subquery_sql = (
        f"SELECT {_POSTS}, {_USERS}, "
        f"(SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id) AS comment_count "
        f"{join} {where} {page}"
    )

    async def orm_page(rep: int, chunk: int) -> Any:
        return await (
            Post.objects.filter(is_published=True)
            .select_related("author")
            .annotate(comment_count=Count("comments"))
            .order_by("-created_at")
            .limit(PAGE_SIZE)
            .offset(PAGE_OFFSET)
        )

    async def raw_page(rep: int, chunk: int) -> Any:
        return await query(page_sql, True, PAGE_SIZE, PAGE_OFFSET)

    async def raw_page_subquery(rep: int, chunk: int) -> Any:
        return await query(subquery_sql, True, PAGE_SIZE, PAGE_OFFSET)

    def check_page(results: dict[str, Any]) -> None:
        orm = results["orm"]
        _expect(len(orm) == PAGE_SIZE, f"ORM page has {len(orm)} posts")
        expected = [(p.id, p.author.name, p.comment_count) for p in orm]
        _expect(all(p.is_published for p in orm), "only published posts")
        _expect(sum(count for *_, count in expected) > 0, "some comments counted")
        for side, rows in results.items():
            if side != "orm":
                got = [(r[0], r[_N_POST + 1], r[-1]) for r in rows]
                _expect(got == expected, f"{side}: other posts, authors or counts")

    sides: dict[str, tuple[dict[str, Side], Callable[[dict[str, Any]], None]]] = {
        "select_related_1000": (select_sides, check_select),
        "nested_prefetch_200": (prefetch_sides, check_prefetch),
        "page_20": (
            {"orm": orm_page, "raw": raw_page, "raw subquery": raw_page_subquery},
            check_page,
        ),
    }
    # page_20's target is judged against the faster of its two raw queries: the ORM may
    # compile the count either way, and the comparison that measures the ORM is the one
    # against the same plan.
    against = {"page_20": ("raw", "raw subquery")}
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
                target_against=against.get(name, ("raw",)),
            )
        )
    return workloads


def main(argv: list[str] | None = None) -> int:
    """``bench_orm`` with these workloads only (an ``--only`` given is kept)."""
    import sys

    from benchmarks import bench_orm

    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--only" or a.startswith("--only=") for a in args):
        args += ["--only", ",".join(w[0] for w in WORKLOADS)]
    return bench_orm.main(args)


if __name__ == "__main__":
    raise SystemExit(main())
