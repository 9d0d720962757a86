"""Field selection (``?fields=id,title,author.name``): the requested names checked against a
serializer's readable fields and put in one normal form, the key of its compiled outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from aksara.api.errors import FieldSelectionError
from aksara.api.serializers import base

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer
    from aksara.api.serializers.fields import Field

__all__ = ["Selection", "nested_class", "normalize_selection", "readable_fields", "valid_names"]

#: A normalized selection: ``(name, None)`` for a field, ``(name, selection)`` for a nested
#: serializer, in the serializer's declaration order, every nested selection spelled out.
Selection: TypeAlias = tuple[tuple[str, "Selection | None"], ...]


def readable_fields(serializer: type[Serializer]) -> dict[str, Field]:
    """The fields *serializer* writes to its output (all but the write-only ones)."""
    return {name: field for name, field in serializer._fields.items() if not field.write_only}


def nested_class(field: Field) -> type[Serializer] | None:
    """The serializer class of a nested serializer field; None for any other field."""
    return type(field) if isinstance(field, base.Serializer) else None


def valid_names(serializer: type[Serializer]) -> list[str]:
    """Every name a selection may hold: the readable fields and, for nested serializers,
    their own names dotted (``author``, ``author.id``, ``author.name``)."""
    names: list[str] = []
    for name, field in readable_fields(serializer).items():
        names.append(name)
        nested = nested_class(field)
        if nested is not None:
            names.extend(f"{name}.{inner}" for inner in valid_names(nested))
    return names


def normalize_selection(serializer: type[Serializer], requested: Sequence[str] | None) -> Selection:
    """The normal form of *requested* for *serializer*; None (or nothing but blanks) selects
    every readable field. Raises :class:`FieldSelectionError` listing the valid names."""
    invalid: list[str] = []
    selection = _normalize(serializer, requested, "", invalid)
    if invalid:
        raise FieldSelectionError(invalid, valid_names(serializer))
    return selection


def _normalize(
    serializer: type[Serializer], requested: Sequence[str] | None, prefix: str, invalid: list[str]
) -> Selection:
    readable = readable_fields(serializer)
    # name -> None (the whole field) or the dotted remainders asked of a nested serializer
    wanted: dict[str, list[str] | None] = {}
    for entry in requested or ():
        entry = entry.strip()
        if not entry:
            continue
        head, dot, rest = entry.partition(".")
        field = readable.get(head)
        if field is None or (dot and (not rest or nested_class(field) is None)):
            if prefix + entry not in invalid:
                invalid.append(prefix + entry)
            continue
        if not dot:
            wanted[head] = None
        elif head not in wanted:
            wanted[head] = [rest]
        else:
            inner = wanted[head]
            if inner is not None:
                inner.append(rest)
    every = not wanted and not invalid
    selection: list[tuple[str, Selection | None]] = []
    for name, field in readable.items():
        if not every and name not in wanted:
            continue
        nested = nested_class(field)
        if nested is None:
            selection.append((name, None))
        else:
            inner_names = None if every else wanted[name]
            selection.append((name, _normalize(nested, inner_names, f"{prefix}{name}.", invalid)))
    return tuple(selection)
