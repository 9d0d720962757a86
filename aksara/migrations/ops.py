"""Operations Aksara adds to revisions (``aksara_ops.…``), and how autogenerate writes them.

* :func:`check_empty` precedes every drop of a column or table: ``migrate`` refuses to drop
  data unless run with ``--allow-drop``.
* :func:`fill_nulls` gives existing rows a field's default before its column becomes NOT NULL.
* :func:`create_index_concurrently` builds an index without locking writes on PostgreSQL
  (``CREATE INDEX CONCURRENTLY``, outside the revision's transaction); elsewhere it is
  ``op.create_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops

from aksara.db.dialects import PostgresDialect, SQLiteDialect
from aksara.migrations.errors import UnsafeMigrationError

__all__ = ["check_empty", "create_index_concurrently", "fill_nulls"]

_DIALECTS = {"postgresql": PostgresDialect(), "sqlite": SQLiteDialect()}


def _options() -> Any:
    config = op.get_context().config
    return None if config is None else config.attributes.get("aksara")


def check_empty(table: str, column: str | None = None) -> None:
    """Refuse to go on when *table* (or its *column*) holds data, unless ``--allow-drop``."""
    context = op.get_context()
    options = _options()
    if context.as_sql or (options is not None and options.allow_drop):
        return
    quote = _DIALECTS[context.dialect.name].quote
    where = f" WHERE {quote(column)} IS NOT NULL" if column else ""
    found = op.get_bind().exec_driver_sql(f"SELECT 1 FROM {quote(table)}{where} LIMIT 1").first()
    if found is not None:
        what = f"column {table}.{column}" if column else f"table {table}"
        raise UnsafeMigrationError(
            f"This revision drops the {what}, which holds data. Nothing was changed. Run "
            "`aksara migrate --allow-drop` (or migrate(allow_drop=True)) to drop it anyway, "
            "or move the data first in a data step."
        )


def fill_nulls(table: str, column: str, value: Any, *, kind: str) -> None:
    """Set *column* to *value* (a field default of *kind*) on the rows where it is NULL."""
    context = op.get_context()
    # JSON travels as its text (the column's codec takes text); the rest as Aksara writes it.
    adapt = _DIALECTS["sqlite" if kind == "json" else context.dialect.name].adapters.get(kind)
    if adapt is not None:
        value = adapt(value)
    quote = _DIALECTS[context.dialect.name].quote
    statement = sa.text(
        f"UPDATE {quote(table)} SET {quote(column)} = :value WHERE {quote(column)} IS NULL"
    )
    op.execute(statement.bindparams(value=value))


def create_index_concurrently(
    name: str, table: str, columns: Sequence[str], *, unique: bool = False, where: str | None = None
) -> None:
    """``op.create_index``; on PostgreSQL ``CONCURRENTLY``, outside the transaction."""
    condition = sa.text(where) if where else None
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.create_index(name, table, list(columns), unique=unique, sqlite_where=condition)
        return
    with context.autocommit_block():
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            postgresql_where=condition,
            postgresql_concurrently=True,
            if_not_exists=True,
        )


class CheckEmptyOp(ops.MigrateOperation):
    """Autogenerate's record of a :func:`check_empty` call."""

    def __init__(self, table: str, column: str | None = None) -> None:
        self.table = table
        self.column = column

    def reverse(self) -> ops.MigrateOperation:
        return self

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("check_empty", self.table, self.column)


class FillNullsOp(ops.MigrateOperation):
    """Autogenerate's record of a :func:`fill_nulls` call."""

    def __init__(self, table: str, column: str, value: Any, kind: str) -> None:
        self.table = table
        self.column = column
        self.value = value
        self.kind = kind

    def reverse(self) -> ops.MigrateOperation:
        return self

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("fill_nulls", self.table, self.column, self.value)


class ConcurrentIndexOp(ops.MigrateOperation):
    """Autogenerate's record of a :func:`create_index_concurrently` call."""

    def __init__(self, index: ops.CreateIndexOp) -> None:
        self.index = index

    def reverse(self) -> ops.MigrateOperation:
        return self.index.reverse()

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return self.index.to_diff_tuple()


@renderers.dispatch_for(CheckEmptyOp)
def _render_check_empty(context: AutogenContext, operation: CheckEmptyOp) -> str:
    column = f", {operation.column!r}" if operation.column else ""
    return f"aksara_ops.check_empty({operation.table!r}{column})"


@renderers.dispatch_for(FillNullsOp)
def _render_fill_nulls(context: AutogenContext, operation: FillNullsOp) -> str:
    return (
        f"aksara_ops.fill_nulls({operation.table!r}, {operation.column!r}, "
        f"{operation.value!r}, kind={operation.kind!r})"
    )


@renderers.dispatch_for(ConcurrentIndexOp)
def _render_concurrent_index(context: AutogenContext, operation: ConcurrentIndexOp) -> str:
    index = operation.index.to_index()
    columns = [getattr(column, "name", str(column)) for column in index.expressions]
    where = index.dialect_options["postgresql"]["where"]
    extra = ", unique=True" if index.unique else ""
    if where is not None:
        extra += f", where={str(where)!r}"
    return (
        f"aksara_ops.create_index_concurrently({index.name!r}, {operation.index.table_name!r}, "
        f"{columns!r}{extra})"
    )
