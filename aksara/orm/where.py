"""Filter conditions: lookups resolved against model metadata into immutable WHERE nodes.

``filter(author__name__icontains="ada")`` resolves once per model and key (cached in
``_meta.lookup_cache``) into a :class:`Path` (the foreign keys joined and the final field)
and a lookup. Values are checked against the field's type when the filter is built, so a
bad value fails before any query is sent.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from aksara.exceptions import FieldError, ValidationError, suggest
from aksara.orm.arithmetic import check_comparison
from aksara.orm.expressions import CompileContext, Expression, Q
from aksara.orm.fields import Field
from aksara.orm.paths import Path, resolve_path

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model

__all__ = [
    "LOOKUPS",
    "AnnotationCondition",
    "Condition",
    "Junction",
    "Node",
    "annotation_condition",
    "build_where",
    "condition",
]

LOOKUPS = (
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "isnull",
    "range",
)
_COMPARISONS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PATTERNS = {
    "contains": ("%", "%"),
    "icontains": ("%", "%"),
    "startswith": ("", "%"),
    "istartswith": ("", "%"),
    "endswith": ("%", ""),
    "iendswith": ("%", ""),
}
_TEXT_KINDS = ("string", "text")


def _resolve_lookup(model: type[Model], key: str) -> tuple[Path, str]:
    cached = model._meta.lookup_cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    parts = key.split("__")
    lookup = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup = parts.pop()
    try:
        path = resolve_path(model, parts)
    except FieldError as error:
        if len(parts) > 1:
            raise FieldError(
                f"{error} In {key!r}, the last part may also be a lookup: {', '.join(LOOKUPS)}."
            ) from None
        raise
    if (lookup in _PATTERNS or lookup == "iexact") and path.field.kind not in _TEXT_KINDS:
        raise FieldError(
            f"Lookup {lookup!r} needs a text field; {path.field.label} is "
            f"{type(path.field).__name__}. Valid lookups for it: exact, gt, gte, lt, lte, "
            "in, isnull, range."
        )
    resolved = (path, lookup)
    model._meta.lookup_cache[key] = resolved
    return resolved


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Node:
    """A WHERE-clause node."""

    __slots__ = ("shape",)
    shape: Hashable

    def params(self, dialect: Dialect) -> list[Any]:
        """The node's bound values, in the order its SQL places the markers."""
        raise NotImplementedError

    def sql(self, ctx: CompileContext, negated: bool) -> str:
        """The SQL condition; *negated* tells whether an odd number of NOTs enclose it."""
        raise NotImplementedError


class Condition(Node):
    """One lookup of one field against a value (or an expression)."""

    __slots__ = ("lookup", "path", "value")

    def __init__(self, path: Path, lookup: str, value: Any) -> None:
        self.path = path
        self.lookup = lookup
        self.value = value
        if isinstance(value, Expression):
            variant: Hashable = value.shape()
        elif lookup == "in":
            variant = len(value)
        elif lookup == "isnull":
            variant = bool(value)
        else:
            variant = None
        self.shape = (path.key, lookup, variant)

    def params(self, dialect: Dialect) -> list[Any]:
        lookup, value = self.lookup, self.value
        if isinstance(value, Expression):
            return value.params(dialect)
        if lookup == "isnull":
            return []
        adapt = dialect.adapters.get(self.path.field.kind)
        if lookup == "in":
            if not value:
                return []
            items = [adapt(item) for item in value] if adapt is not None else list(value)
            return [items] if dialect.supports_array_params else items
        if lookup == "range":
            low, high = value
            return [adapt(low), adapt(high)] if adapt is not None else [low, high]
        if lookup in _PATTERNS:
            before, after = _PATTERNS[lookup]
            return [before + _escape_like(value) + after]
        return [adapt(value) if adapt is not None else value]

    def sql(self, ctx: CompileContext, negated: bool) -> str:
        column = ctx.path_column(self.path)
        lookup, value = self.lookup, self.value
        if lookup == "isnull":
            return f"{column} IS NULL" if value else f"{column} IS NOT NULL"
        if isinstance(value, Expression):
            operator = _COMPARISONS.get(lookup)
            if operator is None:
                raise FieldError(f"Lookup {lookup!r} cannot compare with an expression.")
            check_comparison(self.path.field, value, ctx)
            text = f"{column} {operator} {value.sql(ctx)}"
        elif lookup in _COMPARISONS:
            text = f"{column} {_COMPARISONS[lookup]} {ctx.placeholder()}"
        elif lookup == "in":
            if not value:
                return "1 = 0"
            if ctx.dialect.supports_array_params:
                text = f"{column} = ANY({ctx.placeholder()})"
            else:
                text = ctx.dialect.in_list(column, [ctx.placeholder() for _ in value])
        elif lookup == "range":
            text = f"{column} BETWEEN {ctx.placeholder()} AND {ctx.placeholder()}"
        elif lookup == "iexact":
            text = f"LOWER({column}) = LOWER({ctx.placeholder()})"
        elif lookup.startswith("i"):
            text = ctx.dialect.ilike(column, ctx.placeholder())
        else:
            text = f"{column} LIKE {ctx.placeholder()} ESCAPE '\\'"
        if negated and self.path.nullable:
            # NOT (x = 1) is unknown for NULL x; exclude() must keep those rows.
            return f"({text} AND {column} IS NOT NULL)"
        return text


