"""The get-by-key shortcut: ``get(key=value)`` on a query with no condition, slice or row
shape of its own binds the value into a statement compiled once for that query and key.

The query may join (``select_related``), narrow its columns (``only`` / ``defer``), order,
prefetch and choose its relation loading: the statement is the one the general get would
compile, and the rows load and prefetch as the general get loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aksara.conf import settings
from aksara.db.connections import db_for_read, is_remembered
from aksara.orm import compiler
from aksara.orm.compiler import CompiledSelect
from aksara.orm.expressions import Expression
from aksara.orm.fields import keeps_ranged_ints
from aksara.orm.lookups import Lookup
from aksara.orm.query import Query
from aksara.orm.relations.loading import join_peers, remember_database
from aksara.orm.relations.prefetch import prefetch
from aksara.orm.where import Condition, key_lookup

if TYPE_CHECKING:
    from aksara.db.statements import StatementCache
    from aksara.orm.paths import Path
    from aksara.orm.queryset import QuerySet

__all__ = ["NO_KEY_GET", "KeyGet", "compiled_select", "key_gets_of"]


def compiled_select(query: Query, cache: StatementCache, dialect: Any) -> CompiledSelect:
    """The SELECT of *query* from *cache*, compiled for *dialect* on a miss."""
    key = query.cache_key("select")
    entry: CompiledSelect | None = cache.get(key)
    if entry is None:
        entry = compiler.compile_select(query, dialect)
        cache.put(key, entry)
    return entry


#: How many queries other than its plain one a model keeps get-by-key shortcuts for.
_QUERIES = 64


def key_gets_of(query: Query) -> dict[str, KeyGet] | None:
    """The get-by-key shortcuts of *query* (not the model's plain query) by key, or None
    when its gets take the general path (conditions, slices, values, locks, aggregates)."""
    meta = query.model._meta
    recent = meta.recent_key_gets
    if recent is not None and recent[0] is query:
        return cast("dict[str, KeyGet]", recent[1])
    if (
        query.where
        or query.limit is not None
        or query.offset is not None
        or query.distinct
        or query.values is not None
        or query.for_update is not None
        or query.annotations
        or query.having
        or query.grouped
        or query.empty
    ):
        return None
    # Keyed by the query itself, held strongly: an equal query (its conditions, aggregates
    # and prefetches compare by identity) compiles to the same statement and loads alike.
    by_query: dict[Query, dict[str, KeyGet]] = meta.query_key_gets
    gets = by_query.get(query)
    if gets is None:
        if len(by_query) >= _QUERIES:
            by_query.clear()
        gets = by_query[query] = {}
    meta.recent_key_gets = (query, gets)
    return gets


class _KeyBinds:
    """What a get-by-key statement's binder reads: ``q.where[0].value`` and ``q.limit``."""

    __slots__ = ("value", "where")

    limit = 2

    def __init__(self, value: Any) -> None:
        self.value = value
        self.where = (self,)


#: The parameter sources of ``WHERE column = ? LIMIT ?``, the only statement KeyGet binds.
_KEY_SOURCES = ("q.where[0].value", "q.limit")


class KeyGet:
    """``get(key=value)`` on *query*, when *key* compares one of its model's own columns
    for equality: the value is checked with the lookup's own clip / prepare and bound into
    the statement compiled once, with no condition tree or query copy."""

    __slots__ = (
        "bounds",
        "cache",
        "compiled",
        "direct",
        "field",
        "key",
        "lookup",
        "path",
        "query",
        "ranged",
        "select_key",
    )

    def __init__(self, query: Query, key: str, path: Path, lookup: Lookup) -> None:
        self.query = query
        self.key = key
        self.path = path
        self.field = path.field
        self.bounds = path.field.bounds
        self.lookup = lookup
        #: An int within the column's range is bound as it is: prepare() would return it
        #: unchanged (the lookup's and the field's own checks are the plain ones).
        self.ranged = (
            self.bounds is not None
            and type(lookup).prepare is Lookup.prepare
            and keeps_ranged_ints(self.field)
        )
        #: The cache key of the statement, known after the first get.
        self.select_key: Any = None
        #: The statement cache of the last get's database and the statement found there:
        #: the next get on that database takes it without hashing the key (a hit all the
        #: same). It is the cache's own statement for this key, compiled for that database.
        self.cache: StatementCache | None = None
        self.compiled: CompiledSelect | None = None
        #: Whether its parameters are ``[value, 2]`` as they are (no adapter on the value).
        self.direct = False

    @classmethod
    def of(cls, query: Query, key: str) -> KeyGet:
        """The get-by-key of *key* on *query*, or ``NO_KEY_GET`` when *key* is not one."""
        found = key_lookup(query.model, key)
        if found is None:
            return NO_KEY_GET
        return cls(query, key, *found)

    async def get(self, queryset: QuerySet[Any], value: Any) -> Any:
        """``queryset.get(key=value)``: the one instance, by the statement compiled once
        when it can be bound; by the general get otherwise (``None``, an expression...)."""
        given = value
        bounds = self.bounds
        if bounds is not None and type(value) is int and bounds[0] <= value <= bounds[1]:
            if not self.ranged:
                value = self.lookup.prepare(self.field, value, self.key)
        elif value is None or isinstance(value, Expression):
            return await queryset._get((), {self.key: value})
        else:
            lookup = self.lookup
            if bounds is not None:  # an int out of the column's range, or not an int
                clipped, value = lookup.clip(bounds, value)
                if clipped is not lookup:
                    if clipped.name == "in" and not value:
                        return queryset._one([])  # no row can hold it: no statement is sent
                    return await queryset._get((), {self.key: given})
            value = lookup.prepare(self.field, value, self.key)
        database = db_for_read(self.query.model, queryset._db)
        statements = database.statements
        compiled = self.compiled
        if statements is self.cache and compiled is not None:
            statements.hits += 1
        else:
            compiled = self._find(database, value)
            if compiled is None:
                return await queryset._get((), {self.key: given})
        rows = await database.fetch(
            compiled.sql,
            [value, 2] if self.direct else compiled.params(_KeyBinds(value)),
            read_only=True,
            keeps_session=True,
        )
        result = compiled.build(rows)
        if result:
            query = self.query
            if is_remembered(database):
                remember_database(result, database.alias, query.related)
            # As the general get loads its rows (QuerySet._fetch).
            loading = query.loading
            mode = loading or settings.RELATION_LOADING
            if mode != "lazy" or loading is not None:
                join_peers(result, mode, query.related)
            if query.prefetch:
                await prefetch(result, query.prefetch)
            if len(result) == 1:
                return result[0]
        return queryset._one(result)

    def _find(self, database: Any, value: Any) -> CompiledSelect | None:
        """The statement of ``key = ? LIMIT 2`` from *database*'s cache (compiled there on
        a miss), remembered with that cache; None when it is of another shape (the general
        get must run it)."""
        statements = database.statements
        key = self.select_key
        compiled: CompiledSelect | None = None if key is None else statements.get(key)
        if compiled is None:
            # The query the general get would run: this condition alone, unordered.
            template = self.query.replace(
                where=(Condition(self.path, self.lookup, value),), order=(), limit=2
            )
            if key is None:
                key = template.cache_key("select")
                compiled = compiled_select(template, statements, database.dialect)
            else:  # looked up already: one miss
                compiled = compiler.compile_select(template, database.dialect)
                statements.put(key, compiled)
            if tuple(source for source, _ in compiled.binds) != _KEY_SOURCES:
                return None
            self.select_key = key
        self.cache = statements
        self.compiled = compiled
        self.direct = all(adapt is None for _, adapt in compiled.binds)
        return compiled


#: Marks a key that is not a get-by-key (a lookup other than exact, a join...).
NO_KEY_GET = cast(KeyGet, object())
