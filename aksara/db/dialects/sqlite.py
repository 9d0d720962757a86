"""The SQLite dialect."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from aksara.db.dialects.base import Adapter, Dialect

__all__ = ["SQLiteDialect"]

_UTC = dt.UTC


def _adapt_datetime(value: dt.datetime) -> str:
    # One fixed-width UTC format, so text order is time order and indexes stay usable.
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


_from_iso = dt.datetime.fromisoformat


def _convert_datetime(value: Any) -> dt.datetime:
    # Stored text is naive UTC: parsed with the offset appended, the result comes out
    # aware in one step (``replace(tzinfo=...)`` costs about ten parses on CPython 3.11).
    try:
        parsed = _from_iso(value + "+00:00")
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is not _UTC:
        # Text of another form (an offset of its own, a bare date): parsed as it always
        # was, and failing with the same error.
        return _from_iso(value).replace(tzinfo=_UTC)
    return parsed


def _adapt_decimal(value: Decimal) -> int:
    # Fields hand over Decimals quantized to their decimal places, so the scaled integer
    # is the coefficient: exact, ordered as the numbers are, and summed by SQLite exactly.
    sign, digits, _exponent = value.as_tuple()
    number = int("".join(map(str, digits)))
    return -number if sign else number


def _convert_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _adapt_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _checked(dividend: str, operator: str, divisor: str, divisor_again: str) -> str:
    # SQLite answers NULL where PostgreSQL raises; the CASE makes it fail with an error that
    # says so (json_extract rejects the path), and its branch runs only for a zero divisor.
    return (
        f"({dividend} {operator} CASE WHEN {divisor} = 0 THEN json_extract('{{}}', "
        f"'division by zero') ELSE {divisor_again} END)"
    )


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        # SQLite reads 9e999 as infinity; NaN binds as NULL anyway.
        return None if math.isnan(value) else _Literal("9e999" if value > 0 else "-9e999")
    return value


class _Literal(str):
    """Text written into JSON as it is (a number orjson cannot spell)."""


def _json_list(values: list[Any]) -> str:
    text = orjson.dumps(values).decode()
    if "null" not in text:
        return text
    # orjson writes infinities as null: spell them so SQLite reads them back.
    items = [
        item if isinstance(item, _Literal) else orjson.dumps(item).decode()
        for item in map(_json_number, values)
    ]
    return "[" + ", ".join(items) + "]"


class SQLiteDialect(Dialect):
    """SQLite 3.35+: ``?`` parameters, RETURNING, CHECK constraints for string lengths and
    number ranges, STRICT tables (3.37+) so a column holds only values of its type."""

    name = "sqlite"
    max_params = 32_766
    # Up to 16 values one marker each; measured on SQLite 3.40, one JSON parameter costs
    # ~6 µs more for a single value and the same from ~8 values on, while every distinct
    # marker count is another prepared statement held by each connection.
    max_inline_list = 16
    # Take the write lock at BEGIN, so two writers wait for each other (busy_timeout)
    # instead of failing when a reader upgrades.
    begin_statement = "BEGIN IMMEDIATE"
    # STRICT tables take only these five type names; a Decimal is its scaled integer.
    column_types: ClassVar[dict[str, str]] = {
        "string": "TEXT",
        "text": "TEXT",
        "integer": "INTEGER",
        "biginteger": "INTEGER",
        "float": "REAL",
        "decimal": "INTEGER",
        "boolean": "INTEGER",
        "datetime": "TEXT",
        "date": "TEXT",
        "uuid": "TEXT",
        "json": "TEXT",
    }
    table_suffix = " STRICT" if sqlite3.sqlite_version_info >= (3, 37) else ""
    max_decimal_digits = 18
    decimal_is_scaled = True
    adapters: ClassVar[dict[str, Adapter]] = {
        "datetime": _adapt_datetime,
        "date": dt.date.isoformat,
        "uuid": str,
        "decimal": _adapt_decimal,
        "json": _adapt_json,
    }
    # Builtins where one does the job: a call into C, no Python frame per value.
    converters: ClassVar[dict[str, Adapter]] = {
        "datetime": _convert_datetime,
        "date": dt.date.fromisoformat,
        "uuid": uuid.UUID,
        "decimal": _convert_decimal,
        "boolean": bool,
        "json": orjson.loads,
    }

    # Aggregates of decimal columns are compared in the columns' scaled units (see where.py).
    computed_adapters: ClassVar[dict[str, Adapter]] = adapters

    def placeholder(self, index: int) -> str:
        return "?"

    def in_param(self, column_sql: str, placeholder: str) -> str:
        return f"{column_sql} IN (SELECT value FROM json_each({placeholder}))"

    def list_param(self, values: list[Any]) -> Any:
        return _json_list(values)

    def limit_offset(self, limit: str | None, offset: str | None) -> str:
        # SQLite takes OFFSET only after a LIMIT; -1 is no limit.
        if limit is None and offset is not None:
            limit = "-1"
        return super().limit_offset(limit, offset)

    def auto_pk_column(self) -> str:
        return "INTEGER PRIMARY KEY AUTOINCREMENT"

    def length_check(self, column: str, max_length: int) -> str | None:
        return f"length({column}) <= {int(max_length)}"

    def range_check(self, column: str, kind: str, options: dict[str, Any]) -> str | None:
        if kind == "decimal":
            high = 10 ** int(options["max_digits"]) - 1
            return f"{column} BETWEEN {-high} AND {high}"
        if kind == "integer":
            return f"{column} BETWEEN {int(options['low'])} AND {int(options['high'])}"
        return None  # 64-bit integers: SQLite's own range; STRICT refuses what overflows it

    repeats_divisor = True

    def divide(self, dividend: str, divisor: str, divisor_again: str) -> str:
        return _checked(dividend, "/", divisor, divisor_again)

    def modulo(self, dividend: str, divisor: str, divisor_again: str) -> str:
        return _checked(dividend, "%", divisor, divisor_again)

    def explain(self, sql: str, *, analyze: bool) -> str:
        return "EXPLAIN QUERY PLAN " + sql

    def format_plan(self, rows: Sequence[Sequence[Any]]) -> str:
        depth: dict[int, int] = {0: -1}
        lines = []
        for node_id, parent, _unused, detail in rows:
            level = depth.get(parent, -1) + 1
            depth[node_id] = level
            lines.append("  " * level + ("-> " if level else "") + str(detail))
        return "\n".join(lines)
