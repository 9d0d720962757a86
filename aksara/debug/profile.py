"""``profile_queries``: a report of the queries an async function (or block) ran."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import IO, Any, ParamSpec, TypeVar, overload

from aksara.db.events import listen
from aksara.debug.capture import QueryCapture

__all__ = ["QueryProfile", "profile_queries"]

logger = logging.getLogger("aksara.debug")

P = ParamSpec("P")
R = TypeVar("R")
_SQL_WIDTH = 300
_DEFAULT: Any = object()


def _seconds(milliseconds: float) -> str:
    seconds = milliseconds / 1000
    return f"{seconds:.3f}s" if seconds >= 0.001 else f"{seconds:.6f}s"


def format_profile(name: str, capture: QueryCapture) -> str:
    """The report: name, query count, total time, then each query with its time."""
    lines = [
        f"Query Profile: {name}",
        f"Total queries: {len(capture)}",
        f"Total time: {_seconds(capture.total_time)}",
        "Queries:",
    ]
    for number, query in enumerate(capture, start=1):
        sql = query.sql if len(query.sql) <= _SQL_WIDTH else query.sql[: _SQL_WIDTH - 3] + "..."
        lines.append(f"{number}. {sql} ({_seconds(query.duration)})")
    return "\n".join(lines)


class QueryProfile:
    """``async with profile_queries("name") as profile:`` — reports when the block ends.

    The report goes to the ``aksara.debug`` logger (INFO) and to *stream* (stderr by
    default; ``None`` for the logger alone). ``profile.queries`` holds the capture.
    """

    def __init__(self, name: str, stream: IO[str] | None) -> None:
        self.name = name
        self.stream = stream
        self.queries = QueryCapture()
        self._listening: Any = None

    async def __aenter__(self) -> QueryProfile:
        self._listening = listen(self.queries.record)
        self._listening.__enter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._listening.__exit__(exc_type, exc, traceback)
        self.emit()

    def emit(self) -> str:
        """Write the report to the logger and the stream; return it."""
        report = format_profile(self.name, self.queries)
        logger.info("%s", report)
        stream = sys.stderr if self.stream is _DEFAULT else self.stream
        if stream is not None:
            print(report, file=stream)
        return report


@overload
def profile_queries(function: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


@overload
def profile_queries(name: str | None = None, /, *, stream: IO[str] | None = ...) -> Any: ...


def profile_queries(target: Any = None, /, *, stream: Any = _DEFAULT) -> Any:
    """Report the queries of an async function (``@profile_queries``) or a block
    (``async with profile_queries("name"):``)::

        Query Profile: get_posts
        Total queries: 1
        Total time: 0.023s
        Queries:
        1. SELECT ... FROM "posts" INNER JOIN "users" ... (0.023s)
    """
    if callable(target):
        return _decorate(target, target.__qualname__, stream)
    name = target

    class _Both(QueryProfile):
        def __call__(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            return _decorate(function, name or function.__qualname__, stream)

    return _Both(name or "block", stream)


def _decorate(
    function: Callable[P, Awaitable[R]], name: str, stream: Any
) -> Callable[P, Awaitable[R]]:
    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        async with QueryProfile(name, stream):
            return await function(*args, **kwargs)

    return wrapper