class Junction(Node):
    """Children joined by AND / OR, optionally negated."""

    __slots__ = ("children", "connector", "negated")

    def __init__(self, children: tuple[Node, ...], connector: str, negated: bool) -> None:
        self.children = children
        self.connector = connector
        self.negated = negated
        self.shape = (connector, negated, tuple(child.shape for child in children))

    def params(self, dialect: Dialect) -> list[Any]:
        values: list[Any] = []
        for child in self.children:
            values.extend(child.params(dialect))
        return values

    def sql(self, ctx: CompileContext, negated: bool) -> str:
        inner_negated = negated != self.negated
        if not self.children:
            text = "1 = 1"
        elif len(self.children) == 1:
            text = self.children[0].sql(ctx, inner_negated)
        else:
            glue = f" {self.connector} "
            text = "(" + glue.join(child.sql(ctx, inner_negated) for child in self.children) + ")"
        return f"NOT ({text})" if self.negated else text


def _check_value(path: Path, lookup: str, value: Any, key: str) -> Any:
    field = path.field
    if isinstance(value, Expression):
        return value
    if lookup == "isnull":
        if not isinstance(value, bool):
            raise ValidationError(f"{key}: isnull takes True or False, got {value!r}.")
        return value
    if lookup == "in":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValidationError(f"{key}: 'in' takes a list of values, got {value!r}.")
        return tuple(_field_value(field, item, key) for item in value)
    if lookup == "range":
        if isinstance(value, (str, bytes)) or len(value) != 2:
            raise ValidationError(f"{key}: 'range' takes (low, high), got {value!r}.")
        return (_field_value(field, value[0], key), _field_value(field, value[1], key))
    if lookup in _PATTERNS or lookup == "iexact":
        if not isinstance(value, str):
            raise ValidationError(f"{key}: {lookup!r} takes a string, got {value!r}.")
        return value
    return _field_value(field, value, key)


def _field_value(field: Field, value: Any, key: str) -> Any:
    if value is None:
        raise ValidationError(
            f"{key}: None is not a value to compare; use {key.split('__')[0]}__isnull=True."
        )
    try:
        return field.to_python(value)
    except ValidationError as error:
        raise ValidationError(f"{key}: {error}", field=field.name) from None


_BOUNDED = frozenset(("exact", "gt", "gte", "lt", "lte", "in", "range"))
_NOTHING = ("in", ())  # matches no row
_NOT_NULL = ("isnull", False)  # matches every row that has a value


