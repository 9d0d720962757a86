"""The SQL compiler: a :class:`Query` -> a :class:`Statement` (SQL text, how to bind it).

A query's shape is its structure without values (:meth:`Query.cache_key`). The statement of
a shape is compiled once per database and kept in the database's
:class:`~aksara.db.statements.StatementCache`, so a repeated query costs a lookup, and
asyncpg's prepared-statement cache sees the same text every time. While it writes the SQL,
the compiler records for each placeholder where its value is read in the query and how it
is adapted, and turns that record into one generated function: the parameters cannot
disagree with the SQL, and the positions of values bound to secret columns are known.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from aksara.db.querylog import is_secret_column
from aksara.db.statements import StatementCache
from aksara.exceptions import FieldError, QueryLimitError
from aksara.orm.arithmetic import Plan, compile_assignment
from aksara.orm.expressions import Aggregate, Expression, F
from aksara.orm.fields import Field, ForeignKey
from aksara.orm.paths import JoinStep, Path, forward_step, resolve_path
from aksara.orm.query import Query
from aksara.orm.rows import Builder, Converter, RowNode, make_builder, make_instance_builder

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model
    from aksara.orm.options import Options

__all__ = ["CompiledSelect", "Statement", "cached", "compile_select", "count_query"]

#: Reads the parameters of a compiled statement from a query (and the statement's own
#: arguments, such as aggregate()'s aggregates).
Binder = Callable[..., list[Any]]


def item(values: Sequence[Any], index: int) -> Any:
    """The *index*-th value of an ``in`` list padded to its size class with its last value."""
    return values[index] if index < len(values) else values[-1]


def _no_params(query: Query, extra: Any = None) -> list[Any]:
    return []


def make_binder(binds: Sequence[tuple[str, Callable[[Any], Any] | None]]) -> Binder:
    """Generate ``(q, x) -> params`` from the recorded (source, adapter) of each placeholder.

    Sources are paths written by the compiler from attribute names and indexes only.
    """
    if not binds:
        return _no_params
    namespace: dict[str, Any] = {"item": item}
    parts = []
    for index, (source, adapt) in enumerate(binds):
        if adapt is None:
            parts.append(source)
        else:
            namespace[f"adapt{index}"] = adapt
            parts.append(f"adapt{index}({source})")
    text = f"def params(q, x=None):\n    return [{', '.join(parts)}]\n"
    exec(compile(text, "<bound parameters>", "exec"), namespace)
    binder: Binder = namespace["params"]
    return binder


class Statement:
    """A compiled statement: its SQL, the function reading its parameters from a query,
    and the positions of parameters bound to secret-looking columns (kept out of logs)."""

    __slots__ = ("binds", "params", "secrets", "sql")

    def __init__(
        self,
        sql: str,
        binds: Sequence[tuple[str, Callable[[Any], Any] | None]] = (),
        secrets: frozenset[int] = frozenset(),
    ) -> None:
        self.sql = sql
        self.binds = tuple(binds)
        self.secrets = secrets
        self.params: Binder = make_binder(self.binds)


class CompiledSelect(Statement):
    """A SELECT's statement plus the function that turns its rows into instances or values."""

    __slots__ = ("build", "mode", "names")

    def __init__(
        self,
        ctx: Context,
        sql: str,
        names: tuple[str, ...],
        build: Builder,
        mode: str,
    ) -> None:
        super().__init__(sql, ctx.binds, frozenset(ctx.secrets))
        self.names = names
        self.build = build
        #: How rows are returned: "instances", or values()' "dict" / "tuple" / "flat".
        self.mode = mode


class UpdateStatement(Statement):
    """An UPDATE: its SET values are bound by *plans* (per value), its WHERE by ``params``."""

    __slots__ = ("plans",)

    def __init__(self, ctx: Context, sql: str, plans: list[Plan | None]) -> None:
        super().__init__(sql, ctx.binds, frozenset(ctx.secrets))
        self.plans = plans


