"""Pagination on both databases: page numbers, limit/offset and cursors, with their links,
their 404s, and a count that leaves out the page's annotations, ordering and joins."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest
from starlette.requests import Request

from aksara import Count
from aksara.api.errors import NotFound
from aksara.api.pagination import CursorPagination, LimitOffsetPagination, PageNumberPagination
from aksara.db import Database
from aksara.db.transaction import atomic
from aksara.debug import capture_queries
from examples.blog.models import Post, User

BASE = "http://testserver/api/posts/"


def make_request(query: str = "") -> Request:
    """A GET of /api/posts/ with *query*, as Starlette hands it to a view."""
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/api/posts/",
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
        }
    )


class View:
    """The attributes a viewset gives its paginator."""

    page_size: int | None = 20
    max_page_size: int | None = 100


async def seed(posts: int, users: int = 3) -> list[Post]:
    people = await User.objects.bulk_create(
        [User(name=f"user {i}", email=f"u{i}@example.com") for i in range(users)]
    )
    return await Post.objects.bulk_create(
        [
            Post(title=f"post {i:03d}", slug=f"p{i}", author=people[i % users], view_count=i)
            for i in range(posts)
        ]
    )


async def page_of(
    paginator: Any, query: str = "", queryset: Any = None, view: Any = None
) -> tuple[list[Post], dict[str, Any]]:
    queryset = Post.objects.order_by("id") if queryset is None else queryset
    rows = await paginator.paginate_queryset(queryset, make_request(query), view or View())
    return rows, paginator.get_paginated_data([row.pk for row in rows])


# Page numbers ---------------------------------------------------------------------------------


async def test_the_first_page_links_to_the_second(db: Database) -> None:
    await seed(45)
    rows, data = await page_of(PageNumberPagination())
    assert [row.pk for row in rows] == list(range(1, 21))
    assert data == {
        "count": 45,
        "next": BASE + "?page=2",
        "previous": None,
        "results": list(range(1, 21)),
    }


async def test_links_keep_the_other_parameters_and_the_first_page_drops_page(
    db: Database,
) -> None:
    await seed(45)
    _, data = await page_of(PageNumberPagination(), "is_published=false&page=2&search=x")
    assert data["results"] == list(range(21, 41))
    assert data["next"] == BASE + "?is_published=false&page=3&search=x"
    assert data["previous"] == BASE + "?is_published=false&search=x"
    _, last = await page_of(PageNumberPagination(), "page=3")
    assert last["results"] == list(range(41, 46))
    assert last["next"] is None
    assert last["previous"] == BASE + "?page=2"


async def test_page_size_is_capped_and_the_view_overrides_the_class(db: Database) -> None:
    await seed(130)
    _, data = await page_of(PageNumberPagination(), "page_size=500")
    assert len(data["results"]) == 100
    _, data = await page_of(PageNumberPagination(), "page_size=7&page=2")
    assert data["results"] == list(range(8, 15))
    assert data["next"] == BASE + "?page_size=7&page=3"

    class Small(View):
        page_size = 5
        max_page_size = 6

    _, data = await page_of(PageNumberPagination(), "", view=Small())
    assert data["results"] == [1, 2, 3, 4, 5]
    _, data = await page_of(PageNumberPagination(), "page_size=50", view=Small())
    assert len(data["results"]) == 6

    class Unset:
        """A view without the attributes: the paginator's own apply."""

    _, data = await page_of(PageNumberPagination(), "", view=Unset())
    assert len(data["results"]) == PageNumberPagination.page_size
    # Not a positive integer: the default size, as DRF.
    for raw in ("0", "-3", "many"):
        _, data = await page_of(PageNumberPagination(), f"page_size={raw}")
        assert len(data["results"]) == 20


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5", "", "4", "9" * 30, str(2**62)])
async def test_an_invalid_or_out_of_range_page_is_a_404(db: Database, page: str) -> None:
    await seed(45)
    with pytest.raises(NotFound) as error:
        await page_of(PageNumberPagination(), f"page={page}")
    assert error.value.detail == "Invalid page."
    assert error.value.status_code == 404