def _side(value: Any, bounds: tuple[int, int]) -> int:
    """-1 below *bounds*, 1 above them, 0 within them (or not an integer at all)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < bounds[0]:
            return -1
        if value > bounds[1]:
            return 1
    return 0


def _within(bounds: tuple[int, int], lookup: str, value: Any) -> tuple[str, Any]:
    """The lookup and value to send for a comparison on an integer column. Integers the
    column cannot hold are decided here, so the driver never meets them (it overflows):
    ``exact`` / ``in`` drop them, a comparison with one matches nothing or every non-null
    row, a range is clipped to the column's."""
    if lookup == "in":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            return lookup, value  # refused by _check_value
        low, high = bounds
        return lookup, [
            item
            for item in value
            if (low <= item <= high if type(item) is int else not _side(item, bounds))
        ]
    if lookup == "range":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            return lookup, value  # refused by _check_value
        low, high = value
        if _side(low, bounds) > 0 or _side(high, bounds) < 0:
            return _NOTHING
        if _side(low, bounds) < 0:
            low = bounds[0]
        if _side(high, bounds) > 0:
            high = bounds[1]
        return lookup, (low, high)
    side = _side(value, bounds)
    if not side:
        return lookup, value
    if lookup == "exact" or (side > 0) == (lookup in ("gt", "gte")):
        return _NOTHING
    return _NOT_NULL


def condition(model: type[Model], key: str, value: Any) -> Condition:
    """Build the condition ``key=value`` (``"author__name__icontains"``) for *model*."""
    path, lookup = _resolve_lookup(model, key)
    if value is None and lookup == "exact":
        return Condition(path, "isnull", True)
    if lookup in _BOUNDED:
        bounds = path.field.bounds
        if (
            bounds is not None
            and not (type(value) is int and bounds[0] <= value <= bounds[1])
            and not isinstance(value, Expression)
        ):
            lookup, value = _within(bounds, lookup, value)
    return Condition(path, lookup, _check_value(path, lookup, value, key))


def build_where(model: type[Model], q: Q) -> Node:
    """Turn a ``Q`` tree into WHERE nodes for *model*."""
    children: list[Node] = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(build_where(model, child))
        else:
            children.append(condition(model, child[0], child[1]))
    if len(children) == 1 and not q.negated:
        return children[0]
    return Junction(tuple(children), q.connector, q.negated)


def suggest_lookup(name: str) -> str:
    """A hint naming the closest lookup to *name*."""
    return suggest(name, LOOKUPS)


class AnnotationCondition(Node):
    """A comparison against an annotation (``comment_count__gt=5``): part of HAVING."""

    __slots__ = ("lookup", "name", "value")

    def __init__(self, name: str, lookup: str, value: Any) -> None:
        if lookup not in _COMPARISONS and lookup not in ("in", "isnull", "range"):
            raise FieldError(
                f"Annotation {name!r} supports the lookups exact, gt, gte, lt, lte, in, isnull "
                f"and range, not {lookup!r}."
            )
        self.name = name
        self.lookup = lookup
        self.value = tuple(value) if lookup in ("in", "range") else value
        variant = len(self.value) if lookup == "in" else None
        self.shape = ("annotation", name, lookup, variant)

    def params(self, dialect: Dialect) -> list[Any]:
        if self.lookup == "isnull":
            return []
        if self.lookup in ("in", "range"):
            return list(self.value)
        return [self.value]

    def sql(self, ctx: CompileContext, negated: bool) -> str:
        expression = ctx.annotation(self.name)
        lookup = self.lookup
        if lookup == "isnull":
            return f"{expression} IS {'' if self.value else 'NOT '}NULL"
        if lookup == "in":
            if not self.value:
                return "1 = 0"
            return f"{expression} IN ({', '.join(ctx.placeholder() for _ in self.value)})"
        if lookup == "range":
            return f"{expression} BETWEEN {ctx.placeholder()} AND {ctx.placeholder()}"
        return f"{expression} {_COMPARISONS[lookup]} {ctx.placeholder()}"


def annotation_condition(key: str, value: Any, names: Sequence[str]) -> AnnotationCondition | None:
    """The HAVING condition for *key* when it starts with an annotation name, else None."""
    head, _, lookup = key.partition("__")
    if head not in names:
        return None
    return AnnotationCondition(head, lookup or "exact", value)