class AggregateStatement(Statement):
    """``SELECT SUM(…), …``, with the field each aggregate reads (to convert its result)."""

    __slots__ = ("sources",)

    def __init__(self, ctx: Context, sql: str, sources: list[Field | None]) -> None:
        super().__init__(sql, ctx.binds, frozenset(ctx.secrets))
        self.sources = sources


def cached(cache: StatementCache, key: Hashable, build: Callable[[], Any]) -> Any:
    """Return the statement of *key* from *cache*, compiling it with *build* once."""
    entry = cache.get(key)
    if entry is None:
        entry = build()
        cache.put(key, entry)
    return entry


class Context:
    """Compilation state of one statement: joins made so far and parameters numbered."""

    def __init__(
        self,
        model: type[Model],
        dialect: Dialect,
        *,
        qualify: bool = True,
        alias: str | None = None,
    ) -> None:
        self.model = model
        self.dialect = dialect
        self.quote = dialect.quote
        self.count = 0
        #: (source, adapter) of each parameter bound from the query, in placeholder order.
        self.binds: list[tuple[str, Callable[[Any], Any] | None]] = []
        self.secrets: set[int] = set()
        self.qualify = qualify
        self.table = model._meta.table_name
        self.base = alias or self.table
        self._joins: dict[tuple[str, ...], str] = {(): self.base}
        self._join_sql: list[str] = []
        self._aliases = {self.base}
        self._join_keys: list[tuple[str, str]] = []
        self.annotations: dict[str, Aggregate] = {}
        #: Where each annotation is found in the query (``q.annotations[0][1]``).
        self.annotation_at: dict[str, str] = {}
        self._annotation_sql: dict[str, str] = {}
        #: Aggregates over to-many relations become correlated subqueries (no GROUP BY).
        self.correlated = False
        #: True once an annotation needed GROUP BY (it aggregates no to-many relation).
        self.grouped = False
        self._subqueries = 0

    def placeholder(self) -> str:
        self.count += 1
        return self.dialect.placeholder(self.count)

    def bind(
        self, source: str, adapt: Callable[[Any], Any] | None = None, *, secret: bool = False
    ) -> str:
        self.count += 1
        if secret:
            self.secrets.add(self.count - 1)
        self.binds.append((source, adapt))
        return self.dialect.placeholder(self.count)

    def absorb(self, other: Context) -> None:
        """Continue after *other*, a context compiled from this one's count (a subquery)."""
        self.count = other.count
        self.binds.extend(other.binds)
        self.secrets.update(other.secrets)

    def checked(self) -> Context:
        """This context, when the database takes its number of parameters; else
        QueryLimitError (decided once per shape, when it compiles)."""
        if self.count > self.dialect.max_params:
            raise QueryLimitError(
                f"The statement binds {self.count:,} parameters; {self.dialect.name} takes at "
                f"most {self.dialect.max_params:,} in one statement. Split the query into "
                "smaller ones, or put many values of one field in one __in list (bound as a "
                "single parameter)."
            )
        return self

    def field(self, name: str) -> Field:
        aggregate = self.annotations.get(name)
        if aggregate is not None:
            return aggregate.result_field(self.model, name)
        return resolve_path(self.model, name.split("__")).field

    def column(self, name: str) -> str:
        if name in self.annotations:
            # The aggregate itself: WHERE and HAVING cannot name a select-list alias.
            return self.annotation(name)
        return self.path_column(resolve_path(self.model, name.split("__")))

    def new_alias(self, name: str) -> str:
        """An alias based on *name*, distinct from this statement's others once the
        database has cut it to its identifier length."""
        alias = self.dialect.alias(name)
        suffix = 1
        while alias in self._aliases:
            suffix += 1
            alias = self.dialect.alias(f"{name}{suffix}")
        self._aliases.add(alias)
        return alias

    def path_column(self, path: Path) -> str:
        """SQL of the column at the end of a resolved *path* (joining as needed)."""
        alias = self.join(path.joins)
        if not self.qualify and alias == self.base:
            return self.quote(path.field.column)
        return f"{self.quote(alias)}.{self.quote(path.field.column)}"

    def join(self, steps: Sequence[JoinStep]) -> str:
        """Join along *steps* (once per path) and return the last table's alias."""
        names: tuple[str, ...] = ()
        alias = self.base
        nullable = False
        for step in steps:
            names = (*names, step.name)
            nullable = nullable or step.nullable
            existing = self._joins.get(names)
            if existing is not None:
                alias = existing
                continue
            target = step.target._meta
            new_alias = self.new_alias(target.table_name)
            kind = "LEFT OUTER JOIN" if nullable else "INNER JOIN"
            quote = self.quote
            table = quote(target.table_name)
            table_sql = (
                table if new_alias == target.table_name else f"{table} AS {quote(new_alias)}"
            )
            self._join_sql.append(
                f" {kind} {table_sql} ON {quote(new_alias)}.{quote(step.right_column)} = "
                f"{quote(alias)}.{quote(step.left_column)}"
            )
            self._joins[names] = new_alias
            if not step.many:
                self._join_keys.append((new_alias, target.pk.column))
            alias = new_alias
        return alias

    def annotation(self, name: str) -> str:
        """The SQL of the aggregate annotated as *name*."""
        sql = self._annotation_sql.get(name)
        if sql is None:
            aggregate = self.annotations[name]
            sql = self._correlated(aggregate) if self.correlated else None
            if sql is None:
                self.grouped = True
                bound = len(self.binds)
                sql = aggregate.sql(self, self.annotation_at[name])
                if len(self.binds) != bound:
                    return sql  # its values are bound again wherever it is written
            self._annotation_sql[name] = sql
        return sql

    def _correlated(self, aggregate: Aggregate) -> str | None:
        """``(SELECT COUNT(c.id) FROM comments c WHERE c.post_id = posts.id)`` for an
        aggregate over a to-many relation: computed only for the rows the query returns,
        where a JOIN + GROUP BY aggregates every related row before LIMIT applies."""
        source = aggregate.source
        if not isinstance(source, F):
            return None
        path = resolve_path(self.model, source.name.split("__"))
        index = next((i for i, step in enumerate(path.joins) if step.many), None)
        if index is None:
            return None
        outer = self.join(path.joins[:index])
        step = path.joins[index]
        self._subqueries += 1
        inner = Context(
            step.target,
            self.dialect,
            alias=self.new_alias(f"{step.target._meta.table_name}__{self._subqueries}"),
        )
        # One set of aliases for the whole statement: a join inside the subquery named like
        # an outer table would hide it from the correlation.
        inner._aliases = self._aliases
        rest = Path(path.joins[index + 1 :], path.field)
        column = inner.path_column(rest)
        quote = self.quote
        if aggregate.function == "COUNT" and not aggregate.distinct and not rest.nullable:
            # Counting a never-null column counts rows: COUNT(*) can use the index alone.
            function = "COUNT(*)"
        else:
            function = f"{aggregate.function}({'DISTINCT ' if aggregate.distinct else ''}{column})"
        return (
            f"(SELECT {function}{inner.from_clause()} WHERE {quote(inner.base)}."
            f"{quote(step.right_column)} = {quote(outer)}.{quote(step.left_column)})"
        )

    def joined_keys(self) -> list[tuple[str, str]]:
        """(alias, primary-key column) of every to-one join made so far."""
        return list(self._join_keys)

    def from_clause(self) -> str:
        table = self.quote(self.table)
        if self.base != self.table:
            table += f" AS {self.quote(self.base)}"
        return f" FROM {table}" + "".join(self._join_sql)