async def test_the_first_page_of_nothing_is_served_empty(db: Database) -> None:
    rows, data = await page_of(PageNumberPagination())
    assert rows == []
    assert data == {"count": 0, "next": None, "previous": None, "results": []}
    with pytest.raises(NotFound):
        await page_of(PageNumberPagination(), "page=2")


async def test_the_count_leaves_out_annotations_ordering_and_joins(db: Database) -> None:
    await seed(30)
    queryset = (
        Post.objects.select_related("author")
        .annotate(comment_count=Count("comments"))
        .prefetch_related("comments")
        .filter(is_published=False)
        .order_by("-created_at", "id")
    )
    async with capture_queries() as queries:
        rows, data = await page_of(PageNumberPagination(), "page_size=10", queryset)
    assert data["count"] == 30
    assert len(rows) == 10
    assert rows[0].comment_count == 0
    counts = [query.sql for query in queries if "COUNT(*)" in query.sql.upper()[:20]]
    assert counts == [
        'SELECT COUNT(*) FROM "posts" WHERE "posts"."is_published" = '
        + ("$1" if db.dialect.name == "postgresql" else "?")
    ]
    # The page itself keeps what the view asked for.
    page = [query.sql for query in queries if query.sql not in counts]
    assert any("JOIN" in sql and "ORDER BY" in sql for sql in page)


async def test_a_filter_on_an_annotation_is_counted_on_the_keys_alone(db: Database) -> None:
    await seed(12)
    await Post.objects.filter(pk__in=[2, 5]).update(view_count=100)
    queryset = Post.objects.annotate(n=Count("comments")).filter(n__gte=0, view_count=100)
    async with capture_queries() as queries:
        _, data = await page_of(PageNumberPagination(), "", queryset.order_by("id"))
    assert data["count"] == 2
    (count,) = [query.sql for query in queries if query.sql.startswith("SELECT COUNT(*) FROM (")]
    assert "ORDER BY" not in count
    assert count.startswith('SELECT COUNT(*) FROM (SELECT "posts"."id" FROM "posts"')


async def test_inside_atomic_the_page_and_count_share_the_transaction(db: Database) -> None:
    await seed(25)
    async with atomic():
        await Post.objects.filter(pk=1).delete()
        _, data = await page_of(PageNumberPagination())
    assert data["count"] == 24
    assert data["results"][0] == 2


async def test_on_a_pinned_connection_the_page_and_count_run_in_turn(db: Database) -> None:
    await seed(25)
    async with db.connection(), capture_queries() as queries:
        _, data = await page_of(LimitOffsetPagination(), "limit=5&offset=20")
    assert data["count"] == 25
    assert data["results"] == [21, 22, 23, 24, 25]
    assert len(queries) == 2


class Estimated(PageNumberPagination):
    count = "estimate"
    estimate_threshold = 100


async def test_estimate_above_the_threshold_uses_the_planner_on_postgresql(db: Database) -> None:
    await seed(400)
    await db.execute('ANALYZE "posts"' if db.dialect.name == "postgresql" else "ANALYZE")
    async with capture_queries() as queries:
        _, data = await page_of(Estimated())
    statements = [query.sql for query in queries]
    if db.dialect.name == "postgresql":
        assert any(sql.startswith("EXPLAIN (FORMAT JSON) SELECT") for sql in statements)
        assert not any(sql.startswith("SELECT COUNT(*)") for sql in statements)
        assert 300 <= data["count"] <= 500
    else:
        # SQLite has no row estimate: the count is exact.
        assert data["count"] == 400
        assert any(sql.startswith("SELECT COUNT(*)") for sql in statements)
    assert data["next"] == BASE + "?page=2"


