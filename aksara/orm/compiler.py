"""The SQL compiler: QuerySet state -> SQL text, cached by the query's shape.

A query's shape is its structure without values (model, lookups, joins, ordering, whether
it has a limit...). The SQL of a shape is compiled once per dialect and kept in a bounded
dictionary, so a repeated query costs a lookup, and asyncpg's prepared-statement cache sees
the same text every time. Values are collected separately, in placeholder order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from aksara.exceptions import FieldError, QueryLimitError
from aksara.orm.arithmetic import Plan, compile_assignment
from aksara.orm.expressions import Aggregate, Expression, F
from aksara.orm.fields import Field, ForeignKey
from aksara.orm.paths import JoinStep, Path, forward_step, resolve_path
from aksara.orm.rows import Builder, Converter, RowNode, make_builder, make_instance_builder

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model
    from aksara.orm.options import Options
    from aksara.orm.queryset import QuerySet

__all__ = ["CompiledSelect", "SQLCache", "sql_cache"]


class SQLCache:
    """A bounded map of query shape -> compiled statement (oldest dropped first)."""

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self._entries: dict[Hashable, Any] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """Return the entry for *key*, or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def put(self, key: Hashable, entry: Any) -> None:
        """Store *entry*, dropping the oldest entry when full."""
        if len(self._entries) >= self.max_size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = entry

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        self._entries.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


sql_cache = SQLCache()


class CompiledSelect:
    """A SELECT's SQL plus the function that turns its rows into instances or values."""

    __slots__ = ("build", "names", "sql")

    def __init__(self, sql: str, names: tuple[str, ...], build: Builder) -> None:
        self.sql = sql
        self.names = names
        self.build = build


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
        self.qualify = qualify
        self.table = model._meta.table_name
        self.base = alias or self.table
        self._joins: dict[tuple[str, ...], str] = {(): self.base}
        self._join_sql: list[str] = []
        self._aliases = {self.base}
        self._join_keys: list[tuple[str, str]] = []
        self.annotations: dict[str, Aggregate] = {}
        self._annotation_sql: dict[str, str] = {}
        #: Aggregates over to-many relations become correlated subqueries (no GROUP BY).
        self.correlated = False
        #: True once an annotation needed GROUP BY (it aggregates no to-many relation).
        self.grouped = False
        self._subqueries = 0

    def placeholder(self) -> str:
        self.count += 1
        return self.dialect.placeholder(self.count)

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
                sql = aggregate.sql(self)
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


def _where_sql(qs: QuerySet[Any], ctx: Context, *, having: bool = False) -> str:
    nodes = (*qs._where, *qs._having) if having else qs._where
    if not nodes:
        return ""
    parts = [node.sql(ctx, False) for node in nodes]
    return " WHERE " + " AND ".join(parts)


def _order_sql(qs: QuerySet[Any], ctx: Context) -> str:
    ordering = qs._effective_ordering()
    if not ordering:
        return ""
    terms = []
    for item in ordering:
        if item == "?":
            terms.append("RANDOM()")
            continue
        descending = item.startswith("-")
        name = item.lstrip("-")
        # An annotation is ordered by its select-list alias, computed once per row.
        column = ctx.quote(ctx.dialect.alias(name)) if name in ctx.annotations else ctx.column(name)
        terms.append(column + (" DESC" if descending else " ASC"))
    return " ORDER BY " + ", ".join(terms)


def _limit_sql(qs: QuerySet[Any], ctx: Context) -> str:
    text = ""
    if qs._limit is not None:
        text = f" LIMIT {ctx.placeholder()}"
    if qs._offset is not None:
        if not text and ctx.dialect.name == "sqlite":
            text = " LIMIT -1"
        text += f" OFFSET {ctx.placeholder()}"
    return text


def check_params(params: list[Any], dialect: Dialect) -> list[Any]:
    """*params*, when the database takes that many in one statement; else QueryLimitError."""
    if len(params) > dialect.max_params:
        raise QueryLimitError(
            f"The statement binds {len(params):,} parameters; {dialect.name} takes at most "
            f"{dialect.max_params:,} in one statement. Split the query into smaller ones, or "
            "put many values of one field in one __in list (bound as a single parameter)."
        )
    return params


def where_params(qs: QuerySet[Any], dialect: Dialect) -> list[Any]:
    """The WHERE clause's values, in placeholder order."""
    params: list[Any] = []
    for node in qs._where:
        params.extend(node.params(dialect))
    return params


def target_params(qs: QuerySet[Any], dialect: Dialect) -> list[Any]:
    """The values of the WHERE clause :func:`compile_update` / :func:`compile_delete` write."""
    if qs._having:
        return select_params(grouped_keys(qs), dialect)
    return where_params(qs, dialect)


