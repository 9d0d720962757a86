"""Query-string values parsed by the type of the model field they are compared with."""

from __future__ import annotations

import functools
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import URL

if TYPE_CHECKING:
    from starlette.requests import Request

    from aksara.orm.field import Field

__all__ = [
    "InvalidValue",
    "expected_type",
    "parse_boolean",
    "parse_value",
    "request_url",
    "to_text",
    "with_param",
]

_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_TRUE = frozenset(("true", "1"))
_FALSE = frozenset(("false", "0"))


class InvalidValue(ValueError):
    """A query-string value that does not parse as its field's type; ``expected`` says
    which type was expected (``"an integer"``)."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        super().__init__(f"Expected {expected}.")


def parse_boolean(raw: str) -> bool:
    """``true`` / ``false`` / ``1`` / ``0`` (any case) as a bool."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidValue(_LABELS["boolean"])


def _integer(raw: str) -> int:
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidValue(_LABELS["integer"])
    return int(text)


def _float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidValue(_LABELS["float"]) from None
    if not math.isfinite(value):
        raise InvalidValue(_LABELS["float"])
    return value


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise InvalidValue(_LABELS["decimal"]) from None
    if not value.is_finite():
        raise InvalidValue(_LABELS["decimal"])
    return value


def _datetime(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(_LABELS["datetime"]) from None


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(_LABELS["date"]) from None


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise InvalidValue(_LABELS["uuid"]) from None


def _text(raw: str) -> str:
    return raw


_LABELS = {
    "integer": "an integer",
    "float": "a number",
    "decimal": "a decimal number",
    "boolean": "a boolean (true, false, 1 or 0)",
    "datetime": "an ISO 8601 datetime (2024-01-31T12:00:00+00:00)",
    "date": "an ISO 8601 date (2024-01-31)",
    "uuid": "a UUID",
    "string": "a string",
}

_PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "auto": (_integer, "integer"),
    "integer": (_integer, "integer"),
    "biginteger": (_integer, "integer"),
    "float": (_float, "float"),
    "decimal": (_decimal, "decimal"),
    "boolean": (parse_boolean, "boolean"),
    "datetime": (_datetime, "datetime"),
    "date": (_date, "date"),
    "uuid": (_uuid, "uuid"),
}


def expected_type(field: Field) -> str:
    """What a value of *field* looks like in a query string (``"an integer"``)."""
    found = _PARSERS.get(field.kind)
    return _LABELS[found[1]] if found is not None else _LABELS["string"]


def parse_value(field: Field, raw: str) -> Any:
    """*raw* parsed as a value of *field*'s type; :class:`InvalidValue` when it does not
    parse. Text-like fields take the string as it is."""
    found = _PARSERS.get(field.kind)
    return (found[0] if found is not None else _text)(raw)


def to_text(value: Any) -> Any:
    """*value* as JSON-ready data that :func:`parse_value` reads back (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def request_url(request: Request) -> str:
    """``str(request.url)``, remembered for the scope values it is built from: pagination
    links are built from a few distinct URLs, and Starlette parses the Host header anew."""
    scope = request.scope
    host = None
    for key, value in scope["headers"]:
        if key == b"host":
            host = value
            break
    server = scope.get("server")
    return _request_url(
        scope.get("scheme", "http"),
        None if server is None else tuple(server),
        scope["path"],
        scope.get("query_string", b""),
        host,
    )


@functools.lru_cache(maxsize=1024)
def _request_url(
    scheme: str, server: tuple[Any, ...] | None, path: str, query: bytes, host: bytes | None
) -> str:
    headers = [] if host is None else [(b"host", host)]
    scope = {"scheme": scheme, "server": server, "path": path, "query_string": query}
    return str(URL(scope={**scope, "headers": headers}))


def with_param(url: URL | str, name: str, value: Any) -> str:
    """*url* with the query parameter *name* set to *value* where it stands (appended when
    absent), or removed when *value* is None; every other parameter kept in its place."""
    return _with_param(str(url), name, None if value is None else str(value))


# Pagination links are built twice a list request from a few distinct URLs: remembered.
@functools.lru_cache(maxsize=1024)
def _with_param(url: str, name: str, value: str | None) -> str:
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    replaced: list[tuple[str, str]] = []
    placed = False
    for key, old in pairs:
        if key != name:
            replaced.append((key, old))
        elif value is not None and not placed:
            replaced.append((key, value))
            placed = True
    if value is not None and not placed:
        replaced.append((name, value))
    return f"{base}?{urlencode(replaced)}" if replaced else base
