"""What differs between SQL dialects, as capability flags and a few small methods.

Everything else in Aksara asks the dialect instead of testing the database's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

__all__ = ["MAX_INLINE_LIST", "Dialect"]

Adapter = Callable[[Any], Any]

#: The longest ``in`` list a dialect may spell with one marker per value. The ORM's statement
#: cache gives each power of two up to it a shape of its own, and longer lists one more.
MAX_INLINE_LIST = 64


class Dialect:
    """The SQL spoken by one database family."""

    name: ClassVar[str] = ""
    #: The most bound parameters one statement may carry.
    max_params: ClassVar[int] = 32_766
    #: ``column = ANY($1)`` with one array parameter instead of ``IN (…)``.
    supports_array_params: ClassVar[bool] = False
    #: ``in`` lists of up to this many values get one marker per value, padded to the next
    #: power of two; longer lists travel as one parameter (:meth:`in_param`). 0 or a power
    #: of two up to ``MAX_INLINE_LIST``.
    max_inline_list: ClassVar[int] = 0
    #: The longest identifier the database keeps whole (``None``: no limit).
    max_identifier_length: ClassVar[int | None] = None
    #: A failed statement inside a transaction aborts it until rollback, so a unit of work
    #: that may fail inside ``atomic()`` needs a savepoint to leave the transaction usable.
    aborts_transaction_on_error: ClassVar[bool] = False
    #: The statement that opens a transaction.
    begin_statement: ClassVar[str] = "BEGIN"
    #: Appended to DROP TABLE so dependent constraints go too, where supported.
    drop_table_suffix: ClassVar[str] = ""
    #: Column type per field kind; ``{max_length}`` and friends come from the field.
    column_types: ClassVar[dict[str, str]] = {}
    #: Appended to CREATE TABLE (``" STRICT"`` where the database can enforce column types).
    table_suffix: ClassVar[str] = ""
    #: The most digits a Decimal column stores exactly, or None for no limit below the type's.
    max_decimal_digits: ClassVar[int | None] = None
    #: Decimals are stored as integers scaled by ``10**decimal_places``.
    decimal_is_scaled: ClassVar[bool] = False
    #: :meth:`divide` tests the divisor in SQL, so it is compiled (and bound) twice.
    repeats_divisor: ClassVar[bool] = False
    #: Text columns can be matched word by word (:meth:`full_text_match`).
    supports_full_text: ClassVar[bool] = False
    #: A query of the most connections the server takes from ordinary clients, or None
    #: when there is no server to run out of connections (an embedded database).
    connection_limit_sql: ClassVar[str | None] = None
    #: Python value -> driver value, per field kind, where the driver needs help.
    adapters: ClassVar[dict[str, Adapter]] = {}
    #: Driver value -> Python value, per field kind, where the driver needs help; called
    #: only with non-NULL values (the callers keep None as None).
    converters: ClassVar[dict[str, Adapter]] = {}
    #: Like ``adapters``, for values compared with a computed result (an aggregate), which
    #: has no column type to convert the value to.
    computed_adapters: ClassVar[dict[str, Adapter]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        size = cls.max_inline_list
        if size < 0 or size > MAX_INLINE_LIST or size & (size - 1):
            raise TypeError(
                f"{cls.__name__}.max_inline_list must be 0 or a power of two up to "
                f"{MAX_INLINE_LIST}, got {size}."
            )

    def placeholder(self, index: int) -> str:
        """Return the marker of the *index*-th (1-based) bound parameter."""
        raise NotImplementedError

    @staticmethod
    def quote(name: str) -> str:
        """Quote an identifier taken from model metadata."""
        return '"' + name.replace('"', '""') + '"'

    def column_type(self, kind: str, options: dict[str, Any]) -> str:
        """Return the column type of a field of *kind*."""
        return self.column_types[kind].format(**options)

    def auto_pk_column(self) -> str:
        """Return the definition of an auto-incrementing integer primary key."""
        raise NotImplementedError

    def length_check(self, column: str, max_length: int) -> str | None:
        """Return a CHECK expression enforcing *max_length* when the type does not."""
        return None

    def range_check(self, column: str, kind: str, options: dict[str, Any]) -> str | None:
        """Return a CHECK expression keeping a number column inside its field's range, when
        the column type does not."""
        return None

    def divide(self, dividend: str, divisor: str, divisor_again: str) -> str:
        """SQL of ``dividend / divisor`` that fails on a zero divisor.

        *divisor_again* is the divisor compiled a second time when ``repeats_divisor`` is
        set (dialects that test it in SQL; its parameters are bound twice), else "".
        """
        return f"({dividend} / {divisor})"

    def modulo(self, dividend: str, divisor: str, divisor_again: str) -> str:
        """SQL of ``dividend % divisor`` that fails on a zero divisor (as :meth:`divide`)."""
        return f"({dividend} % {divisor})"

    def ilike(self, column_sql: str, placeholder: str) -> str:
        """Case-insensitive LIKE of a column against a pattern parameter."""
        return f"LOWER({column_sql}) LIKE LOWER({placeholder}) ESCAPE '\\'"

    def in_list(self, column_sql: str, placeholders: Sequence[str]) -> str:
        """``column IN (…)`` with one placeholder per value."""
        return f"{column_sql} IN ({', '.join(placeholders)})"

    def in_param(self, column_sql: str, placeholder: str) -> str:
        """``column IN`` the values of one parameter made by :meth:`list_param`."""
        raise NotImplementedError

    def list_param(self, values: list[Any]) -> Any:
        """The one parameter that carries *values* (already adapted) for :meth:`in_param`."""
        raise NotImplementedError

    def alias(self, name: str) -> str:
        """*name* as an alias the database keeps whole and distinct: a name too long is cut
        and ends with a digest of the whole name."""
        limit = self.max_identifier_length
        encoded = name.encode()
        if limit is None or len(encoded) <= limit:
            return name
        digest = hashlib.sha1(encoded).hexdigest()[:10]
        head = encoded[: limit - len(digest) - 1].decode(errors="ignore")
        return f"{head}_{digest}"

    def explain(self, sql: str, *, analyze: bool) -> str:
        """Return the statement that asks for the plan of *sql*."""
        raise NotImplementedError

    def full_text_match(self, column_sql: str, placeholder: str) -> str:
        """The condition that a text column matches the words of a string parameter."""
        raise NotImplementedError

    def row_estimate(self, sql: str) -> str | None:
        """The statement whose rows :meth:`estimated_rows` reads the planner's estimate of
        how many rows *sql* returns from; None when the database offers no estimate."""
        return None

    def estimated_rows(self, rows: Sequence[Sequence[Any]]) -> int:
        """The row estimate in the result of :meth:`row_estimate`'s statement."""
        raise NotImplementedError

    def format_plan(self, rows: Sequence[Sequence[Any]]) -> str:
        """Turn the rows of an EXPLAIN into the plan text."""
        raise NotImplementedError

    def rows_source(
        self,
        kinds: Sequence[str],
        columns: Sequence[Sequence[Any]],
        *,
        start: int,
        names: Sequence[str] | None = None,
    ) -> tuple[str, list[Any]]:
        """Rows given column by column, as ``VALUES …`` (or a SELECT naming its columns
        *names*), with parameters numbered from *start*."""
        width = len(kinds)
        rows = len(columns[0]) if columns else 0
        params: list[Any] = []
        for row in zip(*columns, strict=True):
            params.extend(row)
        numbers = iter(range(start, start + width * rows))
        values = "VALUES " + ", ".join(
            "(" + ", ".join(self.placeholder(next(numbers)) for _ in range(width)) + ")"
            for _ in range(rows)
        )
        if names is None:
            return values, params
        aliases = ", ".join(f"column{i + 1} AS {self.quote(name)}" for i, name in enumerate(names))
        return f"SELECT {aliases} FROM ({values})", params

    def advance_identity(self, table: str, column: str, value: int) -> tuple[str, list[Any]] | None:
        """The statement (and its parameters) that moves the auto-increment of *table*'s
        *column* past *value*, never backwards; None where every insert does that already."""
        return None

    def limit_offset(self, limit: str | None, offset: str | None) -> str:
        """`` LIMIT … OFFSET …`` with these markers; either may be None (no clause)."""
        text = f" LIMIT {limit}" if limit is not None else ""
        return text + (f" OFFSET {offset}" if offset is not None else "")

    def for_update(self, *, nowait: bool, skip_locked: bool) -> str:
        """Return the row-locking clause of a SELECT, or '' where there is none."""
        return ""
