"""A QuerySet written back as the chain of calls that makes it, for a reader (the plan's
``describe()`` and ``explain_plan``). Filter values are left out: they may be secrets."""

from __future__ import annotations

from typing import Any

from aksara.orm.expressions import Aggregate, F
from aksara.orm.queryset import QuerySet
from aksara.orm.relations.prefetch import Prefetch
from aksara.orm.where import Condition, Node

__all__ = ["WIDTH", "describe_queryset"]


#: The width the text is wrapped to.
WIDTH = 96


def _names(names: tuple[str, ...] | list[str], indent: str = "") -> str:
    """The quoted names on one line, or packed on lines under *indent* when too long."""
    quoted = [f'"{name}"' for name in names]
    line = ", ".join(quoted)
    if len(line) + len(indent) + 16 <= WIDTH:
        return line
    lines: list[str] = []
    current = ""
    for item in quoted:
        if current and len(indent) + 8 + len(current) + len(item) + 2 > WIDTH:
            lines.append(current)
            current = ""
        current = f"{current} {item}," if current else f"{item},"
    lines.append(current)
    return "".join(f"\n{indent}        {text}" for text in lines) + f"\n{indent}    "


def _aggregate(aggregate: Aggregate) -> str:
    source = aggregate.source
    inner = f'"{source.name}"' if isinstance(source, F) else repr(source)
    distinct = ", distinct=True" if aggregate.distinct else ""
    return f"{type(aggregate).__name__}({inner}{distinct})"


def _condition(node: Node) -> str:
    if isinstance(node, Condition):
        return f"{node.path.key}__{node.lookup.name}=…"
    return "Q(…)"


def _prefetch(lookup: Prefetch, indent: str) -> str:
    """``"comments"``, or ``Prefetch("comments", queryset=...)`` on one line when short and
    one argument a line otherwise."""
    if lookup.queryset is None and lookup.to_attr is None:
        return f'"{lookup.lookup}"'
    parts = [f'"{lookup.lookup}"']
    if lookup.queryset is not None:
        inner = describe_queryset(lookup.queryset, indent + "    ")
        lines = inner.splitlines()
        if len(lines) <= 2:
            inner = "".join(line.strip() for line in lines)
        parts.append(f"queryset={inner.lstrip()}")
    if lookup.to_attr is not None:
        parts.append(f'to_attr="{lookup.to_attr}"')
    short = f"Prefetch({', '.join(parts)})"
    if "\n" not in short and len(short) + len(indent) <= WIDTH:
        return short
    arguments = "".join(f"\n{indent}    {part}," for part in parts)
    return f"Prefetch({arguments}\n{indent})"


def describe_queryset(queryset: QuerySet[Any], indent: str = "") -> str:
    """``Post.objects.select_related("author").only(...)``: one call a line under *indent*."""
    query = queryset.query
    calls: list[str] = []
    if query.where:
        calls.append(f"filter({', '.join(_condition(node) for node in query.where)})")
    if query.related:
        calls.append(f"select_related({_names(query.related, indent)})")
    if query.prefetch:
        inner = indent + "        "
        lookups = "".join(f"\n{inner}{_prefetch(p, inner)}," for p in query.prefetch)
        calls.append(f"prefetch_related({lookups}\n{indent}    )")
    if query.only is not None:
        calls.append(f"only({_names(query.only, indent)})")
    if query.defer:
        calls.append(f"defer({_names(query.defer, indent)})")
    if query.annotations:
        pairs = ", ".join(f"{name}={_aggregate(agg)}" for name, agg in query.annotations)
        calls.append(f"annotate({pairs})")
    if query.having:
        calls.append(f"filter({', '.join(_condition(node) for node in query.having)})")
    if query.order is not None:
        calls.append(f"order_by({_names(query.order, indent)})")
    if query.distinct:
        calls.append("distinct()")
    if query.loading is not None:
        calls.append(f'relation_loading("{query.loading}")')
    if query.limit is not None or query.offset is not None:
        start = query.offset or 0
        stop = "" if query.limit is None else str(start + query.limit)
        calls.append(f"[{start}:{stop}]")
    text = f"{indent}{query.model.__name__}.objects"
    if not calls:
        return text + ".all()"
    return text + "".join(
        f"\n{indent}    {'' if call.startswith('[') else '.'}{call}" for call in calls
    )
