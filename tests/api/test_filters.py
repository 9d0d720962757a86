"""Filter backends on both databases: whitelisted field filters with typed values,
ordering and search; every name a client sends is checked against a whitelist."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from aksara.api.errors import ValidationFailed
from aksara.api.filters import (
    DEFAULT_FILTER_BACKENDS,
    FieldFilter,
    OrderingFilter,
    SearchFilter,
)
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.exceptions import ConfigurationError
from examples.blog.models import Comment, Post, User
from tests.models import Kitchen

UTC = dt.UTC
DAY = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_request(query: str | dict[str, str] = "") -> Request:
    text = query if isinstance(query, str) else urlencode(query)
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/api/posts/",
            "root_path": "",
            "query_string": text.encode(),
            "headers": [(b"host", b"testserver")],
        }
    )


class View:
    filterset_fields: Any = {
        "is_published": ["exact"],
        "author": ["exact", "in"],
        "created_at": ["gte", "lte"],
        "view_count": ["exact", "gt", "range", "isnull"],
        "title": ["icontains"],
        "author__name": ["exact"],
    }
    ordering_fields: Any = ("created_at", "title", "view_count", "id")
    ordering: Any = "-id"
    search_fields: Any = ("title", "content", "author__name")


async def seed() -> list[Post]:
    ana, ben = await User.objects.bulk_create(
        [User(name="Ana", email="ana@example.com"), User(name="Ben", email="ben@example.com")]
    )
    posts = await Post.objects.bulk_create(
        [
            Post(
                title="Async Python",
                slug="a",
                author=ana,
                is_published=True,
                view_count=5,
                content="event loops and tasks",
            ),
            Post(
                title="Python typing",
                slug="b",
                author=ben,
                is_published=False,
                view_count=10,
                content="generics",
            ),
            Post(
                title="Rust async",
                slug="c",
                author=ben,
                is_published=True,
                view_count=15,
                content="futures, python bindings",
            ),
            Post(
                title="Databases",
                slug="d",
                author=ana,
                is_published=True,
                view_count=20,
                content="indexes and plans",
            ),
        ]
    )
    for index, post in enumerate(posts):
        await Post.objects.filter(pk=post.pk).update(created_at=DAY + dt.timedelta(days=index))
    return posts


async def ids(backend: Any, query: str | dict[str, str], view: Any = None) -> list[int]:
    queryset = backend().filter_queryset(make_request(query), Post.objects.all(), view or View())
    if queryset.query.order is None:
        queryset = queryset.order_by("id")
    return [post.pk for post in await queryset]


def detail(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, list[str]]:
    assert error.value.status_code == 400
    return error.value.detail  # type: ignore[no-any-return]


# Field filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("is_published=true", [1, 3, 4]),
        ("is_published=False", [2]),
        ("is_published=1&author=1", [1, 4]),
        ("author=2", [2, 3]),
        ("author__in=1,2", [1, 2, 3, 4]),
        ("author__in=2", [2, 3]),
        ("created_at__gte=2024-03-02T12:00:00%2B00:00", [2, 3, 4]),
        ("created_at__gte=2024-03-02T00:00:00Z&created_at__lte=2024-03-03T13:00:00Z", [2, 3]),
        ("view_count=10", [2]),
        ("view_count__gt=10", [3, 4]),
        ("view_count__range=6,15", [2, 3]),
        ("view_count__isnull=false", [1, 2, 3, 4]),
        ("view_count__isnull=1", []),
        ("title__icontains=PYTHON", [1, 2]),
        ("author__name=Ben", [2, 3]),
        ("author=", [1, 2, 3, 4]),  # an empty value filters nothing
        ("page=2&page_size=3&format=json&fields=id&cursor=x&limit=1&offset=2", [1, 2, 3, 4]),
        ("utm_source=mail", [1, 2, 3, 4]),  # not a field: not a filter
    ],
)
async def test_whitelisted_filters_parse_by_the_field_type(
    db: Database, query: str, expected: list[int]
) -> None:
    await seed()
    assert await ids(FieldFilter, query) == expected


async def test_a_list_of_names_allows_exact_matches_only(db: Database) -> None:
    await seed()

    class Plain:
        filterset_fields = ["is_published", "author"]

    assert await ids(FieldFilter, "author=1&is_published=true", Plain()) == [1, 4]
    with pytest.raises(ValidationFailed) as error:
        await ids(FieldFilter, "author__in=1,2", Plain())
    assert detail(error) == {
        "author__in": ["Unknown filter 'author__in'. Valid filters: author, is_published."]
    }


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        ("author=abc", "author", "Expected an integer; got 'abc'."),
        ("author=1.5", "author", "Expected an integer; got '1.5'."),
        (
            "is_published=maybe",
            "is_published",
            "Expected a boolean (true, false, 1 or 0); got 'maybe'.",
        ),
        (
            "created_at__gte=yesterday",
            "created_at__gte",
            "Expected an ISO 8601 datetime (2024-01-31T12:00:00+00:00); got 'yesterday'.",
        ),
        ("author__in=1,x", "author__in", "Expected an integer (comma-separated); got '1,x'."),
        (
            "view_count__range=1",
            "view_count__range",
            "Expected 2 comma-separated values of an integer.",
        ),
        (
            "view_count__isnull=perhaps",
            "view_count__isnull",
            "Expected a boolean (true, false, 1 or 0); got 'perhaps'.",
        ),
        ("view_count=NaN", "view_count", "Expected an integer; got 'NaN'."),
    ],
)
async def test_a_value_that_does_not_parse_is_a_400_naming_parameter_and_type(
    db: Database, query: str, key: str, message: str
) -> None:
    await seed()
    with pytest.raises(ValidationFailed) as error:
        await ids(FieldFilter, query)
    assert detail(error) == {key: [message]}


@pytest.mark.parametrize("kind", ["decimal", "uuid", "date", "float"])
async def test_other_field_types_parse_too(db: Database, kind: str) -> None:
    import uuid
    from decimal import Decimal

    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    await Kitchen.objects.create(
        label="a", price=Decimal("9.99"), token=token, day=dt.date(2024, 1, 2), ratio=0.5
    )
    await Kitchen.objects.create(
        label="b", price=Decimal("1.00"), day=dt.date(2024, 5, 6), ratio=2.5
    )
    good, bad, expected_type = {
        "decimal": ("price=9.99", "price=ten", "a decimal number"),
        "uuid": (f"token={token}", "token=1234", "a UUID"),
        "date": ("day=2024-01-02", "day=02/01/2024", "an ISO 8601 date (2024-01-31)"),
        "float": ("ratio=0.5", "ratio=half", "a number"),
    }[kind]

    class KitchenView:
        filterset_fields = ["price", "token", "day", "ratio"]

    found = FieldFilter().filter_queryset(make_request(good), Kitchen.objects.all(), KitchenView())
    assert [row.label for row in await found] == ["a"]
    with pytest.raises(ValidationFailed) as error:
        FieldFilter().filter_queryset(make_request(bad), Kitchen.objects.all(), KitchenView())
    ((key, (message,)),) = detail(error).items()
    assert key == bad.split("=")[0]
    assert message.startswith(f"Expected {expected_type}; got ")


async def test_a_field_left_out_of_the_whitelist_is_a_400_listing_the_valid_ones(
    db: Database,
) -> None:
    await seed()
    valid = (
        "author, author__in, author__name, created_at__gte, created_at__lte, is_published, "
        "title__icontains, view_count, view_count__gt, view_count__isnull, view_count__range"
    )
    for key in (
        "slug",
        "title",
        "author__email",
        "view_count__lt",
        "pk",
        "author_id",
        "comments__body",
    ):
        with pytest.raises(ValidationFailed) as error:
            await ids(FieldFilter, {key: "1"})
        assert detail(error) == {key: [f"Unknown filter {key!r}. Valid filters: {valid}."]}


async def test_filter_names_are_never_sql(db: Database) -> None:
    await seed()
    rejected = {
        "title__icontains') OR 1=1; DROP TABLE posts; --": "x",
        "author__in=1);DELETE FROM users;--": "1",
        "view_count__gt OR 1=1": "0",
    }
    for key, value in rejected.items():
        with pytest.raises(ValidationFailed) as error:
            await ids(FieldFilter, {key: value})
        assert list(detail(error)) == [key]
    # Not a field's name: not a filter at all, so it changes nothing.
    async with capture_queries() as queries:
        assert await ids(FieldFilter, {'view_count" OR "1"="1': "1"}) == [1, 2, 3, 4]
    assert " WHERE " not in queries[0].sql
    assert await Post.objects.count() == 4
    assert await User.objects.count() == 2


async def test_a_misconfigured_whitelist_is_a_configuration_error(db: Database) -> None:
    class Broken:
        filterset_fields = {"title": ["gtee"]}

    with pytest.raises(ConfigurationError, match="exact, iexact, contains"):
        await ids(FieldFilter, "", Broken())

    class Missing:
        filterset_fields = ["nope"]

    with pytest.raises(ConfigurationError, match="'nope'"):
        await ids(FieldFilter, "", Missing())


# Ordering -------------------------------------------------------------------------------------


async def test_ordering_by_whitelisted_fields_and_the_default(db: Database) -> None:
    await seed()
    assert await ids(OrderingFilter, "") == [4, 3, 2, 1]  # view.ordering = "-id"
    assert await ids(OrderingFilter, "ordering=title") == [1, 4, 2, 3]
    assert await ids(OrderingFilter, "ordering=-view_count") == [4, 3, 2, 1]
    assert await ids(OrderingFilter, "ordering=-created_at") == [4, 3, 2, 1]
    await Post.objects.filter(pk=1).update(view_count=10)
    assert await ids(OrderingFilter, "ordering=view_count,-id") == [2, 1, 3, 4]
    assert await ids(OrderingFilter, "ordering= view_count , id ,") == [1, 2, 3, 4]

    class Unordered:
        ordering_fields = ("id",)

    assert await ids(OrderingFilter, "", Unordered()) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("raw", "invalid"),
    [
        ("slug", "slug"),
        ("-title,author__name", "author__name"),
        ("?", "?"),
        ("title;DROP TABLE posts", "title;DROP TABLE posts"),
        ('id" DESC, (SELECT 1)--', 'id" DESC'),
        ("--id", "--id"),
    ],
)
async def test_unknown_or_hostile_ordering_is_a_400_listing_the_choices(
    db: Database, raw: str, invalid: str
) -> None:
    await seed()
    with pytest.raises(ValidationFailed) as error:
        await ids(OrderingFilter, {"ordering": raw})
    (message,) = detail(error)["ordering"]
    assert message.startswith(f"Invalid ordering: {invalid}")
    assert message.endswith(
        "Valid choices: created_at, title, view_count, id (prefix '-' for descending)."
    )
    assert await Post.objects.count() == 4


async def test_all_fields_may_be_whitelisted_for_ordering(db: Database) -> None:
    await seed()

    class Open:
        ordering_fields = "__all__"

    assert await ids(OrderingFilter, "ordering=-slug", Open()) == [4, 3, 2, 1]
    with pytest.raises(ValidationFailed) as error:
        await ids(OrderingFilter, "ordering=author__name", Open())
    assert (
        "Valid choices: id, title, slug, content, metadata, author,"
        in (detail(error)["ordering"][0])
    )


async def test_without_ordering_fields_no_client_ordering_is_taken(db: Database) -> None:
    class Closed:
        ordering = "-id"

    with pytest.raises(ValidationFailed) as error:
        await ids(OrderingFilter, "ordering=id", Closed())
    assert "Valid choices: none" in detail(error)["ordering"][0]


# Search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("python", [1, 2, 3]),  # title or content, any case
        ("async python", [1, 3]),  # every term, each in some field
        ("ben", [2, 3]),  # across the author relation
        ("ana plans", [4]),
        ("nothing", []),
        ("", [1, 2, 3, 4]),
        ("100%", []),  # LIKE wildcards match themselves
        ("_", []),
    ],
)
async def test_search_ands_terms_and_ors_fields(
    db: Database, search: str, expected: list[int]
) -> None:
    await seed()
    assert await ids(SearchFilter, {"search": search}) == expected


async def test_search_prefixes_and_a_to_many_relation(db: Database) -> None:
    posts = await seed()
    ana = await User.objects.get(pk=1)
    for body in ("great read", "great again"):
        await Comment.objects.create(post=posts[1], author=ana, body=body)

    class Prefixed:
        search_fields = ("^title", "=slug", "comments__body")

    assert await ids(SearchFilter, "search=pyth", Prefixed()) == [2]  # starts with
    assert await ids(SearchFilter, "search=C", Prefixed()) == [3]  # iexact slug
    # Two matching comments still give the post once.
    assert await ids(SearchFilter, "search=great", Prefixed()) == [2]


async def test_searching_a_field_that_is_not_text_is_a_configuration_error(
    db: Database,
) -> None:
    class Numeric:
        search_fields = ("view_count",)

    with pytest.raises(ConfigurationError, match=r"Post\.view_count is not text"):
        await ids(SearchFilter, "search=5", Numeric())


async def test_full_text_search_on_postgresql_and_icontains_elsewhere(db: Database) -> None:
    await seed()

    class FullText:
        search_fields = ("@content",)

    async with capture_queries() as queries:
        found = await ids(SearchFilter, "search=loop", FullText())
    if db.dialect.name == "postgresql":
        # Words, stemmed: "loop" matches "loops"; the term is a parameter.
        assert found == [1]
        assert "to_tsvector(" in queries[0].sql and "plainto_tsquery($1)" in queries[0].sql
        assert await ids(SearchFilter, "search=ops", FullText()) == []
    else:
        assert found == [1]
        assert await ids(SearchFilter, "search=ops", FullText()) == [1]
    assert "loop" not in queries[0].sql


async def test_default_backends_compose(db: Database) -> None:
    await seed()
    queryset = Post.objects.all()
    request = make_request("search=python&is_published=true&ordering=-view_count")
    for backend in DEFAULT_FILTER_BACKENDS:
        queryset = backend().filter_queryset(request, queryset, View())
    assert [post.pk for post in await queryset] == [3, 1]
