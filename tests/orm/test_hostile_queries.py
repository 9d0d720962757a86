"""Queries a hostile or careless caller writes: deep and wide Q trees, huge ``__in`` lists,
more parameters than a statement takes, annotation filters with values of the wrong type,
F() in ordering and in comparisons with annotations, aliases past PostgreSQL's 63 bytes and
relation paths without end. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
import operator
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import reduce
from typing import Any

import pytest

import aksara
from aksara import (
    Avg,
    ConfigurationError,
    Count,
    F,
    FieldError,
    Max,
    Min,
    Model,
    Q,
    QueryLimitError,
    Sum,
    ValidationError,
    fields,
)
from aksara.db import Database
from aksara.orm.queryset import QuerySet
from aksara.orm.where import MAX_CONDITION_DEPTH, build_where
from examples.blog.models import Comment, Post, User
from tests.models import Category, Kitchen
from tests.orm.conftest import Blog, capture
from tests.orm.relation_models import seed_blog

UTC = dt.UTC
LONG_TABLE = "hostile_" + "n" * 55  # 63 bytes: PostgreSQL keeps it whole, and nothing longer


class Ledger(Model):
    name = fields.String(max_length=20)

    class Meta:
        table_name = "hostile_ledgers"


class Entry(Model):
    ledger = fields.ForeignKey(Ledger, on_delete=fields.CASCADE, related_name="entries")
    amount = fields.Decimal(max_digits=8, decimal_places=2)
    day = fields.Date()

    class Meta:
        table_name = "hostile_entries"


class LongNamedNode(Model):
    """A table name of exactly 63 bytes, joined to itself: aliases must stay distinct."""

    label = fields.String(max_length=20)
    parent = fields.ForeignKey(
        "self", on_delete=fields.SET_NULL, null=True, related_name="children"
    )

    class Meta:
        table_name = LONG_TABLE


async def pks(queryset: QuerySet[Any]) -> list[int]:
    return sorted(obj.pk for obj in await queryset)


def expected(objects: list[Any], predicate: Callable[[Any], bool]) -> list[int]:
    return sorted(obj.pk for obj in objects if predicate(obj))


# Q trees ----------------------------------------------------------------------------------

_LEAVES: dict[str, Callable[[Any, Any], bool]] = {
    "id": lambda post, value: post.pk == value,
    "view_count__gt": lambda post, value: post.view_count > value,
    "view_count__lt": lambda post, value: post.view_count < value,
}


def matches(q: Q, post: Post) -> bool:
    """Evaluate *q* in Python (trees of the depth these tests build)."""
    results = [
        matches(child, post) if isinstance(child, Q) else _LEAVES[child[0]](post, child[1])
        for child in q.children
    ]
    result = all(results) if q.connector == Q.AND else any(results)
    return not result if q.negated else result


def nested(levels: int, width: int = 1) -> Q:
    """*levels* groups inside each other, AND and OR in turn, each negated and holding
    *width* comparisons besides the group below (the shape that costs SQLite most)."""
    q = Q(view_count__lt=25)
    for level in range(1, levels):
        if level % 2:
            q = (
                reduce(operator.and_, [Q(view_count__gt=(level + i) % 10) for i in range(width)])
                & ~q
            )
        else:
            q = reduce(operator.or_, [Q(id=level + 24 * i) for i in range(width)]) | ~q
    return q


async def test_an_or_of_ten_thousand_equalities_runs(blog: Blog) -> None:
    wanted = [post.pk for post in blog.posts[::3]]
    terms = [Q(id=pk) for pk in wanted] + [Q(id=-i) for i in range(1, 10_001 - len(wanted))]
    q = reduce(operator.or_, terms)
    assert len(q.children) == 10_000  # one flat OR
    assert await pks(Post.objects.filter(q)) == sorted(wanted)
    assert await Post.objects.filter(q).count() == len(wanted)
    assert await pks(Post.objects.exclude(q)) == expected(blog.posts, lambda p: p.pk not in wanted)
    assert await pks(Post.objects.filter(reduce(operator.and_, [~t for t in terms]))) == expected(
        blog.posts, lambda p: p.pk not in wanted
    )


async def test_two_thousand_and_one_nots_run(blog: Blog) -> None:
    q = Q(view_count__gt=20)
    for _ in range(2_001):
        q = ~q
    assert await pks(Post.objects.filter(q)) == expected(blog.posts, lambda p: p.view_count <= 20)
    assert await pks(Post.objects.filter(~q)) == expected(blog.posts, lambda p: p.view_count > 20)
    assert await pks(Post.objects.exclude(q)) == expected(blog.posts, lambda p: p.view_count > 20)


async def test_wrappers_nested_thousands_deep_run(blog: Blog) -> None:
    q = Q(view_count__lt=10)
    for _ in range(5_000):
        q = Q(q)
    assert await pks(Post.objects.filter(q)) == expected(blog.posts, lambda p: p.view_count < 10)


@pytest.mark.parametrize(("levels", "width"), [(MAX_CONDITION_DEPTH, 1), (8, 64)])
async def test_nesting_at_the_limit_runs(blog: Blog, levels: int, width: int) -> None:
    q = nested(levels, width)
    assert MAX_CONDITION_DEPTH - 1 <= build_where(Post, q).depth <= MAX_CONDITION_DEPTH
    want = expected(blog.posts, lambda p: matches(q, p))
    assert 0 < len(want) < len(blog.posts)
    assert await pks(Post.objects.filter(q)) == want
    assert await Post.objects.filter(q)[:100].count() == len(want)  # inside a subquery
    assert await pks(Post.objects.annotate(n=Count("comments")).filter(q)) == want
    assert await Post.objects.filter(q).delete() == len(want)
    assert await Post.objects.count() == len(blog.posts) - len(want)


@pytest.mark.parametrize(("levels", "width"), [(MAX_CONDITION_DEPTH + 1, 1), (9, 64), (400, 1)])
async def test_nesting_past_the_limit_is_a_clear_error(
    db: Database, levels: int, width: int
) -> None:
    with capture() as seen, pytest.raises(QueryLimitError, match=f"limit is {MAX_CONDITION_DEPTH}"):
        await Post.objects.filter(nested(levels, width))
    assert len(seen) == 0


# Parameters and __in lists ----------------------------------------------------------------


async def test_in_lists_longer_than_the_parameter_limit(blog: Blog) -> None:
    wanted = [post.pk for post in blog.posts[1::2]]
    many = wanted + list(range(100_000, 140_000))
    assert await pks(Post.objects.filter(id__in=many)) == sorted(wanted)
    assert await pks(Post.objects.exclude(id__in=many)) == expected(
        blog.posts, lambda p: p.pk not in wanted
    )
    counted = Post.objects.annotate(n=Count("comments"))
    counts = {post.pk: post.n for post in await counted}
    assert await pks(counted.filter(n__in=[1, *range(100, 40_100)])) == sorted(
        pk for pk, n in counts.items() if n == 1
    )
    assert await Post.objects.filter(id__in=many).update(view_count=1) == len(wanted)
    assert await Post.objects.filter(id__in=many).delete() == len(wanted)


async def test_in_list_lengths_share_a_few_statements(blog: Blog, db: Database) -> None:
    posts = sorted(post.pk for post in blog.posts)
    sql_cache = db.statements
    sql_cache.clear()
    with capture() as seen:
        for length in range(1, 301):
            found = await pks(Post.objects.filter(id__in=(posts * 13)[:length]))
            assert found == sorted(set((posts * 13)[:length]))
    texts = set(seen.statements)
    # A size class per power of two up to 64 and one above at most; one on PostgreSQL.
    assert len(texts) <= 8
    assert len(texts) == 1 or not db.dialect.supports_array_params
    assert len(sql_cache) <= 8


async def test_in_lists_of_every_kind_of_value(kitchens: list[Kitchen]) -> None:
    base = dt.datetime(2030, 1, 1, tzinfo=UTC)
    extras: dict[str, Callable[[int], Any]] = {
        "label": lambda i: f"none-{i}",
        "small": lambda i: 1_000 + i,
        "big": lambda i: 2**45 + i,
        "ratio": lambda i: math.inf if i == 0 else 1_000.5 + i,
        "price": lambda i: Decimal(f"999.{i:02d}"),
        "flag": lambda i: True,
        "moment": lambda i: base + dt.timedelta(minutes=i),
        "day": lambda i: dt.date(1999, 1, 1) + dt.timedelta(days=i),
        "token": lambda i: uuid.UUID(int=10**9 + i),
    }
    for name, extra in extras.items():
        present = [getattr(k, name) for k in kitchens[1::2] if getattr(k, name) is not None]
        for padding in (0, 40):  # one marker per value, then one parameter for the list
            values = present + [extra(i) for i in range(padding)]
            want = expected(kitchens, lambda k: getattr(k, name) in values)  # noqa: B023
            assert want, name
            got = await pks(Kitchen.objects.filter(**{f"{name}__in": values}))
            assert got == want, (name, padding)


async def test_more_parameters_than_a_statement_takes_is_a_clear_error(
    blog: Blog, db: Database
) -> None:
    limit = db.dialect.max_params
    q = reduce(operator.or_, [Q(view_count=i) for i in range(limit + 1)])
    queries: list[Callable[[], Any]] = [
        lambda: Post.objects.filter(q),
        lambda: Post.objects.filter(q).count(),
        lambda: Post.objects.filter(q).update(view_count=0),
        lambda: Post.objects.filter(q).delete(),
    ]
    with capture() as seen:
        for run in queries:
            with pytest.raises(QueryLimitError, match=f"at most {limit:,}"):
                await run()
    assert len(seen) == 0
    unchanged = expected(blog.posts, lambda p: p.view_count == 0)
    assert await pks(Post.objects.filter(view_count=0)) == unchanged


# Annotation filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookups",
    [
        {"n__isnull": "false"},
        {"n__gt": "1"},
        {"n": "2"},
        {"n__in": [1, "2"]},
        {"n__range": ("0", 3)},
        {"n__lt": 1.5},
        {"n__gte": True},
    ],
)
async def test_count_filters_take_integers(blog: Blog, lookups: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=next(iter(lookups))):
        Post.objects.annotate(n=Count("comments")).filter(**lookups)


async def test_annotation_filters_compare_by_the_result_type(db: Database) -> None:
    seeded = await seed_blog(12)
    users = {user.pk: user for user in seeded.users}
    views: dict[int, list[int]] = {pk: [] for pk in users}
    for post in seeded.posts:
        views[post.author_id].append(post.view_count)
    annotated = User.objects.annotate(
        total=Sum("posts__view_count"),
        mean=Avg("posts__view_count"),
        low=Min("posts__view_count"),
        high=Max("posts__view_count"),
        newest=Max("posts__created_at"),
        n=Count("posts"),
    )
    cases: list[tuple[dict[str, Any], Callable[[list[int]], bool]]] = [
        ({"total__gt": 40}, lambda v: sum(v) > 40),
        ({"mean__gte": 20}, lambda v: bool(v) and sum(v) / len(v) >= 20),
        ({"mean__lt": 20.5}, lambda v: bool(v) and sum(v) / len(v) < 20.5),
        ({"low__lte": 5}, lambda v: bool(v) and min(v) <= 5),
        ({"high__in": [49, 48, 47, 11]}, lambda v: bool(v) and max(v) in (49, 48, 47, 11)),
        ({"n__range": (2, 2)}, lambda v: len(v) == 2),
        ({"n": 1}, lambda v: len(v) == 1),
        ({"total": None}, lambda v: not v),
        ({"total__isnull": False}, lambda v: bool(v)),
    ]
    for lookups, predicate in cases:
        want = sorted(pk for pk, v in views.items() if predicate(v))
        assert await pks(annotated.filter(**lookups)) == want, lookups
    assert await annotated.filter(newest__lt=dt.datetime(2000, 1, 1, tzinfo=UTC)).count() == 0
    newest = await annotated.filter(newest__gt=dt.datetime(2000, 1, 1, tzinfo=UTC)).count()
    assert newest == sum(bool(v) for v in views.values())
    for bad in ({"newest__gt": "2024-01-01"}, {"mean__gt": "1.5"}, {"high__in": ["a"]}):
        with pytest.raises(ValidationError, match=next(iter(bad))):
            annotated.filter(**bad)


async def test_decimal_and_date_aggregates_filter_by_value(db: Database) -> None:
    books = [await Ledger.objects.create(name=f"book {i}") for i in range(4)]
    # Sums SQLite computes exactly in floating point: it keeps decimals as REAL.
    amounts = {0: ["1.25", "2.50"], 1: ["3.50"], 2: ["0.25", "3.00"], 3: []}
    for index, values in amounts.items():
        for offset, amount in enumerate(values):
            await Entry.objects.create(
                ledger=books[index], amount=Decimal(amount), day=dt.date(2024, 1, 1 + offset)
            )
    annotated = Ledger.objects.annotate(
        total=Sum("entries__amount"), mean=Avg("entries__amount"), last=Max("entries__day")
    )
    assert await pks(annotated.filter(total__gt=Decimal("3.30"))) == [books[0].pk, books[1].pk]
    assert await pks(annotated.filter(total=Decimal("3.50"))) == [books[1].pk]
    assert await pks(annotated.filter(total__in=[Decimal("3.75"), 3.25])) == sorted(
        [books[0].pk, books[2].pk]
    )
    assert await pks(annotated.filter(mean__lt=Decimal("1.7"))) == [books[2].pk]
    assert await pks(annotated.filter(last__gte=dt.date(2024, 1, 2))) == sorted(
        [books[0].pk, books[2].pk]
    )
    with pytest.raises(ValidationError, match="last__gte"):
        annotated.filter(last__gte="2024-01-02")


async def test_q_objects_may_name_annotations(db: Database) -> None:
    seeded = await seed_blog(10)
    counted = Post.objects.annotate(n=Count("comments"))
    counts = {post.pk: post.n for post in await counted}
    q = Q(n__gte=3) | Q(view_count__lt=10)
    views = {post.pk: post.view_count for post in seeded.posts}
    assert await pks(counted.filter(q)) == sorted(
        pk for pk, n in counts.items() if n >= 3 or views[pk] < 10
    )
    assert await pks(counted.exclude(q)) == sorted(
        pk for pk, n in counts.items() if not (n >= 3 or views[pk] < 10)
    )


# F() in ordering and comparisons ----------------------------------------------------------


async def test_order_by_f(blog: Blog) -> None:
    by_views = sorted(blog.posts, key=lambda p: (p.view_count, p.pk))
    up = [p.pk for p in await Post.objects.order_by(F("view_count"), "id")]
    assert up == [p.pk for p in by_views]
    up = [p.pk for p in await Post.objects.order_by(F("view_count").asc(), F("id"))]
    assert up == [p.pk for p in by_views]
    down = sorted(blog.posts, key=lambda p: (-p.view_count, p.pk))
    got = [p.pk for p in await Post.objects.order_by(F("view_count").desc(), "id")]
    assert got == [p.pk for p in down]
    counted = Post.objects.annotate(n=Count("comments"))
    ordered = await counted.order_by(F("n").desc(), "id")
    assert [p.n for p in ordered] == sorted((p.n for p in ordered), reverse=True)
    with pytest.raises(TypeError, match=r"F\('name'\)\.asc\(\)"):
        Post.objects.order_by(F("view_count") + 1)  # type: ignore[arg-type]
    with pytest.raises(FieldError):
        Post.objects.order_by(F("nope").desc())


async def test_fields_compared_with_annotations(db: Database) -> None:
    seeded = await seed_blog(12)
    counted = Post.objects.annotate(n=Count("comments"))
    counts = {post.pk: post.n for post in await counted}
    views = {post.pk: post.view_count for post in seeded.posts}
    assert await pks(counted.filter(view_count__lt=F("n") * 10)) == sorted(
        pk for pk in counts if views[pk] < counts[pk] * 10
    )
    assert await pks(counted.exclude(view_count__lt=F("n") * 10)) == sorted(
        pk for pk in counts if not views[pk] < counts[pk] * 10
    )
    # Aggregates without a to-many relation are grouped: the comparison goes to HAVING.
    grouped = Post.objects.annotate(top=Max("view_count"))
    assert await pks(grouped.filter(view_count__gte=F("top"))) == sorted(views)
    assert await pks(grouped.filter(id__lt=F("top"))) == sorted(
        pk for pk in views if pk < views[pk]
    )


async def test_update_and_delete_keep_annotation_filters(db: Database) -> None:
    seeded = await seed_blog(12)
    counted = Post.objects.annotate(n=Count("comments"))
    counts = {post.pk: post.n for post in await counted}
    busy = sorted(pk for pk, n in counts.items() if n >= 2)
    assert 0 < len(busy) < len(seeded.posts)
    assert await counted.filter(n__gte=2).update(view_count=99) == len(busy)
    assert await pks(Post.objects.filter(view_count=99)) == busy
    assert await counted.filter(n__gte=2).delete() == len(busy)
    assert await Post.objects.count() == len(seeded.posts) - len(busy)


# Aliases past 63 bytes --------------------------------------------------------------------


async def test_aliases_stay_distinct_past_sixty_three_bytes(db: Database) -> None:
    root = await LongNamedNode.objects.create(label="root")
    middles = [await LongNamedNode.objects.create(label=f"m{i}", parent=root) for i in range(2)]
    leaves = [
        await LongNamedNode.objects.create(label=f"leaf{i}", parent=middles[i % 2])
        for i in range(3)
    ]
    deep = LongNamedNode.objects.filter(parent__parent__label="root")
    assert await pks(deep) == sorted(leaf.pk for leaf in leaves)
    related = await LongNamedNode.objects.select_related("parent__parent").filter(
        parent__parent__isnull=False
    )
    assert {node.parent.parent.label for node in related} == {"root"}
    long_a, long_b = "c" * 70 + "_children", "c" * 70 + "_grandchildren"
    counted = LongNamedNode.objects.annotate(
        **{long_a: Count("children"), long_b: Count("children__children")}
    ).order_by(f"-{long_b}", "id")
    rows = [(node.label, getattr(node, long_a), getattr(node, long_b)) for node in await counted]
    assert rows[0] == ("root", 2, 3)
    assert sorted(rows[1:]) == [
        ("leaf0", 0, 0),
        ("leaf1", 0, 0),
        ("leaf2", 0, 0),
        ("m0", 2, 0),
        ("m1", 1, 0),
    ]
    assert await pks(
        LongNamedNode.objects.annotate(**{long_a: Count("children")}).filter(**{f"{long_a}__gt": 1})
    ) == sorted([root.pk, middles[0].pk])


# Relation depth ---------------------------------------------------------------------------


async def test_relation_paths_are_capped_by_a_setting(db: Database) -> None:
    top = await Category.objects.create(name="c0")
    chain = [top]
    for i in range(1, 13):
        chain.append(await Category.objects.create(name=f"c{i}", parent=chain[-1]))
    eleven = "parent__" * 11 + "name"
    for make in (
        lambda: Category.objects.filter(**{eleven: "c0"}),
        lambda: Category.objects.values(eleven),
        lambda: Category.objects.order_by(eleven),
        lambda: Category.objects.select_related("__".join(["parent"] * 11)),
    ):
        with pytest.raises(FieldError, match="MAX_RELATION_DEPTH allows 10"):
            make()
    with pytest.raises(FieldError, match="MAX_RELATION_DEPTH allows 10"):
        await Category.objects.filter(name=F(eleven))
    ten = "parent__" * 10 + "name"
    assert await pks(Category.objects.filter(**{ten: "c0"})) == [chain[10].pk]
    aksara.configure(MAX_RELATION_DEPTH=12)
    assert await pks(Category.objects.filter(**{eleven: "c0"})) == [chain[11].pk]
    # An ordering path checked once is remembered, and checked again when the cap drops.
    assert await pks(Category.objects.filter(pk=chain[12].pk).order_by(eleven)) == [chain[12].pk]
    aksara.configure(MAX_RELATION_DEPTH=2)
    with pytest.raises(FieldError, match="follows 3 relations; MAX_RELATION_DEPTH allows 2"):
        Comment.objects.filter(post__author__posts__title="x")
    with pytest.raises(FieldError, match="follows 11 relations; MAX_RELATION_DEPTH allows 2"):
        Category.objects.order_by(eleven)


@pytest.mark.parametrize("value", [0, -1, "3", 2.5, True, None])
def test_max_relation_depth_is_validated(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="MAX_RELATION_DEPTH must be an integer >= 1"):
        aksara.configure(MAX_RELATION_DEPTH=value)