async def test_estimate_at_or_below_the_threshold_counts_exactly(db: Database) -> None:
    await seed(40)
    await db.execute('ANALYZE "posts"' if db.dialect.name == "postgresql" else "ANALYZE")
    async with capture_queries() as queries:
        _, data = await page_of(Estimated(), "", Post.objects.filter(view_count__lt=30))
    assert data["count"] == 30
    assert any(query.sql.startswith("SELECT COUNT(*)") for query in queries)


# Limit and offset ---------------------------------------------------------------------------


async def test_limit_offset_windows_and_links(db: Database) -> None:
    await seed(45)
    _, data = await page_of(LimitOffsetPagination(), "limit=10&offset=20")
    assert data == {
        "count": 45,
        "next": BASE + "?limit=10&offset=30",
        "previous": BASE + "?limit=10&offset=10",
        "results": list(range(21, 31)),
    }
    _, first = await page_of(LimitOffsetPagination(), "limit=10&offset=5")
    assert first["previous"] == BASE + "?limit=10"
    _, last = await page_of(LimitOffsetPagination(), "limit=10&offset=40")
    assert last["results"] == list(range(41, 46))
    assert last["next"] is None
    _, start = await page_of(LimitOffsetPagination())
    assert start["results"] == list(range(1, 21))
    assert start["previous"] is None
    assert start["next"] == BASE + "?limit=20&offset=20"


async def test_limit_is_capped_and_bad_numbers_fall_back(db: Database) -> None:
    await seed(130)
    _, data = await page_of(LimitOffsetPagination(), "limit=1000")
    assert len(data["results"]) == 100
    _, data = await page_of(LimitOffsetPagination(), "limit=x&offset=-4")
    assert data["results"] == list(range(1, 21))
    _, huge = await page_of(LimitOffsetPagination(), "offset=" + "9" * 30)
    assert huge["results"] == []
    _, past = await page_of(LimitOffsetPagination(), "offset=500")
    assert past["results"] == []
    assert past["count"] == 130
    assert past["next"] is None
    assert past["previous"] == BASE + "?offset=110&limit=20"


# Cursors --------------------------------------------------------------------------------------


async def walk(paginator_class: type[CursorPagination], query: str = "") -> list[list[int]]:
    """Every page from the first by following next links."""
    pages = []
    while True:
        paginator = paginator_class()
        _, data = await page_of(paginator, query, Post.objects.all())
        pages.append(data["results"])
        if data["next"] is None:
            return pages
        query = data["next"].split("?", 1)[1]


async def test_cursor_pages_cover_every_row_once_in_order(db: Database) -> None:
    posts = await seed(47)
    pages = await walk(CursorPagination)
    assert [len(page) for page in pages] == [20, 20, 7]
    # "-created_at" (bulk rows share timestamps) broken by "-id".
    expected = [post.pk for post in sorted(posts, key=lambda p: (p.created_at, p.pk), reverse=True)]
    assert [pk for page in pages for pk in page] == expected


async def test_cursor_reads_its_ordering_even_when_only_or_defer_leave_it_out(
    db: Database,
) -> None:
    posts = await seed(25)
    expected = [post.pk for post in sorted(posts, key=lambda p: (p.created_at, p.pk), reverse=True)]
    for narrowed in (Post.objects.only("id", "title"), Post.objects.defer("created_at")):
        paginator = CursorPagination()
        _, data = await page_of(paginator, "", narrowed)
        assert data["results"] == expected[:20]
        _, rest = await page_of(CursorPagination(), data["next"].split("?", 1)[1], narrowed)
        assert rest["results"] == expected[20:]


