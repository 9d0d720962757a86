"""Cache keys of ``@cached`` calls: the function's qualified name and a stable encoding of
its arguments, a ``key=`` template formatted with them, or a ``key=`` callable's result."""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import inspect
import uuid
from collections.abc import Callable
from typing import Any

from aksara.exceptions import AksaraError

__all__ = ["CacheKeyError", "KeyMaker"]

#: Parameter names taken as the instance or class of a method, left out of derived keys.
_RECEIVERS = frozenset({"self", "cls"})
_SCALARS = (str, int, float, bool, type(None), bytes)
_VALUES = (datetime.datetime, datetime.date, datetime.time, decimal.Decimal, uuid.UUID)


class CacheKeyError(AksaraError, TypeError):
    """An argument of a ``@cached`` call cannot be part of a cache key."""


class KeyMaker:
    """Turns the arguments of one function's calls into the text that names its entry."""

    def __init__(self, function: Callable[..., Any], key: str | Callable[..., Any] | None) -> None:
        self.name = f"{function.__module__}.{function.__qualname__}"
        self.signature = inspect.signature(function)
        self.template = key if isinstance(key, str) else None
        self.callable = key if callable(key) else None
        if key is not None and self.template is None and self.callable is None:
            raise TypeError(f"key= takes a str template or a callable, not {key!r}.")
        parameters = list(self.signature.parameters.values())
        self.skip = 1 if parameters and parameters[0].name in _RECEIVERS else 0
        kinds = {parameter.kind for parameter in parameters}
        # Calls with positional arguments only are keyed without binding (a few µs saved).
        self.simple = not kinds & {
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        }
        self.count = len(parameters)
        #: Whether every call has the same key (nothing to key on but the receiver).
        self.is_constant = key is None and self.simple and self.count == self.skip
        self.defaults = tuple(parameter.default for parameter in parameters)

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key of a call with *args* and *kwargs*."""
        if self.callable is not None:
            return str(self.callable(*args, **kwargs))
        if self.template is not None:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return self.template.format(**bound.arguments)
        if self.simple and not kwargs and len(args) <= self.count:
            values = args[self.skip :] + self.defaults[len(args) :]
            if inspect.Parameter.empty in values:
                self.signature.bind(*args)  # raises the TypeError Python would
        else:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = tuple(bound.arguments.values())[self.skip :]
        if not values:
            return ""
        text = encode(values, self.name)
        if len(text) <= 64:
            return text
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def encode(value: Any, name: str) -> str:
    """A text that two equal argument values always give, and unequal ones never share."""
    kind = type(value)
    if kind is str:
        return repr(value)
    if kind in _SCALARS or isinstance(value, _VALUES):
        return f"{kind.__name__}:{value!r}" if kind not in (int, bool, type(None)) else repr(value)
    if isinstance(value, enum.Enum):
        return f"{kind.__qualname__}.{value.name}"
    if kind is tuple or kind is list:
        inner = ",".join(encode(item, name) for item in value)
        return f"({inner})" if kind is tuple else f"[{inner}]"
    if kind is dict:
        items = sorted((encode(k, name), encode(v, name)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if kind in (set, frozenset):
        return "{" + ",".join(sorted(encode(item, name) for item in value)) + "}"
    meta = getattr(kind, "_meta", None)
    pk = getattr(value, "pk", None)
    if meta is not None and pk is not None:
        return f"{meta.table_name}#{encode(pk, name)}"
    raise CacheKeyError(
        f"@cached {name}() cannot make a cache key of an argument of type "
        f"{kind.__qualname__}: pass key= (a template such as 'post:{{post_id}}' or a "
        "callable taking the function's arguments). Arguments usable as they are: str, int, "
        "float, bool, None, bytes, datetime, date, time, Decimal, UUID, enums, saved model "
        "instances, and tuples, lists, dicts and sets of them."
    )