def _where_sql(query: Query, ctx: Context, *, having: bool = False) -> str:
    parts = [node.sql(ctx, False, f"q.where[{i}]") for i, node in enumerate(query.where)]
    if having:
        parts += [node.sql(ctx, False, f"q.having[{i}]") for i, node in enumerate(query.having)]
    return " WHERE " + " AND ".join(parts) if parts else ""


def effective_ordering(query: Query) -> tuple[str, ...]:
    """The ORDER BY names of *query*: its own, or the model's default ordering."""
    if query.order is not None:
        return query.order
    if query.distinct and query.values is not None:
        return ()  # the default ordering's columns would change what DISTINCT compares
    ordering: tuple[str, ...] = query.model._meta.ordering
    return ordering


def _order_sql(query: Query, ctx: Context) -> str:
    ordering = effective_ordering(query)
    if not ordering:
        return ""
    terms = []
    for name in ordering:
        if name == "?":
            terms.append("RANDOM()")
            continue
        descending = name.startswith("-")
        name = name.lstrip("-")
        # An annotation is ordered by its select-list alias, computed once per row.
        column = ctx.quote(ctx.dialect.alias(name)) if name in ctx.annotations else ctx.column(name)
        terms.append(column + (" DESC" if descending else " ASC"))
    return " ORDER BY " + ", ".join(terms)


