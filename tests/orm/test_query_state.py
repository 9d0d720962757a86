"""The query state: one declaration drives copying, the cache key and the bound parameters.

The key tests are structural: every declared field, changed alone, either changes the key
or leaves every compiled statement as it was; a field without a tag cannot be declared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable
from typing import Annotated, Any, NamedTuple

import pytest

import aksara
from aksara import Count, F, Q, Sum
from aksara.db import Database
from aksara.db.dialects import Dialect, PostgresDialect, SQLiteDialect
from aksara.exceptions import ConfigurationError
from aksara.orm import ValuesQuerySet
from aksara.orm.compiler import (
    compile_count,
    compile_delete,
    compile_exists,
    compile_select,
)
from aksara.orm.query import Query, Shape, field_tags
from aksara.orm.relations.prefetch import Prefetch
from examples.blog.models import Post, User
from tests.debug.helpers import configured_database
from tests.debug.test_querylog import DebugAccount, query_logs

DIALECTS: tuple[Dialect, ...] = (PostgresDialect(), SQLiteDialect())
KINDS = ("select", "count", "exists", "delete")

PLAIN = Post.objects.filter(title="a").query
ANNOTATED = Post.objects.annotate(n=Count("comments")).query
HAVING = Post.objects.annotate(n=Count("comments")).filter(n__gt=1).query
VALUES = Post.objects.values("author__name").query


def _nodes(make: Callable[[], Any]) -> Any:
    return make().query.where


#: Per declared field: (a query, another value of that field). Every field must be here:
#: a field added to Query without a variant fails test_every_field_has_variants.
VARIANTS: dict[str, list[tuple[Query, Any]]] = {
    "model": [(PLAIN.replace(where=()), User)],
    "where": [
        (PLAIN, _nodes(lambda: Post.objects.filter(view_count__gt=1))),
        (PLAIN, _nodes(lambda: Post.objects.filter(title="b"))),  # same shape, new value
        (PLAIN, _nodes(lambda: Post.objects.filter(id__in=[1, 2, 3]))),
        (PLAIN, _nodes(lambda: Post.objects.filter(id__in=list(range(40))))),
        (PLAIN, _nodes(lambda: Post.objects.exclude(title="a"))),
        (PLAIN, _nodes(lambda: Post.objects.filter(view_count=F("id") / 2))),
    ],
    "order": [(PLAIN, ("-id",)), (PLAIN, ("author__name",)), (PLAIN, ())],
    "limit": [(PLAIN, 5), (PLAIN.replace(limit=5), 6)],
    "offset": [(PLAIN, 3), (PLAIN.replace(offset=3), 4)],
    "only": [(PLAIN, ("title",))],
    "defer": [(PLAIN, ("content",))],
    "distinct": [(PLAIN, True), (VALUES, True)],
    "values": [(PLAIN, ("title",)), (VALUES, ("title", "slug"))],
    "values_mode": [(VALUES.replace(values_mode="dict"), "tuple"), (VALUES, "flat")],
    "for_update": [
        (PLAIN, (False, False)),
        (PLAIN.replace(for_update=(False, False)), (True, False)),
    ],
    "related": [(PLAIN, ("author",))],
    "annotations": [(PLAIN, ANNOTATED.annotations), (ANNOTATED, (("n", Sum("comments__id")),))],
    "having": [
        (HAVING, Post.objects.annotate(n=Count("comments")).filter(n__lt=1).query.having),
        (HAVING, Post.objects.annotate(n=Count("comments")).filter(n__gt=7).query.having),
    ],
    "grouped": [(VALUES.replace(annotations=ANNOTATED.annotations), True)],
    "empty": [(PLAIN, True)],
    "prefetch": [(PLAIN, (Prefetch("comments"),))],
    "loading": [(PLAIN, "peers")],
}


def _outcome(compile: Callable[[], Any]) -> Hashable:
    """What a compilation produces, as a comparable value (errors included)."""
    try:
        statement = compile()
    except Exception as error:
        return ("error", type(error).__name__, str(error))
    return (statement.sql, getattr(statement, "names", None), getattr(statement, "mode", None))


def _compiled(query: Query, kind: str, dialect: Dialect) -> Hashable:
    compilers: dict[str, Callable[[], Any]] = {
        "select": lambda: compile_select(query, dialect),
        "count": lambda: compile_count(query, dialect),
        "exists": lambda: compile_exists(query, dialect),
        "delete": lambda: compile_delete(query, dialect),
    }
    return _outcome(compilers[kind])


def sql_changes_outside_the_key(key: Callable[[Query, str], Hashable]) -> list[str]:
    """The fields whose change alters a compiled statement while *key* stays the same."""
    offending = []
    for name, variants in VARIANTS.items():
        for base, value in variants:
            other = base.replace(**{name: value})
            for kind in KINDS:
                if key(base, kind) != key(other, kind):
                    continue
                for dialect in DIALECTS:
                    if _compiled(base, kind, dialect) != _compiled(other, kind, dialect):
                        offending.append(name)
    return sorted(set(offending))


def test_every_declared_field_has_exactly_one_tag() -> None:
    tags = field_tags(Query)
    assert list(tags) == list(Query._fields)


def test_a_field_declared_without_a_tag_is_refused() -> None:
    # The functional form keeps the annotations as objects in this module.
    untagged = NamedTuple(  # type: ignore[misc]  # noqa: UP014
        "Untagged", [("model", Annotated[type, Shape()]), ("limit", int | None)]
    )

    with pytest.raises(TypeError, match=r"Untagged\.limit must be declared"):
        field_tags(untagged)


def test_every_field_has_variants() -> None:
    assert set(VARIANTS) == set(Query._fields)


def test_no_field_changes_the_sql_without_changing_the_key() -> None:
    assert sql_changes_outside_the_key(Query.cache_key) == []


def test_the_key_check_catches_a_field_left_out_of_the_key() -> None:
    """The check above is not vacuous: a key that ignores a field shaping the SQL fails it."""

    def without(name: str, default: Any) -> Callable[[Query, str], Hashable]:
        return lambda query, kind: query.replace(**{name: default}).cache_key(kind)

    assert sql_changes_outside_the_key(without("distinct", False)) == ["distinct"]
    assert sql_changes_outside_the_key(without("values_mode", "")) == ["values_mode"]
    assert sql_changes_outside_the_key(without("for_update", None)) == ["for_update"]


def test_replace_copies_every_field_and_leaves_the_original_alone() -> None:
    query = HAVING.replace(limit=3, offset=2, distinct=True, loading="raise")
    copy = query.replace(limit=4)
    assert copy.limit == 4 and query.limit == 3
    for name in Query._fields:
        if name != "limit":
            assert getattr(copy, name) is getattr(query, name)
    with pytest.raises(TypeError):
        query.replace(limt=4)
    with pytest.raises(AttributeError):
        query.limit = 5  # type: ignore[misc]


# Parameters recorded while compiling --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Post.objects.filter(title="a", view_count__gte=2).order_by("-id")[3:9],
        lambda: Post.objects.filter(Q(title__icontains="a") | ~Q(slug__endswith="c")),
        lambda: Post.objects.filter(id__in=[1, 2, 3], view_count__range=(1, 5)),
        lambda: Post.objects.filter(id__in=list(range(50))).offset(2),
        lambda: Post.objects.filter(view_count__gt=F("id") / 3 + 1),
        lambda: Post.objects.annotate(n=Count("comments")).filter(n__in=[1, 2, 3], title="x"),
        lambda: Post.objects.annotate(n=Sum(F("view_count") + 1)).filter(n__gt=3).limit(2),
    ],
)
def test_every_placeholder_is_bound_from_the_query_it_runs(make: Callable[[], Any]) -> None:
    """Every marker the SQL holds gets exactly one value recorded while compiling."""
    query = make().query
    for dialect in DIALECTS:
        statement = compile_select(query, dialect)
        params = statement.params(query)
        if isinstance(dialect, PostgresDialect):
            numbers = sorted({int(n) for n in re.findall(r"\$(\d+)", statement.sql)})
            assert numbers == list(range(1, len(params) + 1))
        else:
            assert statement.sql.count("?") == len(params)


async def test_an_annotation_with_a_value_is_bound_wherever_it_is_written(db: Database) -> None:
    """HAVING repeats an annotation's SQL; each of its markers gets its value again."""
    user = await User.objects.create(name="a", email="a@example.com")
    await Post.objects.bulk_create(
        [Post(title=f"t{i}", slug=f"s{i}", author=user, view_count=i) for i in range(5)]
    )
    found = Post.objects.annotate(n=Sum(F("view_count") + 10)).filter(n__gt=12).order_by("id")
    assert [(post.view_count, post.n) for post in await found] == [(3, 13), (4, 14)]


