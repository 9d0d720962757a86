"""The column types revisions use: one portable type per Aksara field kind.

A revision names ``aksara_types.Column("string", max_length=200)``; on PostgreSQL it is
``VARCHAR(200)``, on SQLite ``TEXT`` with the ``length(...) <= 200`` CHECK Aksara adds, so one
revision file serves both databases and builds what :func:`aksara.create_tables` builds.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import CheckConstraint, Table, text
from sqlalchemy import Column as SAColumn
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect as SADialect
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import SchemaType, TypeDecorator, TypeEngine

from aksara.db.dialects import PostgresDialect, SQLiteDialect
from aksara.orm.options import identifier

__all__ = ["KINDS", "Column"]

#: The field kinds a column can have (``auto`` is the auto-incrementing primary key).
KINDS = (
    "auto",
    "biginteger",
    "boolean",
    "date",
    "datetime",
    "decimal",
    "float",
    "integer",
    "json",
    "string",
    "text",
    "uuid",
)

_SQLITE = SQLiteDialect()
_POSTGRES = PostgresDialect()


def _postgres_type(kind: str, options: dict[str, Any]) -> TypeEngine[Any]:
    if kind in ("auto", "biginteger"):
        return sqltypes.BIGINT()
    if kind == "integer":
        return sqltypes.INTEGER()
    if kind == "string":
        return sqltypes.VARCHAR(int(options["max_length"]))
    if kind == "text":
        return sqltypes.TEXT()
    if kind == "float":
        return postgresql.DOUBLE_PRECISION()
    if kind == "decimal":
        return sqltypes.NUMERIC(int(options["max_digits"]), int(options["decimal_places"]))
    if kind == "boolean":
        return sqltypes.BOOLEAN()
    if kind == "datetime":
        return postgresql.TIMESTAMP(timezone=True)
    if kind == "date":
        return sqltypes.DATE()
    if kind == "uuid":
        return postgresql.UUID()
    return postgresql.JSONB()


def _sqlite_type(kind: str) -> TypeEngine[Any]:
    name = "INTEGER" if kind == "auto" else SQLiteDialect.column_types[kind]
    types: dict[str, type[TypeEngine[Any]]] = {
        "TEXT": sqltypes.TEXT,
        "INTEGER": sqltypes.INTEGER,
        "REAL": sqltypes.REAL,
    }
    return types[name]()


class Column(TypeDecorator[Any], SchemaType):
    """The type of a column holding one Aksara field *kind* (``"string"``, ``"decimal"``...)
    with the field's column options (``max_length``, ``max_digits``...)."""

    impl = sqltypes.NullType
    cache_ok = True

    def __init__(self, kind: str, **options: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown column kind {kind!r}. Valid kinds: {', '.join(KINDS)}.")
        TypeDecorator.__init__(self)
        SchemaType.__init__(self)
        self.kind = kind
        self.options = dict(sorted(options.items()))
        if kind == "integer":
            self.options.setdefault("low", -(2**31))
            self.options.setdefault("high", 2**31 - 1)

    def load_dialect_impl(self, dialect: SADialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return _postgres_type(self.kind, self.options)
        if dialect.name == "sqlite":
            return _sqlite_type(self.kind)
        return _postgres_type(self.kind, self.options)  # printing the type without a database

    @property
    def _type_affinity(self) -> type[TypeEngine[Any]] | None:
        return _postgres_type(self.kind, self.options)._type_affinity

    def checks(self, column: str) -> list[tuple[str, str]]:
        """``(suffix, SQL)`` of the CHECK constraints SQLite needs for *column*."""
        quoted = _SQLITE.quote(column)
        found = []
        if self.kind == "string":
            check = _SQLITE.length_check(quoted, int(self.options["max_length"]))
            assert check is not None
            found.append(("max_length", check))
        range_check = _SQLITE.range_check(quoted, self.kind, self.options)
        if range_check is not None:
            found.append(("range", range_check))
        return found

    def _set_table(self, column: SAColumn[Any], table: Table) -> None:
        # A SQLite rebuild makes the table under a temporary name first.
        name = table.name.removeprefix("_alembic_tmp_")
        for suffix, sql in self.checks(column.name):
            CheckConstraint(
                text(sql),
                name=identifier(name, column.name, suffix=suffix),
                _create_rule=functools.partial(_only_on_sqlite),
                _type_bound=True,
            )._set_parent_with_dispatch(table)

    def copy(self, **kw: Any) -> Column:
        return Column(self.kind, **self.options)

    def __repr__(self) -> str:
        options = "".join(f", {key}={value!r}" for key, value in self.options.items())
        if self.kind == "integer":
            options = ""
        return f"Column({self.kind!r}{options})"


def _only_on_sqlite(compiler: Any, **kw: Any) -> bool:
    return bool(compiler.dialect.name == "sqlite")
