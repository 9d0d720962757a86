"""Lookups: ``exact``, ``icontains``, ``in``, … as one class each, registered per field type.

A field class lists the lookups it offers (``Field.register_lookup``; subclasses inherit
their parents' and may add or replace some); ``Field.get_lookup(name)`` finds one and
``Field.lookups()`` names them all, for filters, ``Q``, annotation filters and error
messages alike. A lookup is stateless: it checks a value once when the filter is built
(reusing the field's own validation) and writes its SQL once per query shape.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, ClassVar

from aksara.exceptions import ValidationError

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.expressions import CompileContext
    from aksara.orm.field import Field

__all__ = [
    "COMMON_LOOKUPS",
    "TEXT_LOOKUPS",
    "Comparison",
    "Contains",
    "EndsWith",
    "Exact",
    "GreaterThan",
    "GreaterThanOrEqual",
    "IContains",
    "IEndsWith",
    "IExact",
    "IStartsWith",
    "In",
    "IsNull",
    "LessThan",
    "LessThanOrEqual",
    "Lookup",
    "Pattern",
    "Range",
    "Search",
    "StartsWith",
    "list_class",
    "listing_order",
]

Adapter = Callable[[Any], Any] | None

#: Lists up to this many values get a size class of their own (the next power of two); every
#: longer list shares one class. No dialect inlines more values than this (see Dialect).
_LIST_CLASSES = 64


def list_class(count: int) -> int:
    """The size class of an ``in`` list: 0 (empty), the next power of two up to 64, or 128."""
    if count > _LIST_CLASSES:
        return _LIST_CLASSES * 2
    return 0 if count == 0 else 1 << (count - 1).bit_length()


def field_value(field: Field, value: Any, key: str) -> Any:
    """*value* checked and normalised by *field* for the filter *key*; None is refused."""
    if value is None:
        raise ValidationError(
            f"{key}: None is not a value to compare; use {key.split('__')[0]}__isnull=True."
        )
    try:
        return field.to_python(value)
    except ValidationError as error:
        raise ValidationError(f"{key}: {error}", field=field.name) from None


def _is_list(value: Any) -> bool:
    return not isinstance(value, (str, bytes)) and hasattr(value, "__iter__")


def _side(value: Any, bounds: tuple[int, int]) -> int:
    """-1 below *bounds*, 1 above them, 0 within them (or not an integer at all)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < bounds[0]:
            return -1
        if value > bounds[1]:
            return 1
    return 0


