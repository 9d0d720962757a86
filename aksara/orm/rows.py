"""Rows to results: one generated function per query shape.

A straight-line function per shape (no loop over columns, no per-value dispatch) builds
1,000 instances about 2.5x faster than a generic loop. The generated code holds only
attribute names, quoted with ``str.__repr__`` (a ``str`` subclass cannot change how), and
column indexes. Its source is registered with ``linecache``, so tracebacks and pdb show it.
"""

from __future__ import annotations

import hashlib
import linecache
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["Builder", "Converter", "RowNode", "make_builder", "make_instance_builder"]

Builder = Callable[[list[Any]], list[Any]]
Converter = Callable[[Any], Any]


class RowNode:
    """One model's columns within a row: where they start, and the rows joined below it.

    ``attribute`` is the foreign key name the instance is stored under in its parent;
    ``pk_index`` tells whether a LEFT JOIN found a row (None there means no row).
    """

    def __init__(
        self,
        model: type[Model],
        names: tuple[str, ...],
        start: int,
        *,
        pk_index: int | None = None,
        attribute: str = "",
        nullable: bool = False,
    ) -> None:
        self.model = model
        self.names = names
        self.start = start
        self.pk_index = pk_index
        self.attribute = attribute
        self.nullable = nullable
        self.children: list[RowNode] = []
        self.annotations: list[tuple[str, int]] = []


def _quote(name: str) -> str:
    return str.__repr__(name)


def _value(index: int, converters: dict[int, Converter]) -> str:
    if index in converters:
        return f"(None if r[{index}] is None else c{index}(r[{index}]))"
    return f"r[{index}]"


def _compile(source: str, namespace: dict[str, Any], label: str) -> Builder:
    # One file name per distinct source, so linecache holds each generated function once.
    digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:12]
    filename = f"<aksara rows {label} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)
    builder: Builder = namespace["build"]
    return builder


def _node_lines(
    node: RowNode, depth: int, converters: dict[int, Converter], models: dict[str, Any]
) -> list[str]:
    obj, values = f"o{depth}", f"d{depth}"
    models[f"M{depth}_{id(node)}"] = node.model
    lines = [f"{obj} = new(M{depth}_{id(node)}); {values} = {obj}.__dict__"]
    for offset, name in enumerate(node.names):
        lines.append(f"{values}[{_quote(name)}] = {_value(node.start + offset, converters)}")
    for name, index in node.annotations:
        lines.append(f"{values}[{_quote(name)}] = {_value(index, converters)}")
    for child in node.children:
        inner = _node_lines(child, depth + 1, converters, models)
        inner.append(f"{values}[{_quote(child.attribute)}] = o{depth + 1}")
        if child.nullable:
            lines.append(f"if r[{child.pk_index}] is None:")
            lines.append(f"    {values}[{_quote(child.attribute)}] = None")
            lines.append("else:")
            lines.extend("    " + line for line in inner)
        else:
            lines.extend(inner)
    return lines


def make_instance_builder(root: RowNode, converters: dict[int, Converter]) -> Builder:
    """Generate ``rows -> instances`` for *root*'s model and the models joined to it."""
    models: dict[str, Any] = {}
    body = _node_lines(root, 0, converters, models)
    source = "\n".join(
        [
            "def build(rows):",
            "    out = []",
            "    ap = out.append",
            "    for r in rows:",
            *("        " + line for line in body),
            "        ap(o0)",
            "    return out",
        ]
    )
    namespace: dict[str, Any] = {"new": object.__new__, **models}
    namespace.update({f"c{index}": converter for index, converter in converters.items()})
    return _compile(source, namespace, root.model.__name__)


def make_builder(names: tuple[str, ...], converters: dict[int, Converter], mode: str) -> Builder:
    """Generate ``rows -> dicts / tuples / values`` for ``values()`` and ``values_list()``."""
    if mode == "dict":
        pairs = ", ".join(
            f"{_quote(name)}: {_value(i, converters)}" for i, name in enumerate(names)
        )
        item = f"ap({{{pairs}}})"
    elif mode == "tuple":
        values = ", ".join(_value(i, converters) for i in range(len(names)))
        item = f"ap(({values},))"
    else:
        item = f"ap({_value(0, converters)})"
    source = "\n".join(
        [
            "def build(rows):",
            "    out = []",
            "    ap = out.append",
            "    for r in rows:",
            f"        {item}",
            "    return out",
        ]
    )
    namespace: dict[str, Any] = {f"c{index}": converter for index, converter in converters.items()}
    return _compile(source, namespace, mode)