def _limit_sql(query: Query, ctx: Context) -> str:
    limit = ctx.bind("q.limit") if query.limit is not None else None
    offset = ctx.bind("q.offset") if query.offset is not None else None
    return ctx.dialect.limit_offset(limit, offset)


def where_params(query: Query, dialect: Dialect) -> list[Any]:
    """The values of *query*'s WHERE clause, in placeholder order (as the compiler binds them)."""
    ctx = Context(query.model, dialect)
    _where_sql(query, ctx)
    return make_binder(ctx.binds)(query)


def select_params(query: Query, dialect: Dialect) -> list[Any]:
    """All values of the SELECT :func:`compile_select` writes for *query*, in order."""
    return compile_select(query, dialect).params(query)


def selected_fields(query: Query) -> list[Field]:
    """The model fields a SELECT of instances loads (honouring only/defer)."""
    meta: Options = query.model._meta
    if query.only is None and not query.defer:
        return meta.fields
    names = set(query.only) if query.only is not None else set(meta.field_names)
    names -= set(query.defer)
    names.add(meta.pk.name)
    names.update(path.split("__", 1)[0] for path in query.related)
    return [field for field in meta.fields if field.name in names or field.attname in names]


def _converters(fields: Sequence[Field | None], dialect: Dialect) -> dict[int, Converter]:
    found = {}
    for index, field in enumerate(fields):
        if field is None:
            continue
        if field.kind == "decimal" and "decimal" in dialect.converters:
            found[index] = field.from_db  # type: ignore[attr-defined]
            continue
        converter = dialect.converters.get(field.kind)
        if converter is not None:
            found[index] = converter
    return found


def _related_fields(query: Query, prefix: str, model: type[Model]) -> list[Field]:
    meta: Options = model._meta
    wanted = {name[len(prefix) :] for name in query.only or () if name.startswith(prefix)}
    wanted = {name for name in wanted if "__" not in name}
    skipped = {name[len(prefix) :] for name in query.defer if name.startswith(prefix)}
    if not wanted and not skipped:
        return list(meta.fields)
    keep = wanted or set(meta.field_names)
    keep = (keep - skipped) | {meta.pk.name}
    return [field for field in meta.fields if field.name in keep or field.attname in keep]


