"""N+1 detection: the same query shape run again and again in one function or request."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from aksara.conf import settings
from aksara.db.events import listen
from aksara.debug.capture import CapturedQuery, QueryCapture

__all__ = ["NPlusOneMiddleware", "NPlusOneWarning", "detect_n_plus_one", "normalize_sql"]

P = ParamSpec("P")
R = TypeVar("R")

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w$\"])-?\d+(?:\.\d+)?\b")
_PLACEHOLDER = re.compile(r"\$\d+")
_LIST = re.compile(r"\((?:\s*\?\s*,)+\s*\?\s*\)")
_SPACE = re.compile(r"\s+")


class NPlusOneWarning(UserWarning):
    """One query shape ran at least ``N_PLUS_ONE_THRESHOLD`` times (an N+1 pattern)."""


def normalize_sql(sql: str) -> str:
    """The query's shape: literals and parameter markers replaced by ``?``."""
    shape = _STRING.sub("?", sql)
    shape = _PLACEHOLDER.sub("?", shape)
    shape = _NUMBER.sub("?", shape)
    shape = _LIST.sub("(?)", shape)
    return _SPACE.sub(" ", shape).strip()


def find_repeats(
    queries: list[CapturedQuery], threshold: int
) -> list[tuple[str, list[CapturedQuery]]]:
    """Shapes that ran at least *threshold* times, most frequent first."""
    groups: dict[str, list[CapturedQuery]] = {}
    for query in queries:
        groups.setdefault(normalize_sql(query.sql), []).append(query)
    repeated = [(shape, found) for shape, found in groups.items() if len(found) >= threshold]
    return sorted(repeated, key=lambda item: -len(item[1]))


def warn_repeats(capture: QueryCapture, threshold: int | None = None, where: str = "") -> None:
    """Issue an :class:`NPlusOneWarning` for each shape repeated *threshold* times."""
    limit = threshold if threshold is not None else settings.N_PLUS_ONE_THRESHOLD
    for shape, found in find_repeats(list(capture), limit):
        lines = sorted({query.location for query in found})
        message = (
            "N+1 detected!\n"
            + (f"In: {where}\n" if where else "")
            + f"Similar query executed {len(found)} times:\n{shape}\n"
            f"Caused by: {', '.join(lines)}\n"
            "Load the relation in the first query with select_related() / prefetch_related()."
        )
        warnings.warn(message, NPlusOneWarning, stacklevel=3)


def detect_n_plus_one(target: Any = None, /, *, threshold: int | None = None) -> Any:
    """Warn (``NPlusOneWarning``) when an async function runs one query shape repeatedly.

    Use as ``@detect_n_plus_one`` or ``@detect_n_plus_one(threshold=3)``; the default
    threshold is the ``N_PLUS_ONE_THRESHOLD`` setting (5).
    """

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            capture = QueryCapture()
            with listen(capture.record):
                result = await function(*args, **kwargs)
            warn_repeats(capture, threshold, function.__qualname__)
            return result

        return wrapper

    if callable(target):
        return decorate(target)
    return decorate


class NPlusOneMiddleware:
    """ASGI middleware: N+1 detection on every request (``DETECT_N_PLUS_ONE``, default: on
    when ``DEBUG`` is)."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], *, threshold: int | None = None
    ) -> None:
        self.app = app
        self.threshold = threshold

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        enabled = settings.DETECT_N_PLUS_ONE
        if enabled is None:
            enabled = settings.DEBUG
        if scope.get("type") != "http" or not enabled:
            await self.app(scope, receive, send)
            return
        capture = QueryCapture()
        with listen(capture.record):
            await self.app(scope, receive, send)
        warn_repeats(capture, self.threshold, f"{scope.get('method', '')} {scope.get('path', '')}")


def suggest_loading(shape: str, model: Any) -> str | None:
    """The ``select_related`` / ``prefetch_related`` call of *model*'s queryset that would
    load in one query the relation a repeated *shape* reads row by row, if there is one."""
    meta = getattr(model, "_meta", None)
    if meta is None:
        return None
    source = shape.partition(" WHERE ")[0]
    for key in meta.foreign_keys:
        if f'FROM "{key.related_model._meta.table_name}"' in source:
            return f'.select_related("{key.name}")'
    for name, key in meta.reverse_relations.items():
        if f'FROM "{key.model._meta.table_name}"' in source:
            return f'.prefetch_related("{name}")'
    return None