def select_params(qs: QuerySet[Any], dialect: Dialect) -> list[Any]:
    """All values of a SELECT compiled by :func:`compile_select`, in placeholder order."""
    if qs._annotations:
        params = []
        for _, aggregate in qs._annotations:
            params.extend(aggregate.params(dialect))
        params.extend(where_params(qs, dialect))
        for node in qs._having:
            params.extend(node.params(dialect))
    else:
        params = where_params(qs, dialect) if qs._where else []
    if qs._limit is not None:
        params.append(qs._limit)
    if qs._offset is not None:
        params.append(qs._offset)
    return check_params(params, dialect)


def selected_fields(qs: QuerySet[Any]) -> list[Field]:
    """The model fields a SELECT of instances loads (honouring only/defer)."""
    meta: Options = qs.model._meta
    if qs._only is None and not qs._defer:
        return meta.fields
    names = set(qs._only) if qs._only is not None else set(meta.field_names)
    names -= set(qs._defer)
    names.add(meta.pk.name)
    names.update(path.split("__", 1)[0] for path in qs._related)
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


def _related_fields(qs: QuerySet[Any], prefix: str, model: type[Model]) -> list[Field]:
    meta: Options = model._meta
    wanted = {name[len(prefix) :] for name in qs._only or () if name.startswith(prefix)}
    wanted = {name for name in wanted if "__" not in name}
    skipped = {name[len(prefix) :] for name in qs._defer if name.startswith(prefix)}
    if not wanted and not skipped:
        return list(meta.fields)
    keep = wanted or set(meta.field_names)
    keep = (keep - skipped) | {meta.pk.name}
    return [field for field in meta.fields if field.name in keep or field.attname in keep]


def _related_nodes(
    qs: QuerySet[Any], ctx: Context, parent: RowNode, columns: list[str], fields: list[Field]
) -> None:
    """Join each select_related path and add its columns, building the row-reading tree."""
    quote = ctx.quote
    tree: dict[str, Any] = {}
    for path in qs._related:
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
            chosen = _related_fields(qs, prefix + name + "__", target)
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


def compile_select(qs: QuerySet[Any], dialect: Dialect, *, start: int = 0) -> CompiledSelect:
    """Compile a SELECT of model instances (with select_related rows and annotations), or
    of ``values()`` columns; parameters are numbered after *start*."""
    ctx = Context(qs.model, dialect)
    ctx.count = start
    quote = dialect.quote
    annotations = dict(qs._annotations)
    ctx.annotations = annotations
    ctx.correlated = not qs._grouped
    for name in annotations:
        ctx.annotation(name)  # decides whether the query needs GROUP BY
    root: RowNode | None = None
    if qs._values is not None:
        names = qs._values
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
        base_fields = selected_fields(qs)
        base = quote(ctx.base)
        columns = [f"{base}.{quote(field.column)}" for field in base_fields]
        fields = list(base_fields)
        root = RowNode(qs.model, tuple(f.attname for f in base_fields), 0)
        if qs._related:
            _related_nodes(qs, ctx, root, columns, fields)  # type: ignore[arg-type]
        names = tuple(f.attname for f in fields if f is not None)
        converters = _converters(fields, dialect)
        for name, aggregate in annotations.items():
            source = aggregate.source_field(ctx) if isinstance(aggregate, Aggregate) else None
            converters[len(columns)] = _result_converter(aggregate, source, dialect)
            root.annotations.append((name, len(columns)))
            columns.append(f"{ctx.annotation(name)} AS {quote(dialect.alias(name))}")
    sql = "SELECT " + ("DISTINCT " if qs._distinct else "") + ", ".join(columns)
    if ctx.grouped:
        where = _where_sql(qs, ctx)
        group = _group_sql(qs, ctx, root)
        having = _having_sql(qs, ctx)
    else:  # correlated subqueries: conditions on them are plain WHERE conditions
        where = _where_sql(qs, ctx, having=True)
        group = having = ""
    order = _order_sql(qs, ctx)
    limit = _limit_sql(qs, ctx)
    sql += ctx.from_clause() + where + group + having + order + limit
    if qs._for_update is not None:
        sql += dialect.for_update(nowait=qs._for_update[0], skip_locked=qs._for_update[1])
    if root is not None:
        build = make_instance_builder(root, converters)
    else:
        build = make_builder(names, converters, qs._values_mode)
    return CompiledSelect(sql, tuple(names), build)


def _result_converter(aggregate: Expression, source: Field | None, dialect: Dialect) -> Converter:
    assert isinstance(aggregate, Aggregate)

    def convert(value: Any) -> Any:
        return aggregate.convert(value, source, dialect)

    return convert


def _group_sql(qs: QuerySet[Any], ctx: Context, root: RowNode | None) -> str:
    if not qs._annotations:
        return ""
    quote = ctx.quote
    if root is None:
        plain = [name for name in qs._values or () if name not in dict(qs._annotations)]
        return " GROUP BY " + ", ".join(ctx.column(name) for name in plain) if plain else ""
    keys = [f"{quote(ctx.base)}.{quote(qs.model._meta.pk.column)}"]
    for alias, pk_column in ctx.joined_keys():
        keys.append(f"{quote(alias)}.{quote(pk_column)}")
    return " GROUP BY " + ", ".join(keys)