def _related_nodes(
    query: Query, ctx: Context, parent: RowNode, columns: list[str], fields: list[Field]
) -> None:
    """Join each select_related path and add its columns, building the row-reading tree."""
    quote = ctx.quote
    tree: dict[str, Any] = {}
    for path in query.related:
        level = tree
        for part in path.split("__"):
            level = level.setdefault(part, {})

    def walk(level: dict[str, Any], node: RowNode, steps: list[JoinStep], prefix: str) -> None:
        for name, children in level.items():
            field = node.model._meta._by_name.get(name)
            if not isinstance(field, ForeignKey) or field.name != name:
                raise FieldError(
                    f"select_related({prefix + name!r}): {node.model.__name__}.{name} is not a "
                    "foreign key. select_related follows foreign keys (one row each); use "
                    "prefetch_related for reverse and many-to-many relations."
                )
            path_steps = [*steps, forward_step(field)]
            alias = ctx.join(path_steps)
            target = field.related_model
            chosen = _related_fields(query, prefix + name + "__", target)
            start = len(columns)
            for chosen_field in chosen:
                columns.append(f"{quote(alias)}.{quote(chosen_field.column)}")
                fields.append(chosen_field)
            pk_index = start + chosen.index(target._meta.pk)
            child = RowNode(
                target,
                tuple(f.attname for f in chosen),
                start,
                pk_index=pk_index,
                attribute=name,
                nullable=any(step.nullable for step in path_steps),
            )
            node.children.append(child)
            walk(children, child, path_steps, prefix + name + "__")

    walk(tree, parent, [], "")


def compile_select(query: Query, dialect: Dialect, *, start: int = 0) -> CompiledSelect:
    """Compile a SELECT of model instances (with select_related rows and annotations), or
    of ``values()`` columns; parameters are numbered after *start*."""
    ctx = Context(query.model, dialect)
    ctx.count = start
    quote = dialect.quote
    annotations = dict(query.annotations)
    ctx.annotations = annotations
    ctx.annotation_at = {
        name: f"q.annotations[{index}][1]" for index, (name, _) in enumerate(query.annotations)
    }
    ctx.correlated = not query.grouped
    for name in annotations:
        ctx.annotation(name)  # decides whether the query needs GROUP BY
    # Markers made while deciding are not written; those of the select list are.
    ctx.count = start
    ctx.binds.clear()
    root: RowNode | None = None
    if query.values is not None:
        names = query.values
        fields: list[Field | None] = []
        columns = []
        for name in names:
            if name in annotations:
                columns.append(f"{ctx.annotation(name)} AS {quote(dialect.alias(name))}")
                fields.append(None)
            else:
                columns.append(ctx.column(name))
                fields.append(ctx.field(name))
        converters = _converters(fields, dialect)
    else:
        base_fields = selected_fields(query)
        base = quote(ctx.base)
        columns = [f"{base}.{quote(field.column)}" for field in base_fields]
        fields = list(base_fields)
        root = RowNode(query.model, tuple(f.attname for f in base_fields), 0)
        if query.related:
            _related_nodes(query, ctx, root, columns, fields)  # type: ignore[arg-type]
        names = tuple(f.attname for f in fields if f is not None)
        converters = _converters(fields, dialect)
        for name, aggregate in annotations.items():
            source = aggregate.source_field(ctx) if isinstance(aggregate, Aggregate) else None
            converters[len(columns)] = _result_converter(aggregate, source, dialect)
            root.annotations.append((name, len(columns)))
            columns.append(f"{ctx.annotation(name)} AS {quote(dialect.alias(name))}")
    sql = "SELECT " + ("DISTINCT " if query.distinct else "") + ", ".join(columns)
    if ctx.grouped:
        where = _where_sql(query, ctx)
        group = _group_sql(query, ctx, root)
        having = _having_sql(query, ctx)
    else:  # correlated subqueries: conditions on them are plain WHERE conditions
        where = _where_sql(query, ctx, having=True)
        group = having = ""
    order = _order_sql(query, ctx)
    limit = _limit_sql(query, ctx)
    sql += ctx.from_clause() + where + group + having + order + limit
    if query.for_update is not None:
        nowait, skip_locked = query.for_update
        sql += dialect.for_update(nowait=nowait, skip_locked=skip_locked)
    if root is not None:
        build = make_instance_builder(root, converters)
        mode = "instances"
    else:
        build = make_builder(names, converters, query.values_mode)
        mode = query.values_mode
    return CompiledSelect(ctx.checked(), sql, tuple(names), build, mode)


