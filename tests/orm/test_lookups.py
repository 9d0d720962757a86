"""Field lookups, Q objects and F expressions in filters, checked against plain Python."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from aksara import F, Q
from aksara.orm import QuerySet
from examples.blog.models import Post, User
from tests.models import Category, Kitchen
from tests.orm.conftest import Blog

UTC = dt.UTC


async def pks(queryset: QuerySet[Any]) -> list[int]:
    return sorted(obj.pk for obj in await queryset)


def expected(objects: list[Any], predicate: Callable[[Any], bool]) -> list[int]:
    return sorted(obj.pk for obj in objects if predicate(obj))


# Text lookups ----------------------------------------------------------------------------

TEXT_LOOKUPS: list[tuple[str, str, Callable[[str, str], bool]]] = [
    ("exact", "Async Python", operator.eq),
    ("exact", "async python", operator.eq),
    ("iexact", "async python", lambda v, x: v.lower() == x.lower()),
    ("iexact", "FAST QUERIES", lambda v, x: v.lower() == x.lower()),
    ("contains", "sync", lambda v, x: x in v),
    ("contains", "SYNC", lambda v, x: x in v),
    ("icontains", "sync", lambda v, x: x.lower() in v.lower()),
    ("icontains", "AGAIN", lambda v, x: x.lower() in v.lower()),
    ("startswith", "Async", lambda v, x: v.startswith(x)),
    ("startswith", "async", lambda v, x: v.startswith(x)),
    ("istartswith", "ASYNC", lambda v, x: v.lower().startswith(x.lower())),
    ("endswith", "(again)", lambda v, x: v.endswith(x)),
    ("endswith", "Python", lambda v, x: v.endswith(x)),
    ("iendswith", "PYTHON", lambda v, x: v.lower().endswith(x.lower())),
    ("gt", "Why", operator.gt),
    ("gte", "Why PostgreSQL", operator.ge),
    ("lt", "B", operator.lt),
    ("lte", "ASYNC ALL THE THINGS", operator.le),
]


@pytest.mark.parametrize(("lookup", "value", "check"), TEXT_LOOKUPS)
async def test_text_lookup_matches_python(
    blog: Blog, lookup: str, value: str, check: Callable[[str, str], bool]
) -> None:
    want = expected(blog.posts, lambda p: check(p.title, value))
    assert want or (lookup, value) == ("exact", "async python")
    assert len(want) < len(blog.posts)
    found = await pks(Post.objects.filter(**{f"title__{lookup}": value}))
    assert found == want


@pytest.mark.parametrize(
    ("lookup", "op"),
    [("gt", operator.gt), ("gte", operator.ge), ("lt", operator.lt), ("lte", operator.le)],
)
@pytest.mark.parametrize("value", ["post-07", "post-1", "post-23", "a", "z"])
async def test_string_ordering_comparisons(blog: Blog, lookup: str, op: Any, value: str) -> None:
    found = await pks(Post.objects.filter(**{f"slug__{lookup}": value}))
    assert found == expected(blog.posts, lambda p: op(p.slug, value))


@pytest.mark.parametrize("pattern", ["100%", "%", "_", "snake_case", "e_c", "0%"])
async def test_like_wildcards_in_values_are_literal(blog: Blog, pattern: str) -> None:
    for lookup, check in [
        ("contains", lambda v: pattern in v),
        ("icontains", lambda v: pattern.lower() in v.lower()),
        ("startswith", lambda v: v.startswith(pattern)),
        ("istartswith", lambda v: v.lower().startswith(pattern.lower())),
        ("endswith", lambda v: v.endswith(pattern)),
    ]:
        found = await pks(Post.objects.filter(**{f"title__{lookup}": pattern}))
        assert found == expected(blog.posts, lambda p, c=check: c(p.title)), lookup


async def test_backslash_in_pattern_is_literal(db: object) -> None:
    await Kitchen.objects.create(label="a\\b", notes="C:\\temp\\x")
    await Kitchen.objects.create(label="ab", notes="C:tempx")
    found = await Kitchen.objects.filter(notes__contains="\\temp\\").values_list("label", flat=True)
    assert found == ["a\\b"]
    found = await Kitchen.objects.filter(label__iendswith="\\B").values_list("label", flat=True)
    assert found == ["a\\b"]


# Numeric, date and other comparisons ----------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "op"),
    [
        ("exact", operator.eq),
        ("gt", operator.gt),
        ("gte", operator.ge),
        ("lt", operator.lt),
        ("lte", operator.le),
    ],
)
@pytest.mark.parametrize("value", [0, 17, 25, 49, 100])
async def test_integer_comparisons(blog: Blog, lookup: str, op: Any, value: int) -> None:
    found = await pks(Post.objects.filter(**{f"view_count__{lookup}": value}))
    assert found == expected(blog.posts, lambda p: op(p.view_count, value))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("price", Decimal("12.49")),
        ("price", Decimal("18")),
        ("big", -(2**41)),
        ("big", 0),
        ("ratio", 1.25),
        ("small", 0),
        ("moment", dt.datetime(2024, 3, 5, 16, 0, 0, 123456, tzinfo=UTC)),
        ("moment", dt.datetime(2024, 3, 6, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=10)))),
        ("day", dt.date(2024, 2, 20)),
        ("label", "row-05"),
    ],
)
async def test_comparisons_on_every_kind_skip_nulls(
    kitchens: list[Kitchen], name: str, value: Any
) -> None:
    for lookup, op in [
        ("gt", operator.gt),
        ("gte", operator.ge),
        ("lt", operator.lt),
        ("lte", operator.le),
        ("exact", operator.eq),
    ]:
        found = await pks(Kitchen.objects.filter(**{f"{name}__{lookup}": value}))
        want = expected(
            kitchens, lambda k, o=op: getattr(k, name) is not None and o(getattr(k, name), value)
        )
        assert found == want, (name, lookup)


async def test_naive_datetime_filter_value_is_taken_as_utc(kitchens: list[Kitchen]) -> None:
    moment = kitchens[3].moment
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    assert await pks(Kitchen.objects.filter(moment=naive)) == [kitchens[3].pk]
    other_zone = moment.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    assert await pks(Kitchen.objects.filter(moment=other_zone)) == [kitchens[3].pk]


async def test_uuid_lookups_accept_uuid_and_string(kitchens: list[Kitchen]) -> None:
    token = kitchens[2].token
    assert token is not None
    assert await pks(Kitchen.objects.filter(token=token)) == [kitchens[2].pk]
    assert await pks(Kitchen.objects.filter(token=str(token))) == [kitchens[2].pk]
    tokens = [kitchens[2].token, kitchens[3].token]
    assert await pks(Kitchen.objects.filter(token__in=tokens)) == sorted(
        [kitchens[2].pk, kitchens[3].pk]
    )


async def test_boolean_filter(kitchens: list[Kitchen]) -> None:
    assert await pks(Kitchen.objects.filter(flag=True)) == expected(kitchens, lambda k: k.flag)
    assert await pks(Kitchen.objects.filter(flag=False)) == expected(kitchens, lambda k: not k.flag)


# in / range / isnull ---------------------------------------------------------------------


@pytest.mark.parametrize("values", [[0], [0, 11, 37], list(range(0, 50, 3)), [999]])
async def test_in(blog: Blog, values: list[int]) -> None:
    found = await pks(Post.objects.filter(view_count__in=values))
    assert found == expected(blog.posts, lambda p: p.view_count in values)


async def test_in_with_strings_and_tuples_and_generators(blog: Blog) -> None:
    titles = ("Async Python", "Fast Queries", "nope")
    assert await pks(Post.objects.filter(title__in=titles)) == expected(
        blog.posts, lambda p: p.title in titles
    )
    slugs = (f"post-{i:02d}" for i in range(0, 24, 5))
    assert await pks(Post.objects.filter(slug__in=slugs)) == expected(
        blog.posts, lambda p: int(p.slug[5:]) % 5 == 0
    )


async def test_in_empty_list_matches_nothing_and_exclude_matches_all(blog: Blog) -> None:
    assert await Post.objects.filter(view_count__in=[]) == []
    assert await Post.objects.filter(view_count__in=[]).count() == 0
    assert await pks(Post.objects.exclude(view_count__in=[])) == sorted(p.pk for p in blog.posts)


async def test_in_with_model_instances_on_foreign_key(blog: Blog) -> None:
    chosen = blog.users[:2]
    found = await pks(Post.objects.filter(author__in=chosen))
    assert found == expected(blog.posts, lambda p: p.author_id in {u.pk for u in chosen})


async def test_in_list_of_many_values(blog: Blog) -> None:
    wanted = [p.pk for p in blog.posts[::2]] + list(range(10_000, 12_000))
    assert await pks(Post.objects.filter(id__in=wanted)) == sorted(p.pk for p in blog.posts[::2])


@pytest.mark.parametrize(("low", "high"), [(10, 30), (0, 0), (30, 10), (-5, 100)])
async def test_range_is_inclusive(blog: Blog, low: int, high: int) -> None:
    found = await pks(Post.objects.filter(view_count__range=(low, high)))
    assert found == expected(blog.posts, lambda p: low <= p.view_count <= high)


async def test_range_on_dates_and_datetimes(kitchens: list[Kitchen]) -> None:
    low, high = dt.date(2024, 2, 1), dt.date(2024, 3, 11)
    assert await pks(Kitchen.objects.filter(day__range=[low, high])) == expected(
        kitchens, lambda k: k.day is not None and low <= k.day <= high
    )
    start = dt.datetime(2024, 3, 4, tzinfo=UTC)
    end = kitchens[8].moment
    assert await pks(Kitchen.objects.filter(moment__range=(start, end))) == expected(
        kitchens, lambda k: k.moment is not None and start <= k.moment <= end
    )


@pytest.mark.parametrize(
    "name", ["notes", "big", "ratio", "price", "moment", "day", "token", "data"]
)
async def test_isnull_true_then_false(kitchens: list[Kitchen], name: str) -> None:
    nulls = expected(kitchens, lambda k: getattr(k, name) is None)
    not_nulls = expected(kitchens, lambda k: getattr(k, name) is not None)
    assert nulls and not_nulls
    assert await pks(Kitchen.objects.filter(**{f"{name}__isnull": True})) == nulls
    assert await pks(Kitchen.objects.filter(**{f"{name}__isnull": False})) == not_nulls
    assert await pks(Kitchen.objects.filter(**{name: None})) == nulls
    assert await Kitchen.objects.filter(**{f"{name}__isnull": False}).count() == len(not_nulls)


async def test_isnull_false_first_then_true(kitchens: list[Kitchen]) -> None:
    # Same lookup, opposite value, the other way round: each must give its own rows.
    not_nulls = expected(kitchens, lambda k: k.notes is not None)
    nulls = expected(kitchens, lambda k: k.notes is None)
    assert (
        await pks(Kitchen.objects.filter(label__startswith="row", notes__isnull=False)) == not_nulls
    )
    assert await pks(Kitchen.objects.filter(label__startswith="row", notes__isnull=True)) == nulls
    assert await Kitchen.objects.filter(notes__isnull=True).exists() is True
    assert await Kitchen.objects.exclude(notes__isnull=False).count() == len(nulls)


# Across foreign keys ---------------------------------------------------------------------


async def test_lookup_across_foreign_key(blog: Blog) -> None:
    found = await pks(Post.objects.filter(author__name__icontains="ADA"))
    assert found == expected(blog.posts, lambda p: "ada" in blog.author_of(p).name.lower())
    assert found
    found = await pks(Post.objects.filter(author__email="user2@example.com", is_published=True))
    assert found == expected(
        blog.posts, lambda p: blog.author_of(p).email == "user2@example.com" and p.is_published
    )


async def test_foreign_key_by_instance_by_id_and_by_pk(blog: Blog) -> None:
    user = blog.users[1]
    want = expected(blog.posts, lambda p: p.author_id == user.pk)
    assert want
    assert await pks(Post.objects.filter(author=user)) == want
    assert await pks(Post.objects.filter(author=user.pk)) == want
    assert await pks(Post.objects.filter(author_id=user.pk)) == want
    assert await pks(Post.objects.filter(author__id=user.pk)) == want
    assert await pks(Post.objects.filter(author__pk=user.pk)) == want


async def test_two_lookups_on_the_same_relation(blog: Blog) -> None:
    found = await pks(Post.objects.filter(author__is_active=True, author__name__startswith="A"))
    assert found == expected(
        blog.posts, lambda p: blog.author_of(p).is_active and blog.author_of(p).name.startswith("A")
    )


async def test_self_referencing_paths_and_nullable_joins(db: object) -> None:
    root = await Category.objects.create(name="root")
    other = await Category.objects.create(name="other")
    child = await Category.objects.create(name="child", parent=root)
    grandchild = await Category.objects.create(name="grandchild", parent=child)
    orphan = await Category.objects.create(name="orphan", parent=other)
    everything = [root, other, child, grandchild, orphan]
    parent_name = {c.pk: c.name for c in everything}

    def parent_of(c: Category) -> str | None:
        return parent_name.get(c.parent_id) if c.parent_id else None

    assert await pks(Category.objects.filter(parent__name="root")) == [child.pk]
    assert await pks(Category.objects.filter(parent__parent__name="root")) == [grandchild.pk]
    # exclude() across a nullable join keeps the rows without a parent, as in Django.
    assert await pks(Category.objects.exclude(parent__name="root")) == expected(
        everything, lambda c: parent_of(c) != "root"
    )
    assert await pks(Category.objects.filter(parent__isnull=True)) == sorted([root.pk, other.pk])
    assert await pks(Category.objects.filter(parent=None)) == sorted([root.pk, other.pk])
    assert await pks(Category.objects.filter(parent__name__isnull=True)) == sorted(
        [root.pk, other.pk]
    )
    assert await pks(Category.objects.filter(parent__isnull=False)) == sorted(
        [child.pk, grandchild.pk, orphan.pk]
    )


# Q objects -----------------------------------------------------------------------------------


async def test_q_or_and_not(blog: Blog) -> None:
    q = Q(view_count__lt=10) | Q(title__icontains="python")
    assert await pks(Post.objects.filter(q)) == expected(
        blog.posts, lambda p: p.view_count < 10 or "python" in p.title.lower()
    )
    q = Q(is_published=True) & ~Q(view_count__gte=20)
    assert await pks(Post.objects.filter(q)) == expected(
        blog.posts, lambda p: p.is_published and not p.view_count >= 20
    )
    q = ~(Q(is_published=True) | Q(author__name__startswith="G"))
    assert await pks(Post.objects.filter(q)) == expected(
        blog.posts, lambda p: not (p.is_published or blog.author_of(p).name.startswith("G"))
    )


async def test_q_mixed_with_keywords_and_nested(blog: Blog) -> None:
    q = Q(Q(view_count__gt=5) | Q(slug="post-00"), title__startswith="A")
    found = await pks(Post.objects.filter(q, is_published=False))
    assert found == expected(
        blog.posts,
        lambda p: (
            (p.view_count > 5 or p.slug == "post-00")
            and p.title.startswith("A")
            and not p.is_published
        ),
    )


async def test_q_double_negation(blog: Blog) -> None:
    found = await pks(Post.objects.filter(~~Q(view_count__gt=20)))
    assert found == expected(blog.posts, lambda p: p.view_count > 20)
    found = await pks(Post.objects.exclude(~Q(view_count__gt=20)))
    assert found == expected(blog.posts, lambda p: p.view_count > 20)


async def test_negation_keeps_null_rows_like_django(kitchens: list[Kitchen]) -> None:
    # ~Q / exclude() of a lookup on a nullable column keeps the NULL rows.
    value = Decimal("12")
    want = expected(kitchens, lambda k: not (k.price is not None and k.price > value))
    assert await pks(Kitchen.objects.exclude(price__gt=value)) == want
    assert await pks(Kitchen.objects.filter(~Q(price__gt=value))) == want
    want = expected(kitchens, lambda k: k.notes != "note 2 lower")
    assert await pks(Kitchen.objects.exclude(notes="note 2 lower")) == want
    want = expected(kitchens, lambda k: not (k.notes is not None and "Mixed" in k.notes) and k.flag)
    assert await pks(Kitchen.objects.filter(~Q(notes__contains="Mixed"), flag=True)) == want


async def test_exclude_with_several_lookups_negates_their_conjunction(blog: Blog) -> None:
    found = await pks(Post.objects.exclude(is_published=True, view_count__gt=20))
    assert found == expected(blog.posts, lambda p: not (p.is_published and p.view_count > 20))
    found = await pks(Post.objects.exclude(is_published=True).exclude(view_count__gt=20))
    assert found == expected(blog.posts, lambda p: not p.is_published and not p.view_count > 20)


async def test_filter_chains_and(blog: Blog) -> None:
    qs = (
        Post.objects.filter(is_published=True)
        .filter(view_count__gte=10)
        .exclude(title__contains="Async")
    )
    assert await pks(qs) == expected(
        blog.posts, lambda p: p.is_published and p.view_count >= 10 and "Async" not in p.title
    )


# F expressions in filters ----------------------------------------------------------------------


async def test_f_compares_two_columns(kitchens: list[Kitchen]) -> None:
    found = await pks(Kitchen.objects.filter(small__lt=F("id")))
    assert found == expected(kitchens, lambda k: k.small < k.pk)
    found = await pks(Kitchen.objects.filter(small__gte=F("id") - 8))
    assert found == expected(kitchens, lambda k: k.small >= k.pk - 8)


async def test_f_arithmetic_with_values(blog: Blog) -> None:
    found = await pks(Post.objects.filter(view_count__gt=F("id") * 2 + 3))
    assert found == expected(blog.posts, lambda p: p.view_count > p.pk * 2 + 3)
    found = await pks(Post.objects.exclude(view_count__lte=F("author_id") * 5))
    assert found == expected(blog.posts, lambda p: not p.view_count <= p.author_id * 5)


async def test_f_across_foreign_key_in_filter(blog: Blog) -> None:
    found = await pks(Post.objects.filter(author_id=F("author__id")))
    assert found == sorted(p.pk for p in blog.posts)
    found = await pks(Post.objects.filter(view_count__gt=F("author__id")))
    assert found == expected(blog.posts, lambda p: p.view_count > p.author_id)


async def test_users_lookups(blog: Blog) -> None:
    found = await pks(User.objects.filter(Q(name__istartswith="a") | Q(is_active=False)))
    assert found == expected(
        blog.users, lambda u: u.name.lower().startswith("a") or not u.is_active
    )
