"""Expressions: ``F`` column references, arithmetic, aggregates and ``Q`` conditions.

An expression has a *shape* (its structure without values, part of the compiled-SQL
cache key) and its *sql* text. Compiling it records, per bound value, where the value is
read (*at*: a path from the query, such as ``q.where[0].value.rhs``), so values are never
collected by a second walk that could disagree with the SQL.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aksara.orm.fields import BigInteger, Field, Float
from aksara.orm.fields import Decimal as DecimalField
from aksara.orm.paths import resolve_path

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model
    from aksara.orm.paths import Path

__all__ = ["Avg", "Count", "Expression", "F", "Max", "Min", "OrderBy", "Q", "Sum", "Value"]


class CompileContext(Protocol):
    """What an expression needs from the statement compiler."""

    dialect: Dialect

    def column(self, name: str) -> str:
        """SQL of the column a field path names (joining as needed)."""

    def field(self, name: str) -> Field:
        """The field a path names."""

    def path_column(self, path: Path) -> str:
        """SQL of the column at the end of a resolved path (joining as needed)."""

    def annotation(self, name: str) -> str:
        """SQL of the aggregate annotated as *name*."""

    def placeholder(self) -> str:
        """The marker of the next parameter, whose value the caller binds itself."""

    def bind(self, source: str, adapt: Any = None, *, secret: bool = False) -> str:
        """The marker of the next parameter, whose value is read at *source* (a path from
        the query) and passed through *adapt*; *secret* keeps it out of query logs."""


class Expression:
    """Base of everything that compiles to a SQL value expression."""

    __slots__ = ()

    def shape(self) -> Hashable:
        """The structure of the expression, values left out."""
        raise NotImplementedError

    def sql(self, ctx: CompileContext, at: str) -> str:
        """Return the SQL text, asking *ctx* for columns and parameter markers; *at* is
        where this expression is found in the query compiled."""
        raise NotImplementedError

    def _combine(self, other: Any, operator: str, reverse: bool) -> Combined:
        other_expression = other if isinstance(other, Expression) else Value(other)
        if reverse:
            return Combined(other_expression, operator, self)
        return Combined(self, operator, other_expression)

    def __add__(self, other: Any) -> Combined:
        return self._combine(other, "+", False)

    def __radd__(self, other: Any) -> Combined:
        return self._combine(other, "+", True)

    def __sub__(self, other: Any) -> Combined:
        return self._combine(other, "-", False)

    def __rsub__(self, other: Any) -> Combined:
        return self._combine(other, "-", True)

    def __mul__(self, other: Any) -> Combined:
        return self._combine(other, "*", False)

    def __rmul__(self, other: Any) -> Combined:
        return self._combine(other, "*", True)

    def __truediv__(self, other: Any) -> Combined:
        return self._combine(other, "/", False)

    def __rtruediv__(self, other: Any) -> Combined:
        return self._combine(other, "/", True)

    def __mod__(self, other: Any) -> Combined:
        return self._combine(other, "%", False)

    def __neg__(self) -> Combined:
        return Combined(Value(0), "-", self)


class F(Expression):
    """A reference to a field (``F("view_count")``, ``F("author__name")``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def shape(self) -> Hashable:
        return ("F", self.name)

    def sql(self, ctx: CompileContext, at: str) -> str:
        return ctx.column(self.name)

    def asc(self) -> OrderBy:
        """Ascending order by this field, for ``order_by()``."""
        return OrderBy(self, descending=False)

    def desc(self) -> OrderBy:
        """Descending order by this field, for ``order_by()``."""
        return OrderBy(self, descending=True)

    def __repr__(self) -> str:
        return f"F({self.name!r})"


class OrderBy:
    """A direction of ordering by an expression: ``F("views").desc()``."""

    __slots__ = ("descending", "expression")

    def __init__(self, expression: Expression, *, descending: bool) -> None:
        self.expression = expression
        self.descending = descending

    def __repr__(self) -> str:
        return f"{self.expression!r}.{'desc' if self.descending else 'asc'}()"


class Value(Expression):
    """A literal value, always sent as a bound parameter."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def shape(self) -> Hashable:
        return ("V", type(self.value).__name__)

    def sql(self, ctx: CompileContext, at: str) -> str:
        return ctx.bind(f"{at}.value")

    def __repr__(self) -> str:
        return f"Value({self.value!r})"


class Combined(Expression):
    """``lhs <operator> rhs``."""

    __slots__ = ("lhs", "operator", "rhs")

    def __init__(self, lhs: Expression, operator: str, rhs: Expression) -> None:
        self.lhs = lhs
        self.operator = operator
        self.rhs = rhs

    def shape(self) -> Hashable:
        return (self.operator, self.lhs.shape(), self.rhs.shape())

    def sql(self, ctx: CompileContext, at: str) -> str:
        lhs, rhs = self.lhs.sql(ctx, f"{at}.lhs"), self.rhs.sql(ctx, f"{at}.rhs")
        if self.operator in ("/", "%"):
            # Both databases fail on a zero divisor (SQLite would answer NULL).
            dialect = ctx.dialect
            again = self.rhs.sql(ctx, f"{at}.rhs") if dialect.repeats_divisor else ""
            if self.operator == "/":
                return dialect.divide(lhs, rhs, again)
            return dialect.modulo(lhs, rhs, again)
        return f"({lhs} {self.operator} {rhs})"

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.operator} {self.rhs!r})"


class Aggregate(Expression):
    """An SQL aggregate over a field (or ``"*"`` for Count)."""

    __slots__ = ("distinct", "source")
    function = ""

    def __init__(self, source: str | Expression = "*", *, distinct: bool = False) -> None:
        if source == "*" and self.function != "COUNT":
            raise ValueError(f"{type(self).__name__}() needs a field name.")
        self.source = F(source) if isinstance(source, str) and source != "*" else source
        self.distinct = distinct

    def shape(self) -> Hashable:
        source = self.source.shape() if isinstance(self.source, Expression) else "*"
        return (self.function, source, self.distinct)

    def sql(self, ctx: CompileContext, at: str) -> str:
        inner = self.source.sql(ctx, f"{at}.source") if isinstance(self.source, Expression) else "*"
        return f"{self.function}({'DISTINCT ' if self.distinct else ''}{inner})"

    def source_field(self, ctx: CompileContext) -> Field | None:
        """The field aggregated, when the source is a plain field reference."""
        return ctx.field(self.source.name) if isinstance(self.source, F) else None

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        """Turn the database's result into the Python value users expect."""
        return value

    def output_field(self, source: Field | None) -> Field:
        """A fresh, unbound field of the result's type (checks values compared with it)."""
        return Float()

    def field_on(self, model: type[Model]) -> Field | None:
        """The field the aggregate reads on *model* (None for ``Count()`` of rows)."""
        if not isinstance(self.source, F):
            return None
        return resolve_path(model, self.source.name.split("__")).field

    def result_field(self, model: type[Model], name: str) -> Field:
        """The field describing the result when annotated on *model* as *name*."""
        result = self.output_field(self.field_on(model))
        result.model, result.name = model, name  # errors then speak of Model.annotation
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}{', distinct=True' if self.distinct else ''})"


