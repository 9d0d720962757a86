"""Keyset cursors: a position in an ordering, encoded as opaque URL-safe base64.

A cursor holds the ordering fields' values of one row (the primary key last, so every
position is unique); the next page is the rows strictly after it, which inserts elsewhere
in the ordering cannot shift.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from aksara.api.errors import NotFound
from aksara.api.querystring import InvalidValue, parse_value, to_text
from aksara.exceptions import ConfigurationError, FieldError
from aksara.orm.expressions import Q

if TYPE_CHECKING:
    from aksara.orm.field import Field
    from aksara.orm.models import Model

__all__ = ["Cursor", "CursorCodec", "keyset_condition"]


@dataclass(frozen=True)
class Cursor:
    """A position (ordering values) and which way the page runs from it."""

    position: tuple[Any, ...]
    reverse: bool = False
    #: The row at the position itself belongs to the page.
    inclusive: bool = False


def _invalid() -> NotFound:
    return NotFound("Invalid cursor.")


class CursorCodec:
    """The ordering of *model* a cursor is taken in, and the cursor's text form."""

    def __init__(self, model: type[Model], ordering: str | tuple[str, ...] | None) -> None:
        meta = model._meta
        if ordering is None:
            ordering = "-created_at" if "created_at" in meta.field_names else "-pk"
        names = (ordering,) if isinstance(ordering, str) else tuple(ordering)
        pk = meta.pk.name
        if not any(name.lstrip("-") in ("pk", pk) for name in names):
            descending = names[-1].startswith("-") if names else True
            names = (*names, f"-{pk}" if descending else pk)
        fields: list[Field] = []
        for name in names:
            try:
                field = meta.get_field(name.lstrip("-"))
            except FieldError as error:
                raise ConfigurationError(
                    f"CursorPagination.ordering names {name!r}: {error}"
                ) from None
            if field.null:
                raise ConfigurationError(
                    f"CursorPagination.ordering cannot use {field.label}: it may be NULL, "
                    "and NULLs have no place in a keyset. Order by NOT NULL fields."
                )
            fields.append(field)
        self.ordering = names
        self.fields = tuple(fields)
        self.descending = tuple(name.startswith("-") for name in names)

    def position(self, instance: Any) -> tuple[Any, ...]:
        """The ordering values of *instance*."""
        return tuple(instance.__dict__[field.attname] for field in self.fields)

    def encode(self, cursor: Cursor) -> str:
        """*cursor* as URL-safe base64 text."""
        body: dict[str, Any] = {"p": [to_text(value) for value in cursor.position]}
        if cursor.reverse:
            body["r"] = 1
        if cursor.inclusive:
            body["i"] = 1
        return base64.urlsafe_b64encode(msgspec.json.encode(body)).decode().rstrip("=")

    def decode(self, text: str) -> Cursor:
        """The cursor *text* encodes; NotFound("Invalid cursor.") when it was not made by
        :meth:`encode` for this ordering."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            body = msgspec.json.decode(raw)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise _invalid() from None
        if not isinstance(body, dict) or set(body) - {"p", "r", "i"}:
            raise _invalid()
        values = body.get("p")
        if not isinstance(values, list) or len(values) != len(self.fields):
            raise _invalid()
        position = []
        for field, value in zip(self.fields, values, strict=True):
            if not isinstance(value, str | int | float):
                raise _invalid()
            try:
                position.append(parse_value(field, str(value)))
            except InvalidValue:
                raise _invalid() from None
        flags = (body.get("r", 0), body.get("i", 0))
        if any(flag not in (0, 1) or isinstance(flag, float) for flag in flags):
            raise _invalid()
        return Cursor(tuple(position), reverse=bool(flags[0]), inclusive=bool(flags[1]))


def keyset_condition(codec: CursorCodec, cursor: Cursor) -> Q:
    """The rows after *cursor*'s position in the direction it runs: ``(a, b) > (x, y)`` as
    ``a > x OR (a = x AND b > y)``, each comparison turned by its field's direction."""
    disjuncts: list[Q] = []
    equal: dict[str, Any] = {}
    last = len(codec.fields) - 1
    for index, (field, descending, value) in enumerate(
        zip(codec.fields, codec.descending, cursor.position, strict=True)
    ):
        after = descending == cursor.reverse  # ascending forward, or descending backward
        operator = "gt" if after else "lt"
        if index == last and cursor.inclusive:
            operator += "e"
        disjuncts.append(Q(**equal, **{f"{field.attname}__{operator}": value}))
        equal[field.attname] = value
    condition = disjuncts[0]
    for disjunct in disjuncts[1:]:
        condition |= disjunct
    return condition
