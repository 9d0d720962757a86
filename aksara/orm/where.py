"""Filter conditions: lookups resolved against model metadata into immutable WHERE nodes.

``filter(author__name__icontains="ada")`` resolves once per model and key (cached in
``_meta.lookup_cache``) into a :class:`Path` (the foreign keys joined and the final field)
and a lookup. Values are checked against the field's type when the filter is built, so a
bad value fails before any query is sent.

``Q`` trees become flat junctions (``a | b | c`` is one OR of three, ``~~q`` is ``q``), built
without recursion per term; what nesting remains is capped by :data:`MAX_CONDITION_DEPTH`.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from aksara.conf import settings
from aksara.db.querylog import is_secret_column
from aksara.exceptions import FieldError, QueryLimitError, ValidationError, suggest
from aksara.orm.arithmetic import check_comparison
from aksara.orm.expressions import Aggregate, Combined, CompileContext, Expression, F, Q
from aksara.orm.fields import Field
from aksara.orm.paths import Path, check_depth, resolve_path

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model

__all__ = [
    "LOOKUPS",
    "MAX_CONDITION_DEPTH",
    "AnnotationCondition",
    "Condition",
    "Junction",
    "Node",
    "annotation_condition",
    "build_where",
    "condition",
    "negation",
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
_ANNOTATION_LOOKUPS = ("exact", "gt", "gte", "lt", "lte", "in", "isnull", "range")

#: How deep AND/OR/NOT groups may nest (after flattening), counting one more level per 64
#: conditions of one group. SQLite's parser gives up at about 25 levels.
MAX_CONDITION_DEPTH = 16
#: Terms of one AND/OR chain per parenthesised group: SQLite refuses expressions nested more
#: than 1,000 deep, and ``a OR b OR …`` nests one level per term.
_GROUP = 64
#: Lists up to this many values get a size class of their own (the next power of two); every
#: longer list shares one class. No dialect inlines more values than this (see Dialect).
_LIST_CLASSES = 64


def _resolve_lookup(model: type[Model], key: str) -> tuple[Path, str]:
    cached = model._meta.lookup_cache.get(key)
    if cached is not None:
        path, lookup, relations = cached
        if relations > settings.MAX_RELATION_DEPTH:  # the setting may have been lowered since
            check_depth(key.split("__"), relations=relations)
        return path, lookup
    parts = key.split("__")
    lookup = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup = parts.pop()
    check_depth(parts)
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
    model._meta.lookup_cache[key] = (path, lookup, len(parts) - 1)
    return path, lookup


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Node:
    """A WHERE-clause node.

    ``depth`` counts the groups nested inside it; ``aggregated`` tells whether it reads an
    annotation, so that it belongs to HAVING (or to the WHERE of correlated subqueries).
    """

    __slots__ = ("aggregated", "depth", "shape")
    shape: Hashable
    depth: int
    aggregated: bool

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        """The SQL condition; *negated* tells whether an odd number of NOTs enclose it, *at*
        where the node is found in the query (its values are bound from there)."""
        raise NotImplementedError


def list_class(count: int) -> int:
    """The size class of an ``in`` list: 0 (empty), the next power of two up to 64, or 128."""
    if count > _LIST_CLASSES:
        return _LIST_CLASSES * 2
    return 0 if count == 0 else 1 << (count - 1).bit_length()


def _in_sql(
    ctx: CompileContext, operand: str, count: int, at: str, adapt: Any, secret: bool
) -> str:
    """``IN`` the list at *at*: one marker per value up to the dialect's inline limit,
    padded to the size class by repeating the last value (IN ignores duplicates, and every
    length of the class shares one statement); above it, one parameter for the list."""
    dialect = ctx.dialect
    if not count:
        return "1 = 0"
    if count <= dialect.max_inline_list:
        markers = [
            ctx.bind(f"item({at}, {index})", adapt, secret=secret)
            for index in range(list_class(count))
        ]
        return dialect.in_list(operand, markers)
    return dialect.in_param(operand, ctx.bind(at, _list_adapter(dialect, adapt), secret=secret))


def _list_adapter(dialect: Dialect, adapt: Any) -> Any:
    list_param = dialect.list_param
    if adapt is None:
        return lambda items: list_param(list(items))
    return lambda items: list_param([adapt(item) for item in items])


def _pattern(before: str, after: str) -> Any:
    return lambda value: before + _escape_like(value) + after


def _references(expression: Expression, names: Sequence[str]) -> bool:
    """Whether *expression* reads one of the annotations *names* (walked without recursion)."""
    pending: list[Any] = [expression]
    while pending:
        item = pending.pop()
        if isinstance(item, F):
            if item.name in names:
                return True
        elif isinstance(item, Combined):
            pending.extend((item.lhs, item.rhs))
        elif isinstance(item, Aggregate):
            pending.append(item.source)
    return False


class Condition(Node):
    """One lookup of one field against a value (or an expression)."""

    __slots__ = ("lookup", "path", "value")

    def __init__(self, path: Path, lookup: str, value: Any, *, aggregated: bool = False) -> None:
        self.path = path
        self.lookup = lookup
        self.value = value
        self.depth = 0
        self.aggregated = aggregated
        if isinstance(value, Expression):
            variant: Hashable = value.shape()
        elif lookup == "in":
            variant = list_class(len(value))
        elif lookup == "isnull":
            variant = bool(value)
        else:
            variant = None
        self.shape = (path.key, lookup, variant)

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        column = ctx.path_column(self.path)
        lookup, value = self.lookup, self.value
        if lookup == "isnull":
            return f"{column} IS NULL" if value else f"{column} IS NOT NULL"
        field = self.path.field
        secret = is_secret_column(field.column)
        source = f"{at}.value"
        adapt = ctx.dialect.adapters.get(field.kind)
        if isinstance(value, Expression):
            operator = _COMPARISONS.get(lookup)
            if operator is None:
                raise FieldError(f"Lookup {lookup!r} cannot compare with an expression.")
            check_comparison(field, value, ctx)
            text = f"{column} {operator} {value.sql(ctx, source)}"
        elif lookup in _COMPARISONS:
            text = f"{column} {_COMPARISONS[lookup]} {ctx.bind(source, adapt, secret=secret)}"
        elif lookup == "in":
            if not value:
                return "1 = 0"
            text = _in_sql(ctx, column, len(value), source, adapt, secret)
        elif lookup == "range":
            low = ctx.bind(f"{source}[0]", adapt, secret=secret)
            high = ctx.bind(f"{source}[1]", adapt, secret=secret)
            text = f"{column} BETWEEN {low} AND {high}"
        elif lookup == "iexact":
            text = f"LOWER({column}) = LOWER({ctx.bind(source, adapt, secret=secret)})"
        else:
            marker = ctx.bind(source, _pattern(*_PATTERNS[lookup]), secret=secret)
            if lookup.startswith("i"):
                text = ctx.dialect.ilike(column, marker)
            else:
                text = f"{column} LIKE {marker} ESCAPE '\\'"
        if negated and self.path.nullable:
            # NOT (x = 1) is unknown for NULL x; exclude() must keep those rows.
            return f"({text} AND {column} IS NOT NULL)"
        return text


def _group_levels(count: int) -> int:
    levels = 0
    while count > _GROUP:
        count = -(-count // _GROUP)
        levels += 1
    return levels


def _chain(parts: list[str], glue: str) -> str:
    while len(parts) > _GROUP:
        parts = [
            "(" + glue.join(parts[start : start + _GROUP]) + ")"
            for start in range(0, len(parts), _GROUP)
        ]
    return "(" + glue.join(parts) + ")"


def _too_deep(depth: int) -> QueryLimitError:
    return QueryLimitError(
        f"The conditions nest {depth} levels deep (AND/OR/NOT groups inside each other, one "
        f"level more per {_GROUP} conditions of a group); the limit is {MAX_CONDITION_DEPTH}, "
        "as SQLite refuses deeper SQL. Flatten the Q objects (a | b | c instead of nesting), "
        "or use __in for many values of one field."
    )


class Junction(Node):
    """Children joined by AND / OR, optionally negated."""

    __slots__ = ("children", "connector", "negated")

    def __init__(self, children: tuple[Node, ...], connector: str, negated: bool) -> None:
        self.children = children
        self.connector = connector
        self.negated = negated
        self.shape = (connector, negated, tuple([child.shape for child in children]))
        deepest = max([child.depth for child in children], default=0)
        self.depth = 1 + _group_levels(len(children)) + deepest
        if self.depth > MAX_CONDITION_DEPTH:
            raise _too_deep(self.depth)
        self.aggregated = any([child.aggregated for child in children])

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        inner_negated = negated != self.negated
        if not self.children:
            text = "1 = 1"
        elif len(self.children) == 1:
            text = self.children[0].sql(ctx, inner_negated, f"{at}.children[0]")
        else:
            parts = [
                child.sql(ctx, inner_negated, f"{at}.children[{index}]")
                for index, child in enumerate(self.children)
            ]
            text = _chain(parts, f" {self.connector} ")
        return f"NOT ({text})" if self.negated else text


def negation(nodes: Sequence[Node]) -> Node:
    """NOT (all of *nodes*), without stacking a second NOT on a negated group."""
    if len(nodes) == 1:
        node = nodes[0]
        if isinstance(node, Junction) and node.negated:
            if len(node.children) == 1:
                return node.children[0]
            return Junction(node.children, node.connector, False)
    return Junction(tuple(nodes), Q.AND, True)


def _check_value(field: Field, lookup: str, value: Any, key: str) -> Any:
    if isinstance(value, Expression):
        return value
    if lookup == "isnull":
        if not isinstance(value, bool):
            raise ValidationError(f"{key}: isnull takes True or False, got {value!r}.")
        return value
    if lookup == "in":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValidationError(f"{key}: 'in' takes a list of values, got {value!r}.")
        return tuple([_field_value(field, item, key) for item in value])
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


Annotations = Sequence[tuple[str, Aggregate]]


def condition(
    model: type[Model], key: str, value: Any, annotations: Annotations = ()
) -> Condition | AnnotationCondition:
    """Build the condition ``key=value`` (``"author__name__icontains"``) for *model*; a key
    naming one of *annotations* (``comment_count__gt``) compares the aggregate."""
    if annotations:
        head = key.partition("__")[0]
        for name, aggregate in annotations:
            if name == head:
                return annotation_condition(model, key, value, name, aggregate)
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
    aggregated = (
        bool(annotations)
        and isinstance(value, Expression)
        and _references(value, [name for name, _ in annotations])
    )
    return Condition(
        path, lookup, _check_value(path.field, lookup, value, key), aggregated=aggregated
    )


def _unwrap(q: Q) -> tuple[Q, bool]:
    """The Q inside single-child wrappers, and whether an odd number of NOTs enclose it."""
    negated = False
    while len(q.children) == 1 and isinstance(q.children[0], Q):
        negated = negated != q.negated
        q = q.children[0]
    return q, negated != q.negated


def build_where(model: type[Model], q: Q, annotations: Annotations = ()) -> Node:
    """Turn a ``Q`` tree into WHERE nodes for *model*, flattening same-connector groups."""
    return _build(model, q, annotations, 1)


def _build(model: type[Model], q: Q, annotations: Annotations, depth: int) -> Node:
    if depth > MAX_CONDITION_DEPTH:
        raise _too_deep(depth)
    q, negated = _unwrap(q)
    connector = q.connector
    children: list[Node] = []
    pending = list(reversed(q.children))
    while pending:
        child = pending.pop()
        if not isinstance(child, Q):
            children.append(condition(model, child[0], child[1], annotations))
            continue
        inner, inner_negated = _unwrap(child)
        if not inner_negated and (inner.connector == connector or len(inner.children) == 1):
            pending.extend(reversed(inner.children))  # (a | b) | c is a | b | c
        else:
            children.append(_build(model, child, annotations, depth + 1))
    if len(children) == 1 and not negated:
        return children[0]
    return Junction(tuple(children), connector, negated)


def suggest_lookup(name: str) -> str:
    """A hint naming the closest lookup to *name*."""
    return suggest(name, LOOKUPS)


class AnnotationCondition(Node):
    """A comparison against an annotation (``comment_count__gt=5``): part of HAVING.

    ``field`` describes the aggregate's result, which checked the value and adapts it.
    """

    __slots__ = ("field", "lookup", "name", "scale", "value")

    def __init__(
        self, name: str, lookup: str, value: Any, field: Field, scale: int | None = None
    ) -> None:
        self.name = name
        self.lookup = lookup
        self.value = value
        self.field = field
        #: Decimal places of the decimal column aggregated: where a dialect stores decimals
        #: scaled to integers, the aggregate is scaled too, and so must the value be.
        self.scale = scale
        self.depth = 0
        self.aggregated = True
        if isinstance(value, Expression):
            variant: Hashable = value.shape()
        elif lookup == "in":
            variant = list_class(len(value))
        elif lookup == "isnull":
            variant = bool(value)
        else:
            variant = None
        self.shape = ("annotation", name, lookup, variant)

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        expression = ctx.annotation(self.name)
        lookup, value = self.lookup, self.value
        source = f"{at}.value"
        if lookup == "isnull":
            return f"{expression} IS {'' if value else 'NOT '}NULL"
        if isinstance(value, Expression):
            return f"{expression} {_COMPARISONS[lookup]} {value.sql(ctx, source)}"
        dialect = ctx.dialect
        adapt: Any
        if self.scale is not None and dialect.decimal_is_scaled:
            places = self.scale
            adapt = lambda item: _scaled(item, places)  # noqa: E731
        else:
            adapt = dialect.computed_adapters.get(self.field.kind)
        if lookup == "in":
            return _in_sql(ctx, expression, len(value), source, adapt, False)
        if lookup == "range":
            low, high = ctx.bind(f"{source}[0]", adapt), ctx.bind(f"{source}[1]", adapt)
            return f"{expression} BETWEEN {low} AND {high}"
        return f"{expression} {_COMPARISONS[lookup]} {ctx.bind(source, adapt)}"


def annotation_condition(
    model: type[Model], key: str, value: Any, name: str, aggregate: Aggregate
) -> AnnotationCondition:
    """The HAVING condition *key* (``"n__gt"``) on the annotation *name*, its value checked
    against the type of the aggregate's result as a field filter's value is."""
    lookup = key[len(name) + 2 :] or "exact"
    if lookup not in _ANNOTATION_LOOKUPS:
        raise FieldError(
            f"Annotation {name!r} supports the lookups {', '.join(_ANNOTATION_LOOKUPS)}, "
            f"not {lookup!r}.{suggest(lookup, _ANNOTATION_LOOKUPS)}"
        )
    if isinstance(value, Expression) and lookup not in _COMPARISONS:
        raise FieldError(f"{key}: lookup {lookup!r} cannot compare with an expression.")
    field = aggregate.field_on(model)
    result = aggregate.result_field(model, name)
    if value is None and lookup == "exact":
        return AnnotationCondition(name, "isnull", True, result)
    scale = None
    if result.kind == "decimal" and field is not None and field.kind == "decimal":
        scale = field.decimal_places  # type: ignore[attr-defined]
    checked = _check_value(result, lookup, value, key)
    return AnnotationCondition(name, lookup, checked, result, scale)


def _scaled(value: Any, places: int) -> int | float:
    """*value* in units of 10**-places: exact as an integer when it has no more places."""
    number = decimal.Decimal(value).scaleb(places)
    return int(number) if number == number.to_integral_value() else float(number)