class Count(Aggregate):
    """Number of rows (``Count()``/``Count("*")``) or of non-null values of a field."""

    __slots__ = ()
    function = "COUNT"

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        return int(value or 0)

    def output_field(self, source: Field | None) -> Field:
        return BigInteger()


def _as_field_value(value: Any, field: Field | None, dialect: Dialect) -> Any:
    if value is None or field is None:
        return value
    kind = field.kind
    if kind in ("integer", "biginteger", "auto"):
        return int(value)
    if kind == "decimal":
        return field.from_db(value)  # type: ignore[attr-defined]
    if kind == "float":
        return float(value)
    converter = dialect.converters.get(kind)
    return converter(value) if converter is not None else value


def _copy_field(source: Field | None) -> Field:
    if source is None:
        return Float()
    # The smallest or largest value has the source's type; a copy, as the caller renames it.
    return copy.copy(source)


class Sum(Aggregate):
    """Sum of a field; None over no rows."""

    __slots__ = ()
    function = "SUM"

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        return _as_field_value(value, field, dialect)

    def output_field(self, source: Field | None) -> Field:
        kind = source.kind if source is not None else ""
        if kind in ("integer", "biginteger", "auto"):
            return BigInteger()
        if kind == "decimal":
            places = source.decimal_places  # type: ignore[union-attr]
            return DecimalField(max_digits=28, decimal_places=places)
        return Float()


