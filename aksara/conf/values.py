"""The generic checks settings are made of: numbers, booleans, option dicts, lists of classes,
callables named by dotted path; and :func:`mask_url`, which every message showing a URL uses."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from aksara.exceptions import ConfigurationError, suggest

_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Return *url* with its password (``user:***@``, ``?password=***``) hidden, for messages.

    Every message and log line that shows a database URL goes through this.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    # The last "@" ends the credentials even when the password holds an unescaped "@" or "/";
    # when the query holds one instead, more is hidden than needed, never less.
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.partition(':')[0]}:***@{host}"
    return scheme + separator + _PASSWORD_PARAMETER.sub(r"\1***", rest)


def _number(key: str, value: Any, *, integer: bool, minimum: float, optional: bool) -> Any:
    if value is None and optional:
        return None
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= minimum:  # type: ignore[operator]
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"{key} must be {kind} >= {minimum}, got {value!r}.")
    return value


def _boolean(key: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigurationError(f"{key} must be True or False, got {value!r}.")
        return value

    return check


def _optional_boolean(key: str) -> Callable[[Any], bool | None]:
    def check(value: Any) -> bool | None:
        if value is not None and not isinstance(value, bool):
            raise ConfigurationError(f"{key} must be True, False or None, got {value!r}.")
        return value

    return check


def _options(key: str, defaults: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{key} must be a dict with keys among {sorted(defaults)}.")
    options = dict(defaults)
    for name, given in value.items():
        if name not in defaults:
            raise ConfigurationError(
                f"Unknown {key} key {name!r}.{suggest(name, defaults)} "
                f"Valid keys: {', '.join(sorted(defaults))}."
            )
        options[name] = given
    return options


def _classes(key: str) -> Callable[[Any], list[Any]]:
    def check(value: Any) -> list[Any]:
        if isinstance(value, (str, type)) or not isinstance(value, (list, tuple)):
            raise ConfigurationError(f"{key} must be a list of classes or dotted paths.")
        for item in value:
            if not (isinstance(item, str) or callable(item)):
                raise ConfigurationError(
                    f"{key} holds {item!r}: give classes or dotted paths to them."
                )
        return list(value)

    return check


def _handler(value: Any) -> Callable[..., Any] | None:
    if value is None:
        return None
    if callable(value):
        given: Callable[..., Any] = value
        return given
    if isinstance(value, str) and "." in value:
        module_name, _, attribute = value.rpartition(".")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"SLOW_QUERY_HANDLER {value!r} cannot be imported: {error}"
            ) from None
        if callable(found):
            handler: Callable[..., Any] = found
            return handler
    raise ConfigurationError(
        f"SLOW_QUERY_HANDLER must be a callable or a dotted path to one, got {value!r}."
    )
