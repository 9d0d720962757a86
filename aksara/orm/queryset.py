"""QuerySet: a lazy, immutable, awaitable description of a query.

Every chaining method returns a modified copy. Awaiting the QuerySet (or ``async for``)
runs it; terminal methods (``first``, ``count``, ``update``…) are coroutines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from aksara.conf import RELATION_LOADING_MODES, settings
from aksara.db.connections import databases, db_for_read, db_for_write, is_remembered
from aksara.db.transaction import atomic, in_atomic_block
from aksara.exceptions import FieldError, IntegrityError, TransactionError, ValidationError
from aksara.orm import compiler
from aksara.orm.arithmetic import assignment_params
from aksara.orm.compiler import cached, effective_ordering
from aksara.orm.expressions import Aggregate, Expression, F, OrderBy, Q
from aksara.orm.keyget import NO_KEY_GET, KeyGet, compiled_select, key_gets_of
from aksara.orm.paths import check_depth, resolve_path
from aksara.orm.persistence import bulk_create, bulk_update, explain_delete_error
from aksara.orm.query import Query
from aksara.orm.relations.loading import join_peers, remember_database
from aksara.orm.relations.prefetch import Prefetch, normalize, prefetch
from aksara.orm.relations.prefetch import check as check_prefetch
from aksara.orm.where import Node, build_where, condition, negation

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["QuerySet", "ValuesQuerySet"]

M = TypeVar("M", bound="Model")
R = TypeVar("R")


class QuerySet(Generic[M]):
    """A query over *model*'s table; await it for the list of instances.

    It holds one frozen :class:`~aksara.orm.query.Query`; chain methods return a new
    QuerySet around a modified copy.
    """

    __slots__ = ("_db", "_query")

    def __init__(self, model: type[M]) -> None:
        self._query = model._meta.query
        #: The database alias of using(), or None: routed (by default, "default").
        self._db: str | None = None

    def _chain(self, query: Query) -> Self:
        clone = object.__new__(type(self))
        clone._query = query
        clone._db = self._db
        return clone

    def using(self, alias: str) -> Self:
        """This query on the database *alias* of ``DATABASES``, for its reads and writes."""
        databases[alias]  # an unknown alias fails here, listing the valid ones
        clone = self._chain(self._query)
        clone._db = alias
        return clone

    @property
    def db(self) -> str | None:
        """The alias given to :meth:`using`, or None when the query is routed."""
        return self._db

    @property
    def model(self) -> type[M]:
        """The model whose rows the query selects."""
        return cast("type[M]", self._query.model)

    @property
    def query(self) -> Query:
        """The frozen description of this query (what the compiler compiles)."""
        return self._query

    # Chaining -------------------------------------------------------------------------

    def all(self) -> Self:
        """A copy of this QuerySet (await it to run it)."""
        return self._chain(self._query)

    def _filtered_nodes(
        self, args: tuple[Q, ...], kwargs: dict[str, Any], negate: bool
    ) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
        query = self._query
        model = query.model
        annotations = query.annotations
        built: list[Node] = []
        for arg in args:
            if not isinstance(arg, Q):
                raise TypeError(f"filter() takes Q objects and keyword lookups, got {arg!r}.")
            built.append(build_where(model, arg, annotations))
        for key, value in kwargs.items():
            built.append(condition(model, key, value, annotations))
        if not annotations:
            if negate:
                built = [negation(built)] if built else []
            return query.where + tuple(built), query.having
        # Conditions reading an annotation go to HAVING (or, for correlated subqueries, to
        # the WHERE clause after the plain ones).
        nodes = [node for node in built if not node.aggregated]
        having = [node for node in built if node.aggregated]
        if negate:
            nodes = [negation(nodes)] if nodes else []
            having = [negation(having)] if having else []
        return (*query.where, *nodes), (*query.having, *having)

    def _filtered(self, args: tuple[Q, ...], kwargs: dict[str, Any], negate: bool) -> Self:
        where, having = self._filtered_nodes(args, kwargs, negate)
        return self._chain(self._query.replace(where=where, having=having))

    def _refuse_sliced(self, method: str) -> None:
        if self._query.limit is not None or self._query.offset is not None:
            raise TypeError(
                f"Cannot {method}() a query once it has been sliced (limit/offset); "
                f"call {method}() before slicing."
            )

    def filter(self, *args: Q, **kwargs: Any) -> Self:
        """Rows matching every lookup (``title__icontains="async"``) and Q object."""
        if self._query.limit is not None or self._query.offset is not None:
            raise TypeError("Cannot filter a query once it has been sliced (limit/offset).")
        return self._filtered(args, kwargs, negate=False)

    def exclude(self, *args: Q, **kwargs: Any) -> Self:
        """Rows not matching the lookups (NULLs count as not matching, as in Django)."""
        if self._query.limit is not None or self._query.offset is not None:
            raise TypeError("Cannot filter a query once it has been sliced (limit/offset).")
        return self._filtered(args, kwargs, negate=True)

    def order_by(self, *names: str | F | OrderBy) -> Self:
        """Order by fields (``"-created_at"`` descending, ``"author__name"``, ``"?"`` random,
        ``F("views")``, ``F("views").desc()``).

        ``order_by()`` with no names removes all ordering, the model's default included.
        """
        self._refuse_sliced("order_by")
        annotated = {name for name, _ in self._query.annotations}
        ordering = []
        for item in names:
            name = _ordering_name(item)
            if name != "?" and name.lstrip("-") not in annotated:
                compiler_field(self.model, name.lstrip("-"))
            ordering.append(name)
        return self._chain(self._query.replace(order=tuple(ordering)))

    def reverse(self) -> Self:
        """The same query in the opposite order."""
        self._refuse_sliced("reverse")
        ordering = effective_ordering(self._query) or (self.model._meta.pk.name,)
        reversed_order = tuple(
            name[1:] if name.startswith("-") else f"-{name}" for name in ordering
        )
        return self._chain(self._query.replace(order=reversed_order))

    def limit(self, count: int) -> Self:
        """At most *count* rows."""
        return self._chain(self._query.replace(limit=_row_count("limit()", count)))

    def offset(self, count: int) -> Self:
        """Skip the first *count* rows."""
        return self._chain(self._query.replace(offset=_row_count("offset()", count)))

    def __getitem__(self, item: slice | int) -> Any:
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError("QuerySet slices take no step.")
            start = _row_count("A QuerySet slice's start", item.start or 0)
            stop = item.stop
            if stop is not None:
                _row_count("A QuerySet slice's stop", stop, upper=None)
            query = self._query
            offset, limit = query.offset, query.limit
            if start:
                offset = _row_count("The offset of a sliced QuerySet", (query.offset or 0) + start)
            if stop is not None:
                stop = max(stop, start)
                available = stop - start
                limit = _row_count(
                    "The limit of a sliced QuerySet",
                    available
                    if query.limit is None
                    else min(available, max(query.limit - start, 0)),
                )
            elif query.limit is not None:
                limit = max(query.limit - start, 0)
            return self._chain(query.replace(offset=offset, limit=limit))
        if isinstance(item, int) and not isinstance(item, bool):
            _row_count("A QuerySet index", item)
            return self[item : item + 1]._one_at(item)
        raise TypeError(f"QuerySet indexes are ints or slices, got {type(item).__name__}.")

    async def _one_at(self, index: int) -> Any:
        rows = await self._fetch()
        if not rows:
            raise IndexError(f"QuerySet index {index} is out of range.")
        return rows[0]

    def only(self, *names: str) -> Self:
        """Load just these fields (and the primary key); reading another one raises."""
        for name in names:
            compiler_field(self.model, name)
        return self._chain(self._query.replace(only=tuple(names)))

    def defer(self, *names: str) -> Self:
        """Load every field but these; reading one of them raises."""
        for name in names:
            if self.model._meta.get_field(name).primary_key:
                raise FieldError(
                    f"The primary key {self.model.__name__}.{name} cannot be deferred."
                )
        return self._chain(self._query.replace(defer=(*self._query.defer, *names)))

    def distinct(self) -> Self:
        """Drop duplicate rows (``SELECT DISTINCT``)."""
        return self._chain(self._query.replace(distinct=True))

    def values(self, *names: str) -> ValuesQuerySet[dict[str, Any]]:
        """Rows as dicts of these fields (all fields when none are named); paths allowed."""
        return self._as_values(names, "dict")

    def values_list(self, *names: str, flat: bool = False) -> ValuesQuerySet[Any]:
        """Rows as tuples of these fields, or bare values with ``flat=True`` (one field)."""
        if flat and len(names) != 1:
            raise TypeError("values_list(flat=True) takes exactly one field name.")
        return self._as_values(names, "flat" if flat else "tuple")

    def _as_values(self, names: Sequence[str], mode: str) -> ValuesQuerySet[Any]:
        if not names:
            names = self.model._meta.attnames
        annotated = {name for name, _ in self._query.annotations}
        for name in names:
            if name not in annotated:
                compiler_field(self.model, name)
        clone: ValuesQuerySet[Any] = object.__new__(ValuesQuerySet)
        clone._query = self._query.replace(values=tuple(names), values_mode=mode)
        clone._db = self._db
        return clone

    def select_for_update(self, *, nowait: bool = False, skip_locked: bool = False) -> Self:
        """Lock the selected rows until the transaction ends (PostgreSQL; SQLite locks the
        whole database for writing inside ``atomic()`` already). Evaluating it outside
        ``atomic()`` raises ``TransactionError``."""
        return self._chain(self._query.replace(for_update=(nowait, skip_locked)))

    def select_related(self, *names: str) -> Self:
        """Load these foreign keys (``"author"``, ``"post__author"``) in the same query, by
        JOIN (LEFT OUTER for nullable keys)."""
        for name in names:
            parts = name.split("__")
            check_depth(parts, relations=len(parts))
        related = tuple(dict.fromkeys((*self._query.related, *names)))
        return self._chain(self._query.replace(related=related))

    def prefetch_related(self, *lookups: str | Prefetch) -> Self:
        """Load these relations with one extra query per level (``"comments__author"``)."""
        added = normalize(lookups)
        check_prefetch(self.model, added)
        prefetches = (*self._query.prefetch, *added)
        return self._chain(self._query.replace(prefetch=prefetches))

    def annotate(self, **annotations: Aggregate) -> Self:
        """Add aggregates over relations as attributes: ``annotate(n=Count("comments"))``."""
        for name, annotation in annotations.items():
            _check_alias("annotate", name)
            if not isinstance(annotation, Aggregate):
                raise TypeError(
                    f"annotate({name}=...) takes Count/Sum/Avg/Min/Max, got {annotation!r}."
                )
            meta = self.model._meta
            if (
                name in meta._by_name
                or name in meta.reverse_relations
                or name in meta.many_relations
            ):
                raise FieldError(
                    f"annotate({name}=...) clashes with the field {self.model.__name__}.{name}."
                )
        query = self._query
        added = (*query.annotations, *annotations.items())
        if query.values is None:
            return self._chain(query.replace(annotations=added))
        return self._chain(
            query.replace(annotations=added, values=(*query.values, *annotations), grouped=True)
        )

    def relation_loading(self, mode: str) -> Self:
        """How relations of the fetched rows load lazily: ``"lazy"`` (a query per ``await``),
        ``"peers"`` (the first ``await`` loads the relation for every row of this result)
        or ``"raise"`` (any lazy load is an error)."""
        if mode not in RELATION_LOADING_MODES:
            raise ValueError(
                f"relation_loading() takes one of {', '.join(RELATION_LOADING_MODES)}, got {mode!r}."
            )
        return self._chain(self._query.replace(loading=mode))

    def with_query(self, query: Query) -> Self:
        """A QuerySet of this class around *query*, a modified copy of :attr:`query` whose
        parts were checked already (one copy instead of one per chaining method)."""
        if query.model is not self._query.model:
            raise TypeError(
                f"with_query() takes a query of {self.model.__name__}, "
                f"not of {query.model.__name__}."
            )
        return self._chain(query)

    def none(self) -> Self:
        """A query that returns nothing and never touches the database."""
        return self._chain(self._query.replace(empty=True))

    # Running --------------------------------------------------------------------------

    async def _fetch(self, query: Query | None = None) -> list[Any]:
        """Run *query* (by default this QuerySet's) and return its rows, loaded."""
        if query is None:
            query = self._query
        if query.for_update is not None:
            self._refuse_unlocked()
        if query.empty:
            return []
        database = db_for_read(query.model, self._db)
        compiled = compiled_select(query, database.statements, database.dialect)
        rows = await database.fetch(
            compiled.sql,
            compiled.params(query),
            read_only=query.for_update is None,
            keeps_session=True,
        )
        result = compiled.build(rows)
        if query.values is None and result:
            if is_remembered(database):
                remember_database(result, database.alias, query.related)
            loading = query.loading
            mode = loading or settings.RELATION_LOADING
            if mode != "lazy" or loading is not None:
                join_peers(result, mode, query.related)
            if query.prefetch:
                await prefetch(result, query.prefetch)
        return result

    def _refuse_unlocked(self) -> None:
        if not in_atomic_block(db_for_read(self._query.model, self._db)):
            raise TransactionError(
                f"select_for_update() on {self.model.__name__} outside atomic(): its row locks "
                "would end with the SELECT itself and protect nothing. Run the query, and the "
                "writes it guards, inside `async with atomic(db_for_write(self._query.model, self._db)):`."
            )

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[M]:
        for item in await self._fetch():
            yield item

    async def first(self) -> M | None:
        """The first row by the query's ordering (the primary key when unordered), or None."""
        rows = await self._first()
        return rows[0] if rows else None

    async def _first(self) -> list[Any]:
        query = self._query
        if not effective_ordering(query):
            self._refuse_sliced("order_by")
            query = query.replace(order=(self.model._meta.pk.name,))
        return await self._chain(query).limit(1)._fetch()

    async def last(self) -> M | None:
        """The last row by the query's ordering (the primary key when unordered), or None."""
        self._refuse_sliced("last")
        rows = await self.reverse().limit(1)._fetch()
        return rows[0] if rows else None

    def get(self, *args: Q, **kwargs: Any) -> Coroutine[Any, Any, M]:
        """The one row matching; raises ``Model.DoesNotExist`` / ``MultipleObjectsReturned``."""
        # The coroutine of the get itself, no extra frame between the caller and the
        # statement: get(key=value) on a query with no condition of its own is a KeyGet's.
        query = self._query
        if not args and len(kwargs) == 1:
            meta = query.model._meta
            by_key: dict[str, KeyGet] | None
            if query is meta.query or query == meta.query:
                by_key = meta.key_gets
            else:
                by_key = key_gets_of(query)
            if by_key is not None:
                for key, value in kwargs.items():
                    entry = by_key.get(key)
                    if entry is None:
                        entry = by_key[key] = KeyGet.of(query, key)
                    if entry is not NO_KEY_GET:
                        return entry.get(self, value)
        return self._get(args, kwargs)

    async def _get(self, args: tuple[Q, ...], kwargs: dict[str, Any]) -> Any:
        query = self._query
        if query.limit is not None or query.offset is not None:
            if args or kwargs:
                self._refuse_sliced("filter")
        else:
            # One copy of the query, no intermediate QuerySet: get(pk=n) is the hottest call
            # there is, and every step of it runs with cold caches between two statements.
            if args or query.annotations:
                where, having = self._filtered_nodes(args, kwargs, negate=False)
            else:
                where, having = query.where, query.having
                model = query.model
                for key, value in kwargs.items():
                    where = (*where, condition(model, key, value))
            # Ordering one row is wasted work.
            query = query.replace(where=where, having=having, order=(), limit=2)
        return self._one(await self._fetch(query))

    def _one(self, rows: list[Any]) -> Any:
        if len(rows) == 1:
            return rows[0]
        model = self._query.model
        if not rows:
            raise model.DoesNotExist(f"No {model.__name__} matches the query.")
        raise model.MultipleObjectsReturned(
            f"get() found more than one {model.__name__}; add lookups that pick exactly one."
        )

    async def count(self) -> int:
        """The number of matching rows (``SELECT COUNT(*)``)."""
        query = self._query
        if query.empty:
            return 0
        database = db_for_read(query.model, self._db)
        dialect = database.dialect
        statement: compiler.Statement = cached(
            database.statements,
            query.cache_key("count"),
            lambda: compiler.compile_count(query, dialect),
        )
        return int(
            await database.fetchval(
                statement.sql, statement.params(query), read_only=True, keeps_session=True
            )
        )

    async def exists(self) -> bool:
        """True when at least one row matches."""
        query = self._query
        if query.empty:
            return False
        database = db_for_read(query.model, self._db)
        dialect = database.dialect
        statement: compiler.Statement = cached(
            database.statements,
            query.cache_key("exists"),
            lambda: compiler.compile_exists(query, dialect),
        )
        row = await database.fetchrow(
            statement.sql, statement.params(query), read_only=True, keeps_session=True
        )
        return row is not None

    async def aggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """``aggregate(total=Sum("view_count"))`` -> ``{"total": …}`` over the matching rows."""
        if not aggregates:
            raise TypeError("aggregate() takes at least one name=Aggregate(...) argument.")
        for name, aggregate in aggregates.items():
            _check_alias("aggregate", name)
            if not isinstance(aggregate, Aggregate):
                raise TypeError(
                    f"aggregate({name}=...) takes Count/Sum/Avg/Min/Max, got {aggregate!r}."
                )
        query = self._query
        database = db_for_read(query.model, self._db)
        dialect = database.dialect
        shape = tuple((name, aggregate.shape()) for name, aggregate in aggregates.items())
        key = (query.cache_key("aggregate"), shape)
        statement: compiler.AggregateStatement = cached(
            database.statements, key, lambda: compiler.compile_aggregate(query, dialect, aggregates)
        )
        if query.empty:
            row: Any = [None] * len(aggregates)
        else:
            params = statement.params(query, tuple(aggregates.values()))
            row = await database.fetchrow(statement.sql, params, read_only=True, keeps_session=True)
        return {
            name: aggregate.convert(value, source, dialect)
            for (name, aggregate), value, source in zip(
                aggregates.items(), row, statement.sources, strict=True
            )
        }

    async def explain(self, *, analyze: bool = False) -> str:
        """The database's plan for this query, as text."""
        query = self._query
        database = db_for_read(query.model, self._db)
        dialect = database.dialect
        compiled = compiled_select(query, database.statements, dialect)
        rows = await database.fetch(
            dialect.explain(compiled.sql, analyze=analyze),
            compiled.params(query),
            read_only=query.for_update is None,
            keeps_session=True,
        )
        return dialect.format_plan(rows)

    async def in_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, M]:
        """``{key: instance}`` for the given keys (or every matching row)."""
        field = self.model._meta.get_field(field_name)
        if field_name != "pk" and not field.unique:
            raise FieldError(f"in_bulk() needs a unique field; {field.label} is not unique.")
        queryset = self
        if id_list is not None:
            keys = list(id_list)
            if not keys:
                return {}
            queryset = self.filter(**{f"{field_name}__in": keys})
        return {obj.__dict__[field.attname]: obj for obj in await queryset._fetch()}

    # Writing --------------------------------------------------------------------------

    async def create(self, **values: Any) -> M:
        """Insert a new row and return its instance (primary key set)."""
        instance = self.model(**values)
        await instance.save(force_insert=True, using=self._db)
        return instance

    async def bulk_create(
        self, instances: Sequence[M], *, batch_size: int | None = None
    ) -> list[M]:
        """Insert many instances in as few statements as possible; sets their primary keys."""
        return cast(
            list[M], await bulk_create(self.model, instances, batch_size=batch_size, using=self._db)
        )

    async def bulk_update(
        self, instances: Sequence[M], fields: Sequence[str], *, batch_size: int | None = None
    ) -> int:
        """Write *fields* of many saved instances in one statement per batch."""
        return await bulk_update(
            self.model, instances, fields, batch_size=batch_size, using=self._db
        )

    async def update(self, **values: Any) -> int:
        """Set fields of every matching row (values or ``F`` expressions); returns the count."""
        if not values:
            raise TypeError("update() takes at least one field=value argument.")
        query = self._query
        if query.limit is not None or query.offset is not None:
            raise TypeError("Cannot update a sliced query; filter by primary key instead.")
        meta = self.model._meta
        database = db_for_write(query.model, self._db)
        dialect = database.dialect
        cleaned_values: list[Any] = []
        for name, value in values.items():
            field = meta.get_field(name)
            if field.primary_key:
                raise FieldError(f"update() cannot change the primary key {field.label}.")
            if isinstance(value, Expression):
                cleaned_values.append(value)
                continue
            cleaned = field.clean(value)
            adapt = dialect.adapters.get(field.kind)
            cleaned_values.append(
                adapt(cleaned) if adapt is not None and cleaned is not None else cleaned
            )
        if query.empty:
            return 0
        shape = tuple(
            (name, v.shape() if isinstance(v, Expression) else None) for name, v in values.items()
        )
        key = (query.cache_key("update"), shape)
        statement: compiler.UpdateStatement = cached(
            database.statements, key, lambda: compiler.compile_update(query, dialect, values)
        )
        params: list[Any] = []
        for value, plan in zip(cleaned_values, statement.plans, strict=True):
            if plan is None:
                params.append(value)
            else:
                params.extend(assignment_params(plan, value))
        params.extend(statement.params(query))
        return await database.execute(statement.sql, params, keeps_session=True)

    async def delete(self) -> int:
        """Delete every matching row; related rows follow their ``on_delete``."""
        query = self._query
        if query.limit is not None or query.offset is not None:
            raise TypeError("Cannot delete a sliced query; filter by primary key instead.")
        if query.empty:
            return 0
        database = db_for_write(query.model, self._db)
        dialect = database.dialect
        statement: compiler.Statement = cached(
            database.statements,
            query.cache_key("delete"),
            lambda: compiler.compile_delete(query, dialect),
        )
        try:
            return await database.execute(
                statement.sql, statement.params(query), keeps_session=True
            )
        except IntegrityError as error:
            raise await explain_delete_error(database, self.model, error) from error

    async def get_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """Fetch the row matching *lookups*, or create it with *defaults*; ``(obj, created)``.

        Safe against a concurrent create: a unique violation falls back to fetching.
        """
        values = self._creation_values(lookups, defaults)
        try:
            return await self.get(**lookups), False
        except self.model.DoesNotExist:
            pass
        return await self._create_or_get(values, lookups, lock=False)

    async def update_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """Update the row matching *lookups* with *defaults*, or create it; ``(obj, created)``.

        Safe against a concurrent create: a unique violation falls back to updating that row.
        """
        values = self._creation_values(lookups, defaults)
        async with atomic(db_for_write(self._query.model, self._db)):
            try:
                instance = await self.select_for_update().get(**lookups)
            except self.model.DoesNotExist:
                instance, created = await self._create_or_get(values, lookups, lock=True)
                if created:
                    return instance, True
            for name, value in (defaults or {}).items():
                setattr(instance, name, value)
            await instance.save(using=self._db)
            return instance, False

    async def _create_or_get(
        self, values: dict[str, Any], lookups: dict[str, Any], *, lock: bool
    ) -> tuple[M, bool]:
        """Create the row in a savepoint; when a concurrent caller created it first (a unique
        violation), fetch theirs instead, locked for update when *lock*."""
        try:
            async with atomic(db_for_write(self._query.model, self._db)):
                return await self.create(**values), True
        except IntegrityError:
            # The savepoint is rolled back, so the transaction (if any) can still read.
            queryset = self.select_for_update() if lock else self
            try:
                return await queryset.get(**lookups), False
            except self.model.DoesNotExist:
                pass
            raise

    def _creation_values(
        self, lookups: dict[str, Any], defaults: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The field values of a row created from *lookups* and *defaults*; every name of
        *defaults* is checked here, before any statement is sent."""
        meta = self.model._meta
        for name in defaults or ():
            meta.get_field(name)
        values = {key: value for key, value in lookups.items() if "__" not in key}
        values.update(defaults or {})
        return values

    def __repr__(self) -> str:
        query = self._query
        return f"<QuerySet {self.model.__name__} where={len(query.where)} limit={query.limit}>"


class ValuesQuerySet(QuerySet[Any], Generic[R]):
    """A QuerySet of ``values()`` / ``values_list()`` rows: await it for a list of *R*
    (dicts, tuples or bare values) instead of model instances."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, list[R]]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[R]:
        for item in await self._fetch():
            yield item

    async def first(self) -> R | None:
        """The first row by the query's ordering (the primary key when unordered), or None."""
        rows = await self._first()
        return rows[0] if rows else None

    async def last(self) -> R | None:
        """The last row by the query's ordering (the primary key when unordered), or None."""
        self._refuse_sliced("last")
        rows = await self.reverse().limit(1)._fetch()
        return rows[0] if rows else None

    def get(self, *args: Q, **kwargs: Any) -> Coroutine[Any, Any, R]:
        """The one row matching; raises ``Model.DoesNotExist`` / ``MultipleObjectsReturned``."""
        # The coroutine of _get itself: no extra frame between the caller and the statement.
        return self._get(args, kwargs)


#: The largest LIMIT / OFFSET both databases take (a signed 64-bit integer).
_MAX_ROW_COUNT = 2**63 - 1


def _row_count(what: str, count: Any, *, upper: int | None = _MAX_ROW_COUNT) -> int:
    """*count* checked as a LIMIT / OFFSET: an integer from 0 to *upper*."""
    if (
        not isinstance(count, int)
        or isinstance(count, bool)
        or count < 0
        or (upper is not None and count > upper)
    ):
        bound = "" if upper is None else f" to {upper} (the largest row count the databases accept)"
        raise ValidationError(f"{what} takes an integer from 0{bound}, got {count!r}.")
    return count


def _ordering_name(item: Any) -> str:
    """``"-views"`` for ``"-views"`` or ``F("views").desc()``; ``"views"`` for ``F("views")``."""
    if isinstance(item, str):
        return item
    if isinstance(item, F):
        return item.name
    if isinstance(item, OrderBy) and isinstance(item.expression, F):
        return ("-" if item.descending else "") + item.expression.name
    raise TypeError(
        f"order_by() takes field names ('-created_at', 'author__name', '?'), F('name') or "
        f"F('name').asc() / .desc(); got {item!r}."
    )


def compiler_field(model: type[Model], name: str) -> Any:
    """Check that *name* (a field path) exists on *model*; raise FieldError otherwise.
    A path found is remembered per model (``_meta.path_cache``)."""
    cache = model._meta.path_cache
    cached = cache.get(name)
    if cached is None:
        parts = name.split("__")
        cached = cache[name] = (resolve_path(model, parts), len(parts) - 1)
    elif cached[1] > settings.MAX_RELATION_DEPTH:  # the setting may have been lowered since
        check_depth(name.split("__"))
    return cached[0].field


def _check_alias(method: str, name: str) -> None:
    """Refuse an alias that is not a plain name: it becomes a column alias in the SQL (and
    ``__`` would read as a lookup when filtering on it)."""
    if not name.isidentifier() or not name.isascii() or "__" in name:
        raise FieldError(
            f"{method}() alias {name!r} is not a valid name: use ASCII letters, digits and "
            "single underscores, not starting with a digit."
        )