def _having_sql(qs: QuerySet[Any], ctx: Context) -> str:
    if not qs._having:
        return ""
    return " HAVING " + " AND ".join(node.sql(ctx, False) for node in qs._having)


def compile_count(qs: QuerySet[Any], dialect: Dialect) -> str:
    """``SELECT COUNT(*)`` of the query (a subquery when it is sliced or distinct)."""
    if qs._limit is not None or qs._offset is not None or qs._distinct or qs._annotations:
        inner = compile_select(qs, dialect).sql
        return f"SELECT COUNT(*) FROM ({inner}) AS {dialect.quote('subquery')}"
    ctx = Context(qs.model, dialect)
    where = _where_sql(qs, ctx)
    return "SELECT COUNT(*)" + ctx.from_clause() + where


def compile_exists(qs: QuerySet[Any], dialect: Dialect) -> str:
    """``SELECT 1 … LIMIT 1``; the query's own limit and offset come first as params."""
    ctx = Context(qs.model, dialect)
    where = _where_sql(qs, ctx)
    if qs._limit is not None or qs._offset is not None or qs._annotations:
        inner = compile_select(qs, dialect).sql
        return f"SELECT 1 FROM ({inner}) AS {dialect.quote('subquery')} LIMIT 1"
    return "SELECT 1" + ctx.from_clause() + where + " LIMIT 1"


def compile_aggregate(
    qs: QuerySet[Any], dialect: Dialect, aggregates: dict[str, Aggregate]
) -> tuple[str, list[Field | None]]:
    """``SELECT SUM(…) AS total, …`` over the filtered rows; returns the source fields too."""
    ctx = Context(qs.model, dialect)
    if qs._limit is not None or qs._offset is not None or qs._distinct:
        raise FieldError(
            "aggregate() over a sliced or distinct query is not supported; aggregate before "
            "slicing."
        )
    columns = []
    sources = []
    for name, aggregate in aggregates.items():
        columns.append(f"{aggregate.sql(ctx)} AS {dialect.quote(name)}")
        sources.append(aggregate.source_field(ctx))
    if qs._annotations:
        # Aggregate the rows the grouped (and HAVING-filtered) query selects, in one statement.
        inner = compile_select(grouped_keys(qs), dialect, start=ctx.count).sql
        quote = dialect.quote
        pk = f"{quote(ctx.base)}.{quote(qs.model._meta.pk.column)}"
        where = f" WHERE {pk} IN ({inner})"
    else:
        where = _where_sql(qs, ctx)
    return "SELECT " + ", ".join(columns) + ctx.from_clause() + where, sources


def grouped_keys(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The primary keys an annotated query selects (its GROUP BY and HAVING kept)."""
    keys = qs.order_by()
    keys._values = ("pk",)
    keys._values_mode = "flat"
    return keys


def _target_rows(qs: QuerySet[Any], ctx: Context) -> str:
    """WHERE clause of an UPDATE/DELETE: direct, or through the pk when filters join or
    compare annotations (then the rows are those the annotated query selects)."""
    quote = ctx.dialect.quote
    if qs._having:
        inner = compile_select(grouped_keys(qs), ctx.dialect, start=ctx.count).sql
        return f" WHERE {quote(qs.model._meta.pk.column)} IN ({inner})"
    probe = Context(qs.model, ctx.dialect)
    probe.count = ctx.count
    where = _where_sql(qs, probe)
    if len(probe._joins) == 1:
        unqualified = Context(qs.model, ctx.dialect, qualify=False)
        unqualified.count = ctx.count
        where = _where_sql(qs, unqualified)
        ctx.count = unqualified.count
        return where
    ctx.count = probe.count
    pk = quote(qs.model._meta.pk.column)
    table = quote(ctx.base)
    return f" WHERE {pk} IN (SELECT {table}.{pk}{probe.from_clause()}{where})"


def compile_update(
    qs: QuerySet[Any], dialect: Dialect, values: dict[str, Any]
) -> tuple[str, list[Plan | None]]:
    """``UPDATE … SET …`` for the filtered rows, and per value the plan binding an
    expression's values (None for a plain value); expressions are type-checked here."""
    ctx = Context(qs.model, dialect, qualify=False)
    meta = qs.model._meta
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
            plans.append(None)
    if len(ctx._joins) > 1:
        raise FieldError("update() expressions may only use the model's own fields.")
    sql = f"UPDATE {quote(meta.table_name)} SET {', '.join(assignments)}" + _target_rows(qs, ctx)
    return sql, plans


def compile_delete(qs: QuerySet[Any], dialect: Dialect) -> str:
    """``DELETE FROM …`` for the filtered rows."""
    ctx = Context(qs.model, dialect, qualify=False)
    return f"DELETE FROM {dialect.quote(qs.model._meta.table_name)}" + _target_rows(qs, ctx)


def cached(key: Hashable, build: Callable[[], Any]) -> Any:
    """Return the compiled statement of *key*, compiling it with *build* once."""
    entry = sql_cache.get(key)
    if entry is None:
        entry = build()
        sql_cache.put(key, entry)
    return entry
