"""``capture_queries``: the queries the current task (and tasks it starts) ran, with the
line of application code behind each; and test assertions built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, overload

from aksara.db.events import QueryEvent, listen
from aksara.db.querylog import find_caller

__all__ = [
    "CapturedQuery",
    "QueryCapture",
    "assert_max_queries",
    "assert_num_queries",
    "capture_queries",
]


@dataclass(frozen=True, slots=True)
class CapturedQuery:
    """One statement: SQL, parameters, duration in ms, rows, where it was run from, and
    ``alias``, the database (its name in ``DATABASES``) it ran on."""

    sql: str
    params: Sequence[Any]
    duration: float
    rows: int
    database: str
    file: str | None
    line: int | None
    function: str | None
    error: BaseException | None = None
    alias: str = "default"

    @property
    def location(self) -> str:
        """``file:line`` of the application code that ran the query."""
        return f"{self.file}:{self.line}" if self.file else "<unknown>"


class QueryCapture(Sequence[CapturedQuery]):
    """The queries captured so far; a read-only sequence (``len(queries)``, indexing)."""

    def __init__(self, *, include_transaction_control: bool = False) -> None:
        # (event, caller) pairs: CapturedQuery objects are built when read, off the hot path.
        self._raw: list[tuple[QueryEvent, tuple[str, int, str] | None]] = []
        self._built: list[CapturedQuery] = []
        self._include_control = include_transaction_control
        self.closed = False

    def record(self, event: QueryEvent) -> None:
        """Listener: store *event* with its caller."""
        if self.closed or (not self._include_control and event.is_transaction_control):
            return
        self._raw.append((event, find_caller()))

    @property
    def _queries(self) -> list[CapturedQuery]:
        built = self._built
        for event, caller in self._raw[len(built) :]:
            file, line, function = caller if caller else (None, None, None)
            built.append(
                CapturedQuery(
                    event.sql,
                    event.params,
                    event.duration,
                    event.rows,
                    event.database,
                    file,
                    line,
                    function,
                    event.error,
                    event.alias,
                )
            )
        return built

    @property
    def total_time(self) -> float:
        """Sum of the durations, in milliseconds."""
        return sum(event.duration for event, _ in self._raw)

    @overload
    def __getitem__(self, index: int) -> CapturedQuery: ...

    @overload
    def __getitem__(self, index: slice) -> list[CapturedQuery]: ...

    def __getitem__(self, index: int | slice) -> CapturedQuery | list[CapturedQuery]:
        return self._queries[index]

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[CapturedQuery]:
        return iter(self._queries)

    def report(self) -> str:
        """The queries as numbered lines: SQL, duration and caller."""
        return "\n".join(
            f"{number}. {query.sql} ({query.duration:.2f} ms) at {query.location}"
            for number, query in enumerate(self._queries, start=1)
        )

    def __repr__(self) -> str:
        return f"<QueryCapture {len(self)} queries, {self.total_time:.2f} ms>"


@contextmanager
def _capturing(capture: QueryCapture) -> Iterator[QueryCapture]:
    try:
        with listen(capture.record):
            yield capture
    finally:
        # A task started inside keeps the listener in its context copy: stop recording.
        capture.closed = True


@asynccontextmanager
async def capture_queries(
    *, include_transaction_control: bool = False
) -> AsyncIterator[QueryCapture]:
    """Collect every query run inside the block by this task and the tasks it starts.

    ``async with capture_queries() as queries: ...`` then ``len(queries)``,
    ``queries[0].sql``, ``.params``, ``.duration`` (ms), ``.rows``, ``.file``/``.line``.
    BEGIN/COMMIT/SAVEPOINT are left out unless ``include_transaction_control``.
    """
    with _capturing(
        QueryCapture(include_transaction_control=include_transaction_control)
    ) as capture:
        yield capture


@asynccontextmanager
async def assert_num_queries(expected: int) -> AsyncIterator[QueryCapture]:
    """Fail (AssertionError listing them) unless the block runs exactly *expected* queries."""
    async with capture_queries() as queries:
        yield queries
    if len(queries) != expected:
        raise AssertionError(
            f"Expected {expected} queries, {len(queries)} ran:\n{queries.report()}"
        )


@asynccontextmanager
async def assert_max_queries(limit: int) -> AsyncIterator[QueryCapture]:
    """Fail (AssertionError listing them) when the block runs more than *limit* queries."""
    async with capture_queries() as queries:
        yield queries
    if len(queries) > limit:
        raise AssertionError(
            f"Expected at most {limit} queries, {len(queries)} ran:\n{queries.report()}"
        )