async def test_cursor_previous_links_walk_back(db: Database) -> None:
    await seed(47)

    class ByViews(CursorPagination):
        ordering = "view_count"

    first = ByViews()
    _, data = await page_of(first, "", Post.objects.all())
    assert data["previous"] is None
    second = ByViews()
    _, data2 = await page_of(second, data["next"].split("?", 1)[1], Post.objects.all())
    assert data2["results"] == list(range(21, 41))
    back = ByViews()
    _, data3 = await page_of(back, data2["previous"].split("?", 1)[1], Post.objects.all())
    assert data3["results"] == list(range(1, 21))
    assert data3["previous"] is None
    assert data3["next"] is not None
    third = ByViews()
    _, data4 = await page_of(third, data2["next"].split("?", 1)[1], Post.objects.all())
    assert data4["results"] == list(range(41, 48))
    assert data4["next"] is None
    back2 = ByViews()
    _, data5 = await page_of(back2, data4["previous"].split("?", 1)[1], Post.objects.all())
    assert data5["results"] == list(range(21, 41))


async def test_cursor_pages_are_stable_under_inserts(db: Database) -> None:
    posts = await seed(30)
    author = await User.objects.get(pk=1)
    paginator = CursorPagination()
    _, data = await page_of(paginator, "", Post.objects.all())
    seen = list(data["results"])
    # New posts sort first ("-created_at"): an offset would shift and repeat rows.
    await Post.objects.bulk_create(
        [Post(title=f"new {i}", slug=f"n{i}", author=author) for i in range(5)]
    )
    _, data = await page_of(CursorPagination(), data["next"].split("?", 1)[1], Post.objects.all())
    seen += data["results"]
    assert data["next"] is None
    assert sorted(seen) == sorted(post.pk for post in posts)


async def test_cursor_pagination_runs_no_count(db: Database) -> None:
    await seed(25)
    async with capture_queries() as queries:
        _, data = await page_of(CursorPagination(), "", Post.objects.all())
    assert len(queries) == 1
    assert "COUNT(" not in queries[0].sql.upper()
    assert set(data) == {"next", "previous", "results"}


def _token(body: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(body)).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        "e30",  # {}
        _token([1, 2]),
        _token({"p": [1]}),
        _token({"p": ["2024-01-01T00:00:00+00:00", "x"]}),
        _token({"p": ["yesterday", 3]}),
        _token({"p": ["2024-01-01T00:00:00+00:00", 3], "r": 2}),
        _token({"p": ["2024-01-01T00:00:00+00:00", 3], "sql": "1; DROP TABLE posts"}),
        _token({"p": [None, 3]}),
    ],
)
async def test_a_tampered_cursor_is_a_404(db: Database, cursor: str) -> None:
    await seed(3)
    with pytest.raises(NotFound) as error:
        await page_of(CursorPagination(), f"cursor={cursor}", Post.objects.all())
    assert error.value.detail == "Invalid cursor."
    assert await Post.objects.count() == 3


async def test_cursor_past_the_end_offers_the_way_back(db: Database) -> None:
    await seed(20)

    class ByViews(CursorPagination):
        ordering = ("view_count",)

    _, data = await page_of(ByViews(), "", Post.objects.all())
    assert data["next"] is None  # exactly one page
    token = _token({"p": [19, 20]})
    _, empty = await page_of(ByViews(), f"cursor={token}", Post.objects.all())
    assert empty["results"] == []
    assert empty["next"] is None
    _, back = await page_of(ByViews(), empty["previous"].split("?", 1)[1], Post.objects.all())
    assert back["results"] == list(range(1, 21))


async def test_a_failing_statement_of_the_page_or_its_count_is_raised_as_itself(
    db: Database,
) -> None:
    """The page and its count run as two tasks; a failure of either is the request's error
    as itself (the app maps database errors to 503/504), never an ExceptionGroup."""
    from aksara.api.counting import count_rows
    from aksara.exceptions import DatabaseError

    queryset = Post.objects.all()
    await db.execute(f"ALTER TABLE {Post._meta.table_name} RENAME TO no_such_table_of_pages")
    try:
        with pytest.raises(DatabaseError) as raised:
            await count_rows(queryset[:20], queryset)
        assert not isinstance(raised.value, BaseExceptionGroup)
    finally:
        await db.execute(f"ALTER TABLE no_such_table_of_pages RENAME TO {Post._meta.table_name}")
