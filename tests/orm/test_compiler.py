"""The SQL compiler: text per dialect, parameter order, and the shape cache.

Everything but the last tests runs without a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from aksara import Avg, Count, F, Q
from aksara.db import Database
from aksara.db.dialects import Dialect, PostgresDialect, SQLiteDialect
from aksara.db.statements import StatementCache
from aksara.orm import QuerySet
from aksara.orm.compiler import (
    compile_count,
    compile_delete,
    compile_select,
    compile_update,
    select_params,
    where_params,
)
from aksara.orm.keyget import compiled_select
from examples.blog.models import Post, User
from tests.models import Category, Kitchen, Label
from tests.orm.conftest import capture

PG = PostgresDialect()
LITE = SQLiteDialect()
POST_COLUMNS = (
    '"posts"."id", "posts"."title", "posts"."slug", "posts"."content", "posts"."metadata", '
    '"posts"."author_id", "posts"."is_published", "posts"."view_count", "posts"."created_at"'
)


def sql(qs: QuerySet[Any], dialect: Dialect) -> str:
    return compile_select(qs.query, dialect).sql


def test_plain_select() -> None:
    assert sql(Post.objects.all(), PG) == f'SELECT {POST_COLUMNS} FROM "posts"'
    assert sql(Post.objects.all(), LITE) == f'SELECT {POST_COLUMNS} FROM "posts"'


def test_placeholders_are_numbered_on_postgresql_and_question_marks_on_sqlite() -> None:
    qs = Post.objects.filter(title="a", view_count__gt=3).order_by("-id").limit(5).offset(10)
    assert sql(qs, PG) == (
        f'SELECT {POST_COLUMNS} FROM "posts" WHERE "posts"."title" = $1 AND "posts"."view_count" > $2 '
        'ORDER BY "posts"."id" DESC LIMIT $3 OFFSET $4'
    )
    assert sql(qs, LITE) == (
        f'SELECT {POST_COLUMNS} FROM "posts" WHERE "posts"."title" = ? AND "posts"."view_count" > ? '
        'ORDER BY "posts"."id" DESC LIMIT ? OFFSET ?'
    )
    assert select_params(qs.query, PG) == select_params(qs.query, LITE) == ["a", 3, 5, 10]


def test_case_insensitive_lookups() -> None:
    qs = Post.objects.filter(title__icontains="Async")
    assert sql(qs, PG).endswith('WHERE "posts"."title" ILIKE $1')
    assert sql(qs, LITE).endswith('WHERE LOWER("posts"."title") LIKE LOWER(?) ESCAPE \'\\\'')
    assert select_params(qs.query, PG) == ["%Async%"]
    qs = Post.objects.filter(title__iexact="Async")
    assert sql(qs, PG).endswith('WHERE LOWER("posts"."title") = LOWER($1)')
    assert sql(qs, LITE).endswith('WHERE LOWER("posts"."title") = LOWER(?)')


def test_case_sensitive_pattern_lookups_use_like() -> None:
    for lookup, param in [
        ("contains", "%a\\%b%"),
        ("startswith", "a\\%b%"),
        ("endswith", "%a\\%b"),
    ]:
        qs = Post.objects.filter(**{f"title__{lookup}": "a%b"})
        assert sql(qs, PG).endswith('WHERE "posts"."title" LIKE $1 ESCAPE \'\\\'')
        assert sql(qs, LITE).endswith('WHERE "posts"."title" LIKE ? ESCAPE \'\\\'')
        assert select_params(qs.query, PG) == select_params(qs.query, LITE) == [param]
    qs = Post.objects.filter(title__contains="snake_case")
    assert select_params(qs.query, LITE) == ["%snake\\_case%"]


def test_in_lookup() -> None:
    qs = Post.objects.filter(id__in=[3, 1, 2])
    assert sql(qs, PG).endswith('WHERE "posts"."id" = ANY($1)')
    assert select_params(qs.query, PG) == [[3, 1, 2]]
    # Padded to the size class (4) by repeating the last value: lengths 3 and 4 share SQL.
    assert sql(qs, LITE).endswith('WHERE "posts"."id" IN (?, ?, ?, ?)')
    assert select_params(qs.query, LITE) == [3, 1, 2, 2]
    empty = Post.objects.filter(id__in=[])
    assert sql(empty, PG).endswith("WHERE 1 = 0") and sql(empty, LITE).endswith("WHERE 1 = 0")
    assert select_params(empty.query, PG) == select_params(empty.query, LITE) == []


def test_range_and_isnull() -> None:
    qs = Post.objects.filter(view_count__range=(1, 9))
    assert sql(qs, PG).endswith('WHERE "posts"."view_count" BETWEEN $1 AND $2')
    assert select_params(qs.query, PG) == [1, 9]
    assert sql(Kitchen.objects.filter(notes__isnull=True), PG).endswith(
        'WHERE "kitchens"."notes" IS NULL'
    )
    assert sql(Kitchen.objects.filter(notes__isnull=False), PG).endswith(
        'WHERE "kitchens"."notes" IS NOT NULL'
    )
    assert sql(Kitchen.objects.filter(notes=None), LITE).endswith(
        'WHERE "kitchens"."notes" IS NULL'
    )


def test_foreign_key_path_joins_once() -> None:
    qs = Post.objects.filter(author__name="Ada", author__is_active=True).order_by("author__email")
    text = sql(qs, PG)
    assert text == (
        f'SELECT {POST_COLUMNS} FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."author_id" '
        'WHERE "users"."name" = $1 AND "users"."is_active" = $2 ORDER BY "users"."email" ASC'
    )
    assert text.count("JOIN") == 1
    assert sql(qs, LITE) == re.sub(r"\$\d+", "?", text)


def test_key_column_lookups_need_no_join() -> None:
    for qs in (
        Post.objects.filter(author__id=1),
        Post.objects.filter(author=1),
        Post.objects.filter(author_id=1),
    ):
        assert sql(qs, PG) == f'SELECT {POST_COLUMNS} FROM "posts" WHERE "posts"."author_id" = $1'


def test_nullable_foreign_key_joins_outer_with_aliases() -> None:
    text = sql(Category.objects.filter(parent__parent__name="root"), PG)
    assert (
        'FROM "categories" LEFT OUTER JOIN "categories" AS "categories2" ON "categories2"."id" = '
        '"categories"."parent_id" LEFT OUTER JOIN "categories" AS "categories3" ON '
        '"categories3"."id" = "categories2"."parent_id" WHERE "categories3"."name" = $1'
    ) in text


def test_q_objects_and_negation() -> None:
    qs = Post.objects.filter(Q(view_count__gt=1) | ~Q(title="x"))
    assert sql(qs, PG).endswith('WHERE ("posts"."view_count" > $1 OR NOT ("posts"."title" = $2))')
    qs = Kitchen.objects.exclude(notes="x")
    assert sql(qs, PG).endswith(
        'WHERE NOT (("kitchens"."notes" = $1 AND "kitchens"."notes" IS NOT NULL))'
    )


def test_f_expressions() -> None:
    qs = Post.objects.filter(view_count__gt=F("id") * 2 + 1)
    assert sql(qs, PG).endswith('WHERE "posts"."view_count" > (("posts"."id" * $1) + $2)')
    assert select_params(qs.query, PG) == [2, 1]
    statement = compile_update(
        Post.objects.filter(is_published=True).query, PG, {"view_count": F("view_count") + 1}
    )
    update, plans = statement.sql, statement.plans
    assert (
        update == 'UPDATE "posts" SET "view_count" = ("view_count" + $1) WHERE "is_published" = $2'
    )
    assert [[index for index, _adapt in plan or ()] for plan in plans] == [[0]]


def test_only_defer_values_distinct() -> None:
    assert (
        sql(Post.objects.only("title", "slug"), PG)
        == 'SELECT "posts"."id", "posts"."title", "posts"."slug" FROM "posts"'
    )
    deferred = sql(Post.objects.defer("content", "metadata"), PG)
    assert (
        '"content"' not in deferred
        and '"metadata"' not in deferred
        and '"posts"."view_count"' in deferred
    )
    assert sql(Post.objects.values("author__name").distinct(), LITE) == (
        'SELECT DISTINCT "users"."name" FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."author_id"'
    )


def test_meta_ordering_and_custom_table_name() -> None:
    assert sql(Label.objects.all(), PG).endswith(
        'FROM "custom_labels" ORDER BY "custom_labels"."name" ASC'
    )
    assert "ORDER BY" not in sql(Label.objects.order_by(), PG)


def test_offset_without_limit() -> None:
    assert sql(Post.objects.offset(3), PG).endswith('FROM "posts" OFFSET $1')
    assert sql(Post.objects.offset(3), LITE).endswith('FROM "posts" LIMIT -1 OFFSET ?')


def test_count_delete_and_update_statements() -> None:
    assert compile_count(Post.objects.filter(is_published=True).query, PG).sql == (
        'SELECT COUNT(*) FROM "posts" WHERE "posts"."is_published" = $1'
    )
    assert compile_delete(Post.objects.filter(author__name="x").query, LITE).sql == (
        'DELETE FROM "posts" WHERE "id" IN (SELECT "posts"."id" FROM "posts" INNER JOIN "users" '
        'ON "users"."id" = "posts"."author_id" WHERE "users"."name" = ?)'
    )
    sliced_count = compile_count(Post.objects.order_by("id")[2:5].query, PG).sql
    assert (
        sliced_count.startswith("SELECT COUNT(*) FROM (SELECT ")
        and "LIMIT $1 OFFSET $2" in sliced_count
    )


QUERIES: list[Callable[[], QuerySet[Any]]] = [
    lambda: Post.objects.all(),
    lambda: Post.objects.filter(title="a", view_count__gte=2).order_by("-created_at")[3:9],
    lambda: Post.objects.filter(
        Q(title__icontains="a") | Q(author__name__istartswith="b"), slug__endswith="c"
    ),
    lambda: Post.objects.exclude(author__email__in=["a", "b", "c"]).filter(
        view_count__range=(1, 2)
    ),
    lambda: Post.objects.filter(view_count__lt=F("author__id") + 3).values("title", "author__name"),
    lambda: Kitchen.objects.filter(~Q(notes__isnull=True), price__lte=5),
    lambda: Category.objects.exclude(parent__parent__name="x").order_by("parent__name").offset(2),
    lambda: User.objects.filter(id__in=[1, 2, 3, 4]).only("name").distinct(),
]


@pytest.mark.parametrize("make", QUERIES)
def test_placeholders_match_parameters(make: Callable[[], QuerySet[Any]]) -> None:
    qs = make()
    pg_sql, lite_sql = sql(qs, PG), sql(qs, LITE)
    pg_params, lite_params = select_params(qs.query, PG), select_params(qs.query, LITE)
    numbers = [int(n) for n in re.findall(r"\$(\d+)", pg_sql)]
    assert numbers == list(range(1, len(pg_params) + 1))
    assert lite_sql.count("?") == len(lite_params)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Post.objects.filter(title="a", view_count__gte=2).order_by("-created_at")[3:9],
        lambda: Post.objects.exclude(author__name="x").filter(Q(view_count=1) | Q(slug="s")),
        lambda: Category.objects.filter(parent__name="x").order_by("-name").limit(1),
    ],
)
def test_dialects_differ_only_in_placeholders(make: Callable[[], QuerySet[Any]]) -> None:
    qs = make()
    assert re.sub(r"\$\d+", "?", sql(qs, PG)) == sql(qs, LITE)


# The shape cache ---------------------------------------------------------------------------------


def test_queries_differing_in_shape_get_their_own_statement() -> None:
    # Every statement the cache hands out must be the one compile_select would build.
    pairs = [
        (Kitchen.objects.filter(notes__isnull=True), Kitchen.objects.filter(notes__isnull=False)),
        (Kitchen.objects.filter(notes=None), Kitchen.objects.filter(notes__isnull=False)),
        (Category.objects.filter(parent__isnull=False), Category.objects.filter(parent=None)),
        (Post.objects.filter(id__in=[1]), Post.objects.filter(id__in=[1, 2])),
        (Post.objects.filter(view_count=1), Post.objects.filter(view_count=F("id"))),
        (Post.objects.filter(view_count=1), Post.objects.exclude(view_count=1)),
        (Post.objects.order_by("id"), Post.objects.order_by("-id")),
        (Post.objects.limit(1), Post.objects.offset(1)),
    ]
    for dialect in (PG, LITE):
        cache = StatementCache()  # a database's cache serves one dialect
        for first, second in pairs:
            for qs in (first, second, first):
                cached = compiled_select(qs.query, cache, dialect).sql
                assert cached == compile_select(qs.query, dialect).sql


async def test_repeated_shape_hits_the_cache_and_binds_new_values(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    posts = await Post.objects.bulk_create(
        [Post(title=f"t{i}", slug=f"s{i}", author=user, view_count=i) for i in range(20)]
    )
    await Post.objects.filter(view_count__gt=0, title__startswith="t")  # compile once
    sql_cache = db.statements
    hits, size = sql_cache.hits, len(sql_cache)
    with capture() as seen:
        above_15 = await Post.objects.filter(view_count__gt=15, title__startswith="t")
        above_3 = await Post.objects.filter(view_count__gt=3, title__startswith="t1")
    assert sql_cache.hits == hits + 2
    assert len(sql_cache) == size
    assert seen.statements[0] == seen.statements[1]
    assert sorted(p.pk for p in above_15) == [p.pk for p in posts if p.view_count > 15]
    assert sorted(p.pk for p in above_3) == [
        p.pk for p in posts if p.view_count > 3 and p.title.startswith("t1")
    ]


async def test_cache_serves_counts_aggregates_and_updates(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    await Post.objects.bulk_create(
        [Post(title=f"t{i}", slug=f"s{i}", author=user, view_count=i) for i in range(10)]
    )
    for low in (0, 5, 8):  # first pass fills the cache
        await Post.objects.filter(view_count__gte=low).count()
        await Post.objects.filter(view_count__gte=low).aggregate(n=Count("id"), a=Avg("view_count"))
    sql_cache = db.statements
    size = len(sql_cache)
    for low in (2, 7):
        hits = sql_cache.hits
        assert await Post.objects.filter(view_count__gte=low).count() == 10 - low
        result = await Post.objects.filter(view_count__gte=low).aggregate(
            n=Count("id"), a=Avg("view_count")
        )
        assert result == {"n": 10 - low, "a": pytest.approx(sum(range(low, 10)) / (10 - low))}
        assert sql_cache.hits == hits + 2
    assert len(sql_cache) == size
    assert await Post.objects.filter(view_count__lt=3).update(view_count=F("view_count") + 100) == 3
    assert await Post.objects.filter(view_count__lt=5).update(view_count=F("view_count") + 100) == 2
    assert sorted(await Post.objects.values_list("view_count", flat=True)) == [
        5,
        6,
        7,
        8,
        9,
        100,
        101,
        102,
        103,
        104,
    ]


def test_where_params_order_follows_the_sql() -> None:
    qs = Post.objects.filter(Q(title="a") | Q(slug="b"), view_count__in=[1, 2]).exclude(
        author__name="c"
    )
    assert where_params(qs.query, LITE) == ["a", "b", 1, 2, "c"]
    assert where_params(qs.query, PG) == ["a", "b", [1, 2], "c"]


async def test_values_modes_of_one_shape_do_not_share_a_compiled_builder(db: object) -> None:
    """values(), values_list() and values_list(flat=True) of the same columns are one SQL
    shape but three result shapes; the cache must keep them apart."""
    from examples.blog.models import User

    await User.objects.create(name="Ada", email="ada@example.com")
    tuples = await User.objects.order_by("id").values_list("id")
    flat = await User.objects.order_by("id").values_list("id", flat=True)
    dicts = await User.objects.order_by("id").values("id")
    assert isinstance(tuples[0], tuple)
    assert isinstance(flat[0], int)
    assert isinstance(dicts[0], dict)