class Avg(Aggregate):
    """Mean of a field: a float, or a Decimal for Decimal fields; None over no rows."""

    __slots__ = ()
    function = "AVG"

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if field is not None and field.kind == "decimal":
            if isinstance(value, Decimal):
                return value
            number = Decimal(repr(value))
            return number.scaleb(-field.decimal_places) if dialect.decimal_is_scaled else number  # type: ignore[attr-defined]
        return float(value)

    def output_field(self, source: Field | None) -> Field:
        if source is not None and source.kind == "decimal":
            # A mean has more places than its inputs: keep the source's integer digits and
            # give every other digit of Python's 28-digit decimals to the places.
            whole = source.max_digits - source.decimal_places  # type: ignore[attr-defined]
            return DecimalField(max_digits=28, decimal_places=max(28 - whole, 0))
        return Float()


class Min(Aggregate):
    """Smallest value of a field."""

    __slots__ = ()
    function = "MIN"

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        return _as_field_value(value, field, dialect)

    def output_field(self, source: Field | None) -> Field:
        return _copy_field(source)


class Max(Aggregate):
    """Largest value of a field."""

    __slots__ = ()
    function = "MAX"

    def convert(self, value: Any, field: Field | None, dialect: Dialect) -> Any:
        return _as_field_value(value, field, dialect)

    def output_field(self, source: Field | None) -> Field:
        return _copy_field(source)


class Q:
    """Conditions combined with ``&`` (AND), ``|`` (OR) and ``~`` (NOT).

    ``Q(is_published=True) | Q(author__name="ada")``; keyword arguments are ANDed.
    """

    __slots__ = ("children", "connector", "negated")

    AND = "AND"
    OR = "OR"

    def __init__(self, *args: Q, **kwargs: Any) -> None:
        for arg in args:
            if not isinstance(arg, Q):
                raise TypeError(f"Q() takes Q objects and keyword lookups, got {arg!r}.")
        self.children: list[Q | tuple[str, Any]] = [*args, *sorted(kwargs.items())]
        self.connector = Q.AND
        self.negated = False

    def _parts(self, connector: str) -> list[Q | tuple[str, Any]]:
        # Splicing same-connector children keeps reduce(operator.or_, many) one level deep.
        if not self.negated and (self.connector == connector or len(self.children) == 1):
            return self.children
        return [self]

    def _join(self, other: Q, connector: str) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        combined = Q()
        combined.connector = connector
        combined.children = [*self._parts(connector), *other._parts(connector)]
        return combined

    def __and__(self, other: Q) -> Q:
        return self._join(other, Q.AND)

    def __or__(self, other: Q) -> Q:
        return self._join(other, Q.OR)

    def __invert__(self) -> Q:
        if self.negated and len(self.children) == 1 and isinstance(self.children[0], Q):
            return self.children[0]  # ~~q is q: a chain of NOTs stays one level deep
        inverted = Q()
        inverted.children = [self]
        inverted.negated = True
        return inverted

    def __repr__(self) -> str:
        inner = f" {self.connector} ".join(repr(child) for child in self.children)
        return f"{'NOT ' if self.negated else ''}({inner})"
