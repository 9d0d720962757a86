"""Filter conditions: lookups resolved against model metadata into immutable WHERE nodes.

``filter(author__name__icontains="ada")`` resolves once per model and key (cached in
``_meta.lookup_cache``) into a :class:`Path` (the foreign keys joined and the final field)
and one of the lookups that field offers (:mod:`aksara.orm.lookups`). The lookup checks the
value when the filter is built, so a bad value fails before any query is sent.

``Q`` trees become flat junctions (``a | b | c`` is one OR of three, ``~~q`` is ``q``), built
without recursion per term; what nesting remains is capped by :data:`MAX_CONDITION_DEPTH`.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from aksara.conf import settings
from aksara.db.querylog import is_secret_column
from aksara.exceptions import FieldError, QueryLimitError, suggest
from aksara.orm.arithmetic import check_comparison
from aksara.orm.expressions import Aggregate, Combined, CompileContext, Expression, F, Q
from aksara.orm.fields import Field
from aksara.orm.lookups import IsNull, Lookup
from aksara.orm.paths import Path, check_depth, resolve_path

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = [
    "MAX_CONDITION_DEPTH",
    "AnnotationCondition",
    "Condition",
    "Junction",
    "Node",
    "annotation_condition",
    "build_where",
    "condition",
    "negation",
    "unsupported_lookup",
]

#: How deep AND/OR/NOT groups may nest (after flattening), counting one more level per 64
#: conditions of one group. SQLite's parser gives up at about 25 levels.
MAX_CONDITION_DEPTH = 16
#: Terms of one AND/OR chain per parenthesised group: SQLite refuses expressions nested more
#: than 1,000 deep, and ``a OR b OR …`` nests one level per term.
_GROUP = 64
_IS_NULL = IsNull()


def unsupported_lookup(subject: str, name: str, offered: Sequence[str]) -> FieldError:
    """The error for the lookup *name* that *subject* (``Post.title``) does not offer."""
    owners = _registered_on(name)
    elsewhere = f" ({name!r} is a lookup of {', '.join(owners)} fields.)" if owners else ""
    return FieldError(
        f"{subject} supports the lookups {', '.join(offered)}; not {name!r}."
        f"{suggest(name, offered)}{elsewhere}"
    )


def _registered_on(name: str) -> list[str]:
    """The field classes that register the lookup *name* themselves (walked without
    recursion), so that an error can say which fields take it."""
    owners: list[str] = []
    pending: list[type[Field]] = [Field]
    while pending:
        klass = pending.pop()
        pending.extend(klass.__subclasses__())
        if name in klass.__dict__.get("class_lookups", {}):
            owners.append(klass.__name__)
    return sorted(set(owners))


def _resolve_lookup(model: type[Model], key: str) -> tuple[Path, Lookup]:
    cached = model._meta.lookup_cache.get(key)
    if cached is not None:
        path, lookup, relations = cached
        if relations > settings.MAX_RELATION_DEPTH:  # the setting may have been lowered since
            check_depth(key.split("__"), relations=relations)
        return path, lookup
    parts = key.split("__")
    found: Lookup | None = None
    prefix: Path | None = None
    if len(parts) > 1:
        # The last part is a lookup when the field before it offers one of that name.
        check_depth(parts, relations=len(parts) - 2)
        try:
            prefix = resolve_path(model, parts[:-1])
        except FieldError:
            prefix = None
        if prefix is not None:
            found = prefix.field.get_lookup(parts[-1])
    if found is not None and prefix is not None:
        path = prefix
        parts.pop()
    else:
        check_depth(parts)
        try:
            path = resolve_path(model, parts)
        except FieldError as error:
            if prefix is None:
                raise
            field = prefix.field
            if field.is_relation or (prefix.joins and prefix.joins[-1].name == parts[-2]):
                raise FieldError(
                    f"{error} In {key!r}, the last part may also be a lookup of "
                    f"{field.label}: {', '.join(field.lookups())}."
                ) from None
            raise FieldError(
                f"In {key!r}: {unsupported_lookup(field.label, parts[-1], field.lookups())}"
            ) from None
        found = path.field.get_lookup("exact")
        if found is None:
            raise FieldError(
                f"In {key!r}: {path.field.label} offers no 'exact' lookup, so a filter must "
                f"name one of its lookups: {', '.join(path.field.lookups())}."
            )
    model._meta.lookup_cache[key] = (path, found, len(parts) - 1)
    return path, found


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

    def __init__(self, path: Path, lookup: Lookup, value: Any, *, aggregated: bool = False) -> None:
        self.path = path
        self.lookup = lookup
        self.value = value
        self.depth = 0
        self.aggregated = aggregated
        if isinstance(value, Expression):
            variant: Hashable = value.shape()
        else:
            variant = lookup.variant(value)
        self.shape = (path.key, lookup.name, variant)

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        column = ctx.path_column(self.path)
        lookup, value = self.lookup, self.value
        field = self.path.field
        source = f"{at}.value"
        if isinstance(value, Expression):
            check_comparison(field, value, ctx)
            text = f"{column} {lookup.operator} {value.sql(ctx, source)}"
        else:
            adapt = ctx.dialect.adapters.get(field.kind)
            text = lookup.sql(ctx, column, value, source, adapt, is_secret_column(field.column))
            if not lookup.may_be_unknown(value):
                return text
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
    if value is None and lookup.none_is_null:
        return Condition(path, _IS_NULL, True)
    expression = isinstance(value, Expression)
    if lookup.bounded and not expression:
        bounds = path.field.bounds
        if bounds is not None and not (type(value) is int and bounds[0] <= value <= bounds[1]):
            lookup, value = lookup.clip(bounds, value)
    if expression:
        if lookup.operator is None:
            raise FieldError(
                f"{key}: lookup {lookup.name!r} cannot compare with an expression; compare "
                "with a value, or use exact, gt, gte, lt or lte."
            )
        aggregated = bool(annotations) and _references(value, [name for name, _ in annotations])
        return Condition(path, lookup, value, aggregated=aggregated)
    return Condition(path, lookup, lookup.prepare(path.field, value, key))


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


class AnnotationCondition(Node):
    """A comparison against an annotation (``comment_count__gt=5``): part of HAVING.

    ``field`` describes the aggregate's result: it decides the lookups offered, checks the
    value and adapts it.
    """

    __slots__ = ("field", "lookup", "name", "scale", "value")

    def __init__(
        self, name: str, lookup: Lookup, value: Any, field: Field, scale: int | None = None
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
        else:
            variant = lookup.variant(value)
        self.shape = ("annotation", name, lookup.name, variant)

    def sql(self, ctx: CompileContext, negated: bool, at: str) -> str:
        expression = ctx.annotation(self.name)
        lookup, value = self.lookup, self.value
        source = f"{at}.value"
        if isinstance(value, Expression):
            return f"{expression} {lookup.operator} {value.sql(ctx, source)}"
        dialect = ctx.dialect
        adapt: Any
        if self.scale is not None and dialect.decimal_is_scaled:
            places = self.scale
            adapt = lambda item: _scaled(item, places)  # noqa: E731
        else:
            adapt = dialect.computed_adapters.get(self.field.kind)
        return lookup.sql(ctx, expression, value, source, adapt, False)


def annotation_condition(
    model: type[Model], key: str, value: Any, name: str, aggregate: Aggregate
) -> AnnotationCondition:
    """The HAVING condition *key* (``"n__gt"``) on the annotation *name*, its value checked
    against the type of the aggregate's result as a field filter's value is."""
    lookup_name = key[len(name) + 2 :] or "exact"
    result = aggregate.result_field(model, name)
    lookup = result.get_lookup(lookup_name)
    if lookup is None:
        raise unsupported_lookup(f"Annotation {name!r}", lookup_name, result.lookups())
    if isinstance(value, Expression):
        if lookup.operator is None:
            raise FieldError(f"{key}: lookup {lookup_name!r} cannot compare with an expression.")
        return AnnotationCondition(name, lookup, value, result)
    if value is None and lookup.none_is_null:
        return AnnotationCondition(name, _IS_NULL, True, result)
    field = aggregate.field_on(model)
    scale = None
    if result.kind == "decimal" and field is not None and field.kind == "decimal":
        scale = field.decimal_places  # type: ignore[attr-defined]
    checked = lookup.prepare(result, value, key)
    return AnnotationCondition(name, lookup, checked, result, scale)


def _scaled(value: Any, places: int) -> int | float:
    """*value* in units of 10**-places: exact as an integer when it has no more places."""
    number = decimal.Decimal(value).scaleb(places)
    return int(number) if number == number.to_integral_value() else float(number)


def key_lookup(model: type[Model], key: str) -> tuple[Path, Lookup] | None:
    """The column and ``exact`` lookup of *key* when it compares a column of *model*'s own
    table (``pk``, ``slug``, ``author``) for equality; None for anything else."""
    try:
        path, lookup = _resolve_lookup(model, key)
    except FieldError:
        return None
    if path.joins or lookup.name != "exact" or type(lookup).variant is not Lookup.variant:
        return None
    return path, lookup