class Lookup:
    """How a filter compares a column (or an aggregate) with a value.

    Subclasses set ``name`` and override :meth:`prepare` (checks the value when the filter
    is built) and :meth:`sql` (writes the condition, binding values through the context).
    """

    name: ClassVar[str] = ""
    #: The SQL operator used when the value is an expression (``F("x") + 1``); None when
    #: the lookup cannot compare with one.
    operator: ClassVar[str | None] = None
    #: Whether integers outside an integer column's range are decided by :meth:`clip`.
    bounded: ClassVar[bool] = False
    #: Whether ``name=None`` means ``isnull=True`` (only ``exact`` does).
    none_is_null: ClassVar[bool] = False

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        """*value* checked for *field*, as the query keeps it; raise ValidationError."""
        return field_value(field, value, key)

    def variant(self, value: Any) -> Hashable:
        """What of *value* changes the SQL written (part of the statement cache's key)."""
        return None

    def clip(self, bounds: tuple[int, int], value: Any) -> tuple[Lookup, Any]:
        """The lookup and value to send when *value* may not fit an integer column of
        *bounds*: the driver overflows on integers the column cannot hold."""
        return self, value

    def may_be_unknown(self, value: Any) -> bool:
        """Whether the condition is unknown (not false) for a NULL column, so that NOT of
        it needs ``AND column IS NOT NULL`` to keep exclude() from dropping those rows."""
        return True

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        """The condition on *lhs* (column or aggregate SQL); *source* is where the value is
        read in the query, *adapt* turns it into what the driver takes."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


_ORDERED = frozenset(("=", "<", "<=", ">", ">="))


class Comparison(Lookup):
    """``lhs <operator> value``; also compares with an expression."""

    bounded = True

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        return f"{lhs} {self.operator} {ctx.bind(source, adapt, secret=secret)}"

    def clip(self, bounds: tuple[int, int], value: Any) -> tuple[Lookup, Any]:
        side = _side(value, bounds)
        operator = self.operator
        if not side or operator not in _ORDERED:
            return self, value  # an operator of its own: prepare() checks the value
        if operator == "=" or (side > 0) == (operator in (">", ">=")):
            return _IN, ()  # matches no row
        return _ISNULL, False  # matches every row that has a value


class Exact(Comparison):
    """Equal to the value; ``None`` means IS NULL."""

    name = "exact"
    operator = "="
    none_is_null = True


class GreaterThan(Comparison):
    """Greater than the value."""

    name = "gt"
    operator = ">"


class GreaterThanOrEqual(Comparison):
    """Greater than or equal to the value."""

    name = "gte"
    operator = ">="


class LessThan(Comparison):
    """Less than the value."""

    name = "lt"
    operator = "<"


class LessThanOrEqual(Comparison):
    """Less than or equal to the value."""

    name = "lte"
    operator = "<="


class In(Lookup):
    """One of a list of values; an empty list matches no row."""

    name = "in"
    bounded = True

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        if not _is_list(value):
            raise ValidationError(f"{key}: 'in' takes a list of values, got {value!r}.")
        return tuple([field_value(field, item, key) for item in value])

    def variant(self, value: Any) -> Hashable:
        return list_class(len(value))

    def clip(self, bounds: tuple[int, int], value: Any) -> tuple[Lookup, Any]:
        if not _is_list(value):
            return self, value  # refused by prepare()
        low, high = bounds
        return self, [
            item
            for item in value
            if (low <= item <= high if type(item) is int else not _side(item, bounds))
        ]

    def may_be_unknown(self, value: Any) -> bool:
        return bool(value)

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        """One marker per value up to the dialect's inline limit, padded to the size class
        by repeating the last value (IN ignores duplicates, and every length of the class
        shares one statement); above it, one parameter for the whole list."""
        count = len(value)
        if not count:
            return "1 = 0"
        dialect = ctx.dialect
        if count <= dialect.max_inline_list:
            markers = [
                ctx.bind(f"item({source}, {index})", adapt, secret=secret)
                for index in range(list_class(count))
            ]
            return dialect.in_list(lhs, markers)
        return dialect.in_param(lhs, ctx.bind(source, _list_adapter(dialect, adapt), secret=secret))


def _list_adapter(dialect: Dialect, adapt: Adapter) -> Callable[[Any], Any]:
    list_param = dialect.list_param
    if adapt is None:
        return lambda items: list_param(list(items))
    return lambda items: list_param([adapt(item) for item in items])


class IsNull(Lookup):
    """``True``: the value is NULL; ``False``: it is not."""

    name = "isnull"

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        if not isinstance(value, bool):
            raise ValidationError(f"{key}: isnull takes True or False, got {value!r}.")
        return value

    def variant(self, value: Any) -> Hashable:
        return bool(value)

    def may_be_unknown(self, value: Any) -> bool:
        return False

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        return f"{lhs} IS NULL" if value else f"{lhs} IS NOT NULL"


class Range(Lookup):
    """Between two values, both included: ``(low, high)``."""

    name = "range"
    bounded = True

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            raise ValidationError(f"{key}: 'range' takes (low, high), got {value!r}.")
        return (field_value(field, value[0], key), field_value(field, value[1], key))

    def clip(self, bounds: tuple[int, int], value: Any) -> tuple[Lookup, Any]:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            return self, value  # refused by prepare()
        low, high = value
        if _side(low, bounds) > 0 or _side(high, bounds) < 0:
            return _IN, ()
        if _side(low, bounds) < 0:
            low = bounds[0]
        if _side(high, bounds) > 0:
            high = bounds[1]
        return self, (low, high)

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        low = ctx.bind(f"{source}[0]", adapt, secret=secret)
        high = ctx.bind(f"{source}[1]", adapt, secret=secret)
        return f"{lhs} BETWEEN {low} AND {high}"


def _string(value: Any, name: str, key: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{key}: {name!r} takes a string, got {value!r}.")
    return value


class IExact(Lookup):
    """Equal to the string, ignoring case."""

    name = "iexact"

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        return _string(value, self.name, key)

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        return f"LOWER({lhs}) = LOWER({ctx.bind(source, adapt, secret=secret)})"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Pattern(Lookup):
    """A LIKE pattern around the string (its ``%``, ``_`` and ``\\`` match themselves)."""

    before: ClassVar[str] = ""
    after: ClassVar[str] = ""
    ignore_case: ClassVar[bool] = False

    def __init__(self) -> None:
        before, after = self.before, self.after
        self.pattern: Callable[[Any], Any] = lambda value: before + _escape_like(value) + after

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        return _string(value, self.name, key)

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        marker = ctx.bind(source, self.pattern, secret=secret)
        if self.ignore_case:
            return ctx.dialect.ilike(lhs, marker)
        return f"{lhs} LIKE {marker} ESCAPE '\\'"


class Contains(Pattern):
    """Contains the string."""

    name = "contains"
    before = after = "%"


class IContains(Contains):
    """Contains the string, ignoring case."""

    name = "icontains"
    ignore_case = True


class StartsWith(Pattern):
    """Starts with the string."""

    name = "startswith"
    after = "%"


class IStartsWith(StartsWith):
    """Starts with the string, ignoring case."""

    name = "istartswith"
    ignore_case = True


class EndsWith(Pattern):
    """Ends with the string."""

    name = "endswith"
    before = "%"


class IEndsWith(EndsWith):
    """Ends with the string, ignoring case."""

    name = "iendswith"
    ignore_case = True


class Search(Lookup):
    """Matches the words of the string: full-text search where the dialect has it
    (PostgreSQL: ``to_tsvector(column) @@ plainto_tsquery(value)``), else ``icontains``."""

    name = "search"

    def __init__(self) -> None:
        self.pattern: Callable[[Any], Any] = lambda value: "%" + _escape_like(value) + "%"

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        return _string(value, self.name, key)

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Adapter,
        secret: bool,
    ) -> str:
        dialect = ctx.dialect
        if dialect.supports_full_text:
            return dialect.full_text_match(lhs, ctx.bind(source, None, secret=secret))
        return dialect.ilike(lhs, ctx.bind(source, self.pattern, secret=secret))


_IN = In()
_ISNULL = IsNull()

#: What every field offers, in the order errors list them.
COMMON_LOOKUPS: tuple[type[Lookup], ...] = (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    In,
    IsNull,
    Range,
)
#: What text fields add.
TEXT_LOOKUPS: tuple[type[Lookup], ...] = (
    IExact,
    Contains,
    IContains,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Search,
)

_LISTED: tuple[type[Lookup], ...] = (
    Exact,
    IExact,
    Contains,
    IContains,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Search,
    *COMMON_LOOKUPS[1:],
)
_ORDER = {lookup.name: index for index, lookup in enumerate(_LISTED)}


def listing_order(name: str) -> int:
    """Where the lookup *name* comes in lists shown to users: the built-in ones in their
    usual order, then the others as registered."""
    return _ORDER.get(name, len(_ORDER))
