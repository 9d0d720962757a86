"""QuerySet: a lazy, immutable, awaitable description of a query.

Every chaining method returns a modified copy. Awaiting the QuerySet (or ``async for``)
runs it; terminal methods (``first``, ``count``, ``update``…) are coroutines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from aksara.conf import RELATION_LOADING_MODES, settings
from aksara.db.connections import get_database
from aksara.db.transaction import atomic, in_atomic_block
from aksara.exceptions import FieldError, IntegrityError, TransactionError, ValidationError
from aksara.orm import compiler
from aksara.orm.arithmetic import assignment_params
from aksara.orm.compiler import CompiledSelect, cached, select_params, sql_cache
from aksara.orm.expressions import Aggregate, Expression, F, OrderBy, Q
from aksara.orm.paths import check_depth
from aksara.orm.prefetch import Prefetch, normalize, prefetch
from aksara.orm.where import Node, build_where, condition, negation

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model

__all__ = ["QuerySet"]

M = TypeVar("M", bound="Model")

_SLOTS = (
    "model",
    "_where",
    "_order",
    "_limit",
    "_offset",
    "_only",
    "_defer",
    "_distinct",
    "_values",
    "_values_mode",
    "_for_update",
    "_empty",
    "_related",
    "_prefetch",
    "_annotations",
    "_having",
    "_loading",
    "_grouped",
)


class QuerySet(Generic[M]):
    """A query over *model*'s table; await it for the list of instances."""

    __slots__ = _SLOTS

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._where: tuple[Node, ...] = ()
        self._order: tuple[str, ...] | None = None
        self._limit: int | None = None
        self._offset: int | None = None
        self._only: tuple[str, ...] | None = None
        self._defer: tuple[str, ...] = ()
        self._distinct = False
        self._values: tuple[str, ...] | None = None
        self._values_mode = ""
        self._for_update: tuple[bool, bool] | None = None
        self._empty = False
        self._related: tuple[str, ...] = ()
        self._prefetch: tuple[Prefetch, ...] = ()
        self._annotations: tuple[tuple[str, Aggregate], ...] = ()
        self._having: tuple[Node, ...] = ()
        self._loading: str | None = None
        #: annotate() after values(): group by those values (GROUP BY), as in Django.
        self._grouped = False

    def _clone(self) -> QuerySet[M]:
        clone = object.__new__(QuerySet)
        clone.model = self.model
        clone._where = self._where
        clone._order = self._order
        clone._limit = self._limit
        clone._offset = self._offset
        clone._only = self._only
        clone._defer = self._defer
        clone._distinct = self._distinct
        clone._values = self._values
        clone._values_mode = self._values_mode
        clone._for_update = self._for_update
        clone._empty = self._empty
        clone._related = self._related
        clone._prefetch = self._prefetch
        clone._annotations = self._annotations
        clone._having = self._having
        clone._loading = self._loading
        clone._grouped = self._grouped
        return clone

    # Chaining -------------------------------------------------------------------------

    def all(self) -> QuerySet[M]:
        """A copy of this QuerySet (await it to run it)."""
        return self._clone()

    def _filtered(self, args: tuple[Q, ...], kwargs: dict[str, Any], negate: bool) -> QuerySet[M]:
        model = self.model
        annotations = self._annotations
        built: list[Node] = []
        for arg in args:
            if not isinstance(arg, Q):
                raise TypeError(f"filter() takes Q objects and keyword lookups, got {arg!r}.")
            built.append(build_where(model, arg, annotations))
        for key, value in kwargs.items():
            built.append(condition(model, key, value, annotations))
        # Conditions reading an annotation go to HAVING (or, for correlated subqueries, to
        # the WHERE clause after the plain ones).
        nodes = [node for node in built if not node.aggregated]
        having = [node for node in built if node.aggregated]
        clone = self._clone()
        if negate:
            nodes = [negation(nodes)] if nodes else []
            having = [negation(having)] if having else []
        clone._where = (*self._where, *nodes)
        clone._having = (*self._having, *having)
        return clone

    def _refuse_sliced(self, method: str) -> None:
        if self._limit is not None or self._offset is not None:
            raise TypeError(
                f"Cannot {method}() a query once it has been sliced (limit/offset); "
                f"call {method}() before slicing."
            )

    def filter(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows matching every lookup (``title__icontains="async"``) and Q object."""
        if self._limit is not None or self._offset is not None:
            raise TypeError("Cannot filter a query once it has been sliced (limit/offset).")
        return self._filtered(args, kwargs, negate=False)

    def exclude(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows not matching the lookups (NULLs count as not matching, as in Django)."""
        if self._limit is not None or self._offset is not None:
            raise TypeError("Cannot filter a query once it has been sliced (limit/offset).")
        return self._filtered(args, kwargs, negate=True)

    def order_by(self, *names: str | F | OrderBy) -> QuerySet[M]:
        """Order by fields (``"-created_at"`` descending, ``"author__name"``, ``"?"`` random,
        ``F("views")``, ``F("views").desc()``).

        ``order_by()`` with no names removes all ordering, the model's default included.
        """
        self._refuse_sliced("order_by")
        annotated = {name for name, _ in self._annotations}
        ordering = []
        for item in names:
            name = _ordering_name(item)
            if name != "?" and name.lstrip("-") not in annotated:
                compiler_field(self.model, name.lstrip("-"))
            ordering.append(name)
        clone = self._clone()
        clone._order = tuple(ordering)
        return clone

    def reverse(self) -> QuerySet[M]:
        """The same query in the opposite order."""
        self._refuse_sliced("reverse")
        ordering = self._effective_ordering() or (self.model._meta.pk.name,)
        clone = self._clone()
        clone._order = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)
        return clone

    def limit(self, count: int) -> QuerySet[M]:
        """At most *count* rows."""
        clone = self._clone()
        clone._limit = _row_count("limit()", count)
        return clone

    def offset(self, count: int) -> QuerySet[M]:
        """Skip the first *count* rows."""
        clone = self._clone()
        clone._offset = _row_count("offset()", count)
        return clone

    def __getitem__(self, item: slice | int) -> Any:
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError("QuerySet slices take no step.")
            start = _row_count("A QuerySet slice's start", item.start or 0)
            stop = item.stop
            if stop is not None:
                _row_count("A QuerySet slice's stop", stop, upper=None)
            clone = self._clone()
            base = self._offset or 0
            if start:
                clone._offset = _row_count("The offset of a sliced QuerySet", base + start)
            if stop is not None:
                stop = max(stop, start)
                available = stop - start
                clone._limit = _row_count(
                    "The limit of a sliced QuerySet",
                    available
                    if self._limit is None
                    else min(available, max(self._limit - start, 0)),
                )
            elif self._limit is not None:
                clone._limit = max(self._limit - start, 0)
            return clone
        if isinstance(item, int) and not isinstance(item, bool):
            _row_count("A QuerySet index", item)
            return self[item : item + 1]._one_at(item)
        raise TypeError(f"QuerySet indexes are ints or slices, got {type(item).__name__}.")

    async def _one_at(self, index: int) -> M:
        rows = await self
        if not rows:
            raise IndexError(f"QuerySet index {index} is out of range.")
        return rows[0]

    def only(self, *names: str) -> QuerySet[M]:
        """Load just these fields (and the primary key); reading another one raises."""
        for name in names:
            compiler_field(self.model, name)
        clone = self._clone()
        clone._only = tuple(names)
        return clone

    def defer(self, *names: str) -> QuerySet[M]:
        """Load every field but these; reading one of them raises."""
        for name in names:
            if self.model._meta.get_field(name).primary_key:
                raise FieldError(
                    f"The primary key {self.model.__name__}.{name} cannot be deferred."
                )
        clone = self._clone()
        clone._defer = (*self._defer, *names)
        return clone

    def distinct(self) -> QuerySet[M]:
        """Drop duplicate rows (``SELECT DISTINCT``)."""
        clone = self._clone()
        clone._distinct = True
        return clone

    def values(self, *names: str) -> QuerySet[M]:
        """Rows as dicts of these fields (all fields when none are named); paths allowed."""
        return self._as_values(names, "dict")

    def values_list(self, *names: str, flat: bool = False) -> QuerySet[M]:
        """Rows as tuples of these fields, or bare values with ``flat=True`` (one field)."""
        if flat and len(names) != 1:
            raise TypeError("values_list(flat=True) takes exactly one field name.")
        return self._as_values(names, "flat" if flat else "tuple")

    def _as_values(self, names: Sequence[str], mode: str) -> QuerySet[M]:
        if not names:
            names = self.model._meta.attnames
        annotated = {name for name, _ in self._annotations}
        for name in names:
            if name not in annotated:
                compiler_field(self.model, name)
        clone = self._clone()
        clone._values = tuple(names)
        clone._values_mode = mode
        return clone

    def select_for_update(self, *, nowait: bool = False, skip_locked: bool = False) -> QuerySet[M]:
        """Lock the selected rows until the transaction ends (PostgreSQL; SQLite locks the
        whole database for writing inside ``atomic()`` already). Evaluating it outside
        ``atomic()`` raises ``TransactionError``."""
        clone = self._clone()
        clone._for_update = (nowait, skip_locked)
        return clone

    def select_related(self, *names: str) -> QuerySet[M]:
        """Load these foreign keys (``"author"``, ``"post__author"``) in the same query, by
        JOIN (LEFT OUTER for nullable keys)."""
        for name in names:
            parts = name.split("__")
            check_depth(parts, relations=len(parts))
        clone = self._clone()
        clone._related = tuple(dict.fromkeys((*self._related, *names)))
        return clone

    def prefetch_related(self, *lookups: str | Prefetch) -> QuerySet[M]:
        """Load these relations with one extra query per level (``"comments__author"``)."""
        clone = self._clone()
        clone._prefetch = (*self._prefetch, *normalize(lookups))
        return clone

    def annotate(self, **annotations: Aggregate) -> QuerySet[M]:
        """Add aggregates over relations as attributes: ``annotate(n=Count("comments"))``."""
        for name, annotation in annotations.items():
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
        clone = self._clone()
        clone._annotations = (*self._annotations, *annotations.items())
        if clone._values is not None:
            clone._values = (*clone._values, *annotations)
            clone._grouped = True
        return clone

    def relation_loading(self, mode: str) -> QuerySet[M]:
        """How relations of the fetched rows load lazily: ``"lazy"`` (a query per ``await``),
        ``"peers"`` (the first ``await`` loads the relation for every row of this result)
        or ``"raise"`` (any lazy load is an error)."""
        if mode not in RELATION_LOADING_MODES:
            raise ValueError(
                f"relation_loading() takes one of {', '.join(RELATION_LOADING_MODES)}, got {mode!r}."
            )
        clone = self._clone()
        clone._loading = mode
        return clone

    def none(self) -> QuerySet[M]:
        """A query that returns nothing and never touches the database."""
        clone = self._clone()
        clone._empty = True
        return clone

    # Running --------------------------------------------------------------------------

    def _effective_ordering(self) -> tuple[str, ...]:
        if self._order is not None:
            return self._order
        if self._distinct and self._values is not None:
            return ()  # the default ordering's columns would change what DISTINCT compares
        return self.model._meta.ordering

    def _key(self, kind: str, dialect: Dialect) -> Hashable:
        return (
            kind,
            self.model,
            dialect.name,
            tuple([node.shape for node in self._where]),
            self._order,
            self._limit is None,
            self._offset is None,
            self._only,
            self._defer,
            self._distinct,
            self._values,
            self._values_mode,
            self._grouped,
            self._for_update,
            self._related,
            tuple([(name, annotation.shape()) for name, annotation in self._annotations])
            if self._annotations
            else (),
            tuple([node.shape for node in self._having]) if self._having else (),
        )

    def _compiled(self, dialect: Dialect) -> CompiledSelect:
        key = self._key("select", dialect)
        entry = sql_cache.get(key)
        if entry is None:
            entry = compiler.compile_select(self, dialect)
            sql_cache.put(key, entry)
        return entry  # type: ignore[no-any-return]

    async def _fetch(self) -> list[Any]:
        if self._for_update is not None:
            self._refuse_unlocked()
        if self._empty:
            return []
        database = get_database()
        dialect = database.dialect
        compiled = self._compiled(dialect)
        rows = await database.fetch(
            compiled.sql,
            select_params(self, dialect),
            read_only=self._for_update is None,
            keeps_session=True,
        )
        result = compiled.build(rows)
        if self._values is None and result:
            mode = self._loading or settings.RELATION_LOADING
            if mode != "lazy" or self._loading is not None:
                for instance in result:
                    instance.__dict__["_loading"] = mode
                    instance.__dict__["_peers"] = result
            if self._prefetch:
                await prefetch(result, self._prefetch)
        return result

    def _refuse_unlocked(self) -> None:
        if not in_atomic_block(get_database()):
            raise TransactionError(
                f"select_for_update() on {self.model.__name__} outside atomic(): its row locks "
                "would end with the SELECT itself and protect nothing. Run the query, and the "
                "writes it guards, inside `async with atomic():`."
            )

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[M]:
        for item in await self._fetch():
            yield item

    async def first(self) -> M | None:
        """The first row by the query's ordering (the primary key when unordered), or None."""
        queryset = self if self._effective_ordering() else self.order_by(self.model._meta.pk.name)
        rows = await queryset.limit(1)
        return rows[0] if rows else None

    async def last(self) -> M | None:
        """The last row by the query's ordering (the primary key when unordered), or None."""
        self._refuse_sliced("last")
        rows = await self.reverse().limit(1)
        return rows[0] if rows else None

    async def get(self, *args: Q, **kwargs: Any) -> M:
        """The one row matching; raises ``Model.DoesNotExist`` / ``MultipleObjectsReturned``."""
        if args or kwargs:
            self._refuse_sliced("filter")
            queryset = self._filtered(args, kwargs, negate=False)  # a fresh clone
        else:
            queryset = self._clone()
        if queryset._limit is None and queryset._offset is None:
            queryset._order = ()  # ordering one row is wasted work
            queryset._limit = 2
        rows: list[M] = await queryset._fetch()
        if len(rows) == 1:
            return rows[0]
        model = self.model
        if not rows:
            raise model.DoesNotExist(f"No {model.__name__} matches the query.")
        raise model.MultipleObjectsReturned(
            f"get() found more than one {model.__name__}; add lookups that pick exactly one."
        )

    async def count(self) -> int:
        """The number of matching rows (``SELECT COUNT(*)``)."""
        if self._empty:
            return 0
        database = get_database()
        dialect = database.dialect
        sql = cached(self._key("count", dialect), lambda: compiler.compile_count(self, dialect))
        value = await database.fetchval(
            sql, select_params(self, dialect), read_only=True, keeps_session=True
        )
        return int(value)

    async def exists(self) -> bool:
        """True when at least one row matches."""
        if self._empty:
            return False
        database = get_database()
        dialect = database.dialect
        sql = cached(self._key("exists", dialect), lambda: compiler.compile_exists(self, dialect))
        row = await database.fetchrow(
            sql, select_params(self, dialect), read_only=True, keeps_session=True
        )
        return row is not None

    async def aggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """``aggregate(total=Sum("view_count"))`` -> ``{"total": …}`` over the matching rows."""
        if not aggregates:
            raise TypeError("aggregate() takes at least one name=Aggregate(...) argument.")
        for name, aggregate in aggregates.items():
            if not isinstance(aggregate, Aggregate):
                raise TypeError(
                    f"aggregate({name}=...) takes Count/Sum/Avg/Min/Max, got {aggregate!r}."
                )
        database = get_database()
        dialect = database.dialect
        shape = tuple((name, aggregate.shape()) for name, aggregate in aggregates.items())
        key = (self._key("aggregate", dialect), shape)
        sql, sources = cached(key, lambda: compiler.compile_aggregate(self, dialect, aggregates))
        params: list[Any] = []
        for aggregate in aggregates.values():
            params.extend(aggregate.params(dialect))
        if self._annotations:
            params.extend(select_params(compiler.grouped_keys(self), dialect))
        else:
            params.extend(select_params(self, dialect))
        if self._empty:
            row: Any = [None] * len(aggregates)
        else:
            row = await database.fetchrow(sql, params, read_only=True, keeps_session=True)
        return {
            name: aggregate.convert(value, source, dialect)
            for (name, aggregate), value, source in zip(
                aggregates.items(), row, sources, strict=True
            )
        }

    async def explain(self, *, analyze: bool = False) -> str:
        """The database's plan for this query, as text."""
        database = get_database()
        dialect = database.dialect
        compiled = self._compiled(dialect)
        rows = await database.fetch(
            dialect.explain(compiled.sql, analyze=analyze),
            select_params(self, dialect),
            read_only=self._for_update is None,
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
        queryset: QuerySet[M] = self
        if id_list is not None:
            keys = list(id_list)
            if not keys:
                return {}
            queryset = self.filter(**{f"{field_name}__in": keys})
        return {obj.__dict__[field.attname]: obj for obj in await queryset}

    # Writing --------------------------------------------------------------------------

    async def create(self, **values: Any) -> M:
        """Insert a new row and return its instance (primary key set)."""
        instance = self.model(**values)
        await instance.save(force_insert=True)
        return instance

    async def bulk_create(
        self, instances: Sequence[M], *, batch_size: int | None = None
    ) -> list[M]:
        """Insert many instances in as few statements as possible; sets their primary keys."""
        from aksara.orm.persistence import bulk_create

        return cast(list[M], await bulk_create(self.model, instances, batch_size=batch_size))

    async def bulk_update(
        self, instances: Sequence[M], fields: Sequence[str], *, batch_size: int | None = None
    ) -> int:
        """Write *fields* of many saved instances in one statement per batch."""
        from aksara.orm.persistence import bulk_update

        return await bulk_update(self.model, instances, fields, batch_size=batch_size)

    async def update(self, **values: Any) -> int:
        """Set fields of every matching row (values or ``F`` expressions); returns the count."""
        if not values:
            raise TypeError("update() takes at least one field=value argument.")
        if self._limit is not None or self._offset is not None:
            raise TypeError("Cannot update a sliced query; filter by primary key instead.")
        meta = self.model._meta
        database = get_database()
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
        if self._empty:
            return 0
        shape = tuple(
            (name, v.shape() if isinstance(v, Expression) else None) for name, v in values.items()
        )
        key = (self._key("update", dialect), shape)
        sql, plans = cached(key, lambda: compiler.compile_update(self, dialect, values))
        params: list[Any] = []
        for value, plan in zip(cleaned_values, plans, strict=True):
            if plan is None:
                params.append(value)
            else:
                params.extend(assignment_params(plan, value))
        params.extend(compiler.target_params(self, dialect))
        return await database.execute(
            sql, compiler.check_params(params, dialect), keeps_session=True
        )

    async def delete(self) -> int:
        """Delete every matching row; related rows follow their ``on_delete``."""
        if self._limit is not None or self._offset is not None:
            raise TypeError("Cannot delete a sliced query; filter by primary key instead.")
        if self._empty:
            return 0
        from aksara.orm.persistence import explain_delete_error

        database = get_database()
        dialect = database.dialect
        sql = cached(self._key("delete", dialect), lambda: compiler.compile_delete(self, dialect))
        params = compiler.check_params(compiler.target_params(self, dialect), dialect)
        try:
            return await database.execute(sql, params, keeps_session=True)
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
        async with atomic():
            try:
                instance = await self.select_for_update().get(**lookups)
            except self.model.DoesNotExist:
                instance, created = await self._create_or_get(values, lookups, lock=True)
                if created:
                    return instance, True
            for name, value in (defaults or {}).items():
                setattr(instance, name, value)
            await instance.save()
            return instance, False

    async def _create_or_get(
        self, values: dict[str, Any], lookups: dict[str, Any], *, lock: bool
    ) -> tuple[M, bool]:
        """Create the row in a savepoint; when a concurrent caller created it first (a unique
        violation), fetch theirs instead, locked for update when *lock*."""
        try:
            async with atomic():
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
        return f"<QuerySet {self.model.__name__} where={len(self._where)} limit={self._limit}>"


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
    """Check that *name* (a field path) exists on *model*; raise FieldError otherwise."""
    from aksara.orm.paths import resolve_path

    return resolve_path(model, name.split("__")).field