def _result_converter(aggregate: Expression, source: Field | None, dialect: Dialect) -> Converter:
    assert isinstance(aggregate, Aggregate)

    def convert(value: Any) -> Any:
        return aggregate.convert(value, source, dialect)

    return convert


def _group_sql(query: Query, ctx: Context, root: RowNode | None) -> str:
    if not query.annotations:
        return ""
    quote = ctx.quote
    if root is None:
        annotated = dict(query.annotations)
        plain = [name for name in query.values or () if name not in annotated]
        return " GROUP BY " + ", ".join(ctx.column(name) for name in plain) if plain else ""
    keys = [f"{quote(ctx.base)}.{quote(query.model._meta.pk.column)}"]
    for alias, pk_column in ctx.joined_keys():
        keys.append(f"{quote(alias)}.{quote(pk_column)}")
    return " GROUP BY " + ", ".join(keys)


def _having_sql(query: Query, ctx: Context) -> str:
    if not query.having:
        return ""
    parts = [node.sql(ctx, False, f"q.having[{i}]") for i, node in enumerate(query.having)]
    return " HAVING " + " AND ".join(parts)


def _subquery(query: Query, ctx: Context) -> str:
    """The SELECT of *query*, numbered and bound as part of *ctx*'s statement."""
    inner = compile_select(query, ctx.dialect, start=ctx.count)
    ctx.count += len(inner.binds)
    ctx.binds.extend(inner.binds)
    ctx.secrets.update(inner.secrets)
    return inner.sql


def count_query(query: Query) -> Query:
    """A query with as many rows as *query*, without what cannot change that number: the
    ordering, select_related joins, and annotations that no condition reads.

    Its WHERE, HAVING and annotations stay where *query* has them, so its statement binds
    from *query*. Grouped ``values()`` queries keep their select list (it is the GROUP BY).
    """
    query = query.replace(order=(), related=())
    if query.grouped:
        return query
    if query.having:
        # HAVING reads annotations: count the keys of the rows it keeps.
        return grouped_keys(query)
    if query.annotations:
        query = query.replace(annotations=())
    if query.values is None and (
        query.distinct or query.limit is not None or query.offset is not None
    ):
        # A subquery: instance rows hold the primary key, so it alone keeps the same rows.
        return query.replace(only=None, defer=(), values=("pk",), values_mode="flat")
    return query


def compile_count(query: Query, dialect: Dialect) -> Statement:
    """``SELECT COUNT(*)`` of the query (a subquery when it is sliced, distinct or
    filtered on annotations); :func:`count_query` leaves out what cannot change it."""
    query = count_query(query)
    ctx = Context(query.model, dialect)
    if query.limit is not None or query.offset is not None or query.distinct or query.annotations:
        inner = _subquery(query, ctx)
        sql = f"SELECT COUNT(*) FROM ({inner}) AS {dialect.quote('subquery')}"
    else:
        where = _where_sql(query, ctx)
        sql = "SELECT COUNT(*)" + ctx.from_clause() + where
    return Statement(sql, ctx.checked().binds, frozenset(ctx.secrets))


def compile_exists(query: Query, dialect: Dialect) -> Statement:
    """``SELECT 1 … LIMIT 1``; the query's own limit and offset come first as params."""
    ctx = Context(query.model, dialect)
    if query.limit is not None or query.offset is not None or query.annotations:
        inner = _subquery(query, ctx)
        sql = f"SELECT 1 FROM ({inner}) AS {dialect.quote('subquery')} LIMIT 1"
    else:
        where = _where_sql(query, ctx)
        sql = "SELECT 1" + ctx.from_clause() + where + " LIMIT 1"
    return Statement(sql, ctx.checked().binds, frozenset(ctx.secrets))