async def test_the_statement_cache_belongs_to_the_database(database_url: str) -> None:
    async with configured_database(database_url) as database:
        database.statements.clear()
        await User.objects.filter(name="x").count()
        assert len(database.statements) == 1
        other = Database(database_url, database.pool_options)
        assert len(other.statements) == 0 and other.statements is not database.statements


async def test_sql_cache_size_bounds_the_cache_least_recently_used_first(
    database_url: str,
) -> None:
    async with configured_database(database_url, SQL_CACHE_SIZE=2) as database:
        assert database.statements.max_size == 2
        first = User.objects.filter(name="a")
        await first.count()
        await User.objects.filter(email="b").count()
        await first.count()  # now the most recently used
        await User.objects.filter(id=1).count()  # evicts the email shape
        assert len(database.statements) == 2
        hits = database.statements.hits
        await first.count()
        assert database.statements.hits == hits + 1
        await User.objects.filter(email="b").count()
        assert database.statements.hits == hits + 1


def test_sql_cache_size_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="SQL_CACHE_SIZE must be an integer >= 1"):
        aksara.configure(SQL_CACHE_SIZE=0)


async def test_secret_positions_are_recorded_when_compiling(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A range filter on a secret column is masked too (the SQL is not read for it): the
    compiler records which parameters are bound to secret columns."""
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True) as database:
        await DebugAccount.objects.create(username="bob", password="hunter2")
        caplog.clear()
        found = DebugAccount.objects.filter(username="bob", password__range=("hunter1", "hunter3"))
        assert await found.count() == 1
        many = [f"hunter{i}" for i in range(30)]
        assert await DebugAccount.objects.filter(password__in=many).exists()
        logged = query_logs(caplog)
        statement = compile_count(found.query, database.dialect)
        assert database.statements.secrets[statement.sql] == frozenset({1, 2})
    assert len(logged) == 2
    assert "'bob'" in logged[0]
    for message in logged:
        assert "hunter" not in message, message


def test_sqlite_spells_an_offset_without_a_limit_itself() -> None:
    assert SQLiteDialect().limit_offset(None, "?") == " LIMIT -1 OFFSET ?"
    assert PostgresDialect().limit_offset(None, "$1") == " OFFSET $1"
    assert PostgresDialect().limit_offset("$1", "$2") == " LIMIT $1 OFFSET $2"


async def test_values_have_their_own_queryset_type(db: Database) -> None:
    await User.objects.create(name="Ada", email="ada@example.com")
    rows = User.objects.values("name").filter(name="Ada").order_by("id")
    assert isinstance(rows, ValuesQuerySet)
    assert await rows == [{"name": "Ada"}]
    assert await rows.first() == {"name": "Ada"}
    assert await User.objects.values_list("name", flat=True).get(name="Ada") == "Ada"
    assert not isinstance(User.objects.filter(name="Ada"), ValuesQuerySet)


async def test_with_query_wraps_a_modified_copy_of_the_same_model(db: Database) -> None:
    base = Post.objects.filter(is_published=True).order_by("id")
    narrowed = base.with_query(base.query.replace(only=("id", "title"), limit=2))
    assert type(narrowed) is type(base) and base.query.only is None
    await Post.objects.bulk_create(
        [
            Post(
                title=f"t{i}",
                slug=f"s{i}",
                author=await User.objects.create(name=f"u{i}", email=f"{i}@x.y"),
                is_published=True,
            )
            for i in range(3)
        ]
    )
    rows = await narrowed
    assert [row.title for row in rows] == ["t0", "t1"]
    with pytest.raises(TypeError, match="with_query\\(\\) takes a query of Post, not of User"):
        base.with_query(User.objects.all().query)
