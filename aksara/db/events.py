"""Query events: every statement the database layer runs is reported to the listeners
registered in the current context (the task and the tasks it starts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aksara.db.tables import StatementTables, statement_tables

__all__ = ["QueryEvent", "QueryListener", "current_listeners", "listen"]


@dataclass(slots=True, frozen=True)
class QueryEvent:
    """One statement: its SQL, bound parameters, duration in milliseconds and row count.

    ``rows`` is the number of rows returned (or affected, for writes); ``error`` holds the
    exception when the statement failed; ``database`` is the backend's name and ``alias``
    the database's name in ``DATABASES``.
    """

    sql: str
    params: Sequence[Any]
    duration: float
    rows: int
    database: str
    error: BaseException | None = None
    alias: str = "default"

    @property
    def tables(self) -> StatementTables:
        """The tables the statement reads and writes (told from its SQL, parsed once)."""
        return statement_tables(self.sql)

    @property
    def is_transaction_control(self) -> bool:
        """True for BEGIN / COMMIT / ROLLBACK / SAVEPOINT statements."""
        sql = self.sql
        if sql[:2].upper() not in _CONTROL_PREFIXES and not sql[:1].isspace():
            return False  # SELECT, INSERT, UPDATE, DELETE, WITH: decided by two characters
        head = sql.lstrip()[:9].upper()
        return head.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))


_CONTROL_PREFIXES = frozenset(("BE", "CO", "RO", "SA", "RE"))

QueryListener = Callable[[QueryEvent], None]

_listeners: ContextVar[tuple[QueryListener, ...]] = ContextVar("aksara_query_listeners", default=())


def current_listeners() -> tuple[QueryListener, ...]:
    """Return the listeners that will see the current context's queries."""
    return _listeners.get()


@contextmanager
def listen(listener: QueryListener) -> Iterator[None]:
    """Report every query of this context (and tasks started inside it) to *listener*."""
    token = _listeners.set((*_listeners.get(), listener))
    try:
        yield
    finally:
        _listeners.reset(token)