def compile_aggregate(
    query: Query, dialect: Dialect, aggregates: dict[str, Aggregate]
) -> AggregateStatement:
    """``SELECT SUM(…) AS total, …`` over the filtered rows, with the source fields.

    Its parameters are read from the query and from ``x``, the tuple of the aggregates.
    """
    ctx = Context(query.model, dialect)
    if query.limit is not None or query.offset is not None or query.distinct:
        raise FieldError(
            "aggregate() over a sliced or distinct query is not supported; aggregate before "
            "slicing."
        )
    columns = []
    sources = []
    for index, (name, aggregate) in enumerate(aggregates.items()):
        columns.append(f"{aggregate.sql(ctx, f'x[{index}]')} AS {dialect.quote(name)}")
        sources.append(aggregate.source_field(ctx))
    if query.annotations:
        # Aggregate the rows the grouped (and HAVING-filtered) query selects, in one statement.
        inner = _subquery(grouped_keys(query), ctx)
        quote = dialect.quote
        pk = f"{quote(ctx.base)}.{quote(query.model._meta.pk.column)}"
        where = f" WHERE {pk} IN ({inner})"
    else:
        where = _where_sql(query, ctx)
    sql = "SELECT " + ", ".join(columns) + ctx.from_clause() + where
    return AggregateStatement(ctx.checked(), sql, sources)


def grouped_keys(query: Query) -> Query:
    """The primary keys an annotated query selects (its GROUP BY and HAVING kept).

    Its WHERE, HAVING and annotations are the query's own, so a statement embedding it
    binds them from the query.
    """
    return query.replace(order=(), values=("pk",), values_mode="flat")


def _target_rows(query: Query, ctx: Context) -> str:
    """WHERE clause of an UPDATE/DELETE: direct, or through the pk when filters join or
    compare annotations (then the rows are those the annotated query selects)."""
    quote = ctx.dialect.quote
    if query.having:
        inner = _subquery(grouped_keys(query), ctx)
        return f" WHERE {quote(query.model._meta.pk.column)} IN ({inner})"
    probe = Context(query.model, ctx.dialect)
    probe.count = ctx.count
    where = _where_sql(query, probe)
    if len(probe._joins) == 1:
        unqualified = Context(query.model, ctx.dialect, qualify=False)
        unqualified.count = ctx.count
        where = _where_sql(query, unqualified)
        ctx.absorb(unqualified)
        return where
    ctx.absorb(probe)
    pk = quote(query.model._meta.pk.column)
    table = quote(ctx.base)
    return f" WHERE {pk} IN (SELECT {table}.{pk}{probe.from_clause()}{where})"


def compile_update(query: Query, dialect: Dialect, values: dict[str, Any]) -> UpdateStatement:
    """``UPDATE … SET …`` for the filtered rows, and per value the plan binding an
    expression's values (None for a plain value); expressions are type-checked here."""
    ctx = Context(query.model, dialect, qualify=False)
    meta = query.model._meta
    quote = dialect.quote
    assignments = []
    plans: list[Plan | None] = []
    for name, value in values.items():
        field = meta.get_field(name)
        if isinstance(value, Expression):
            sql, plan = compile_assignment(field, value, ctx)
            assignments.append(f"{quote(field.column)} = {sql}")
            plans.append(plan)
        else:
            assignments.append(f"{quote(field.column)} = {ctx.placeholder()}")
            if is_secret_column(field.column):
                ctx.secrets.add(ctx.count - 1)
            plans.append(None)
    if len(ctx._joins) > 1:
        raise FieldError("update() expressions may only use the model's own fields.")
    sql = f"UPDATE {quote(meta.table_name)} SET {', '.join(assignments)}"
    sql += _target_rows(query, ctx)
    return UpdateStatement(ctx.checked(), sql, plans)


def compile_delete(query: Query, dialect: Dialect) -> Statement:
    """``DELETE FROM …`` for the filtered rows."""
    ctx = Context(query.model, dialect, qualify=False)
    sql = f"DELETE FROM {dialect.quote(query.model._meta.table_name)}" + _target_rows(query, ctx)
    return Statement(sql, ctx.checked().binds, frozenset(ctx.secrets))
