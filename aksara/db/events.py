"""Query events: every statement the database layer runs is reported to the listeners
registered in the current context (the task and the tasks it starts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aksara.db.tables import StatementTables, statement_tables

__all__ = [
    "QueryEvent",
    "QueryListener",
    "add_listener",
    "current_listeners",
    "listen",
    "remove_listener",
]


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


def add_listener(listener: QueryListener) -> Token[tuple[QueryListener, ...]]:
    """Report this context's queries to *listener* too, until :func:`remove_listener` is
    given the token returned (``listen()`` without its object, for middleware)."""
    return _listeners.set((*_listeners.get(), listener))


def remove_listener(token: Token[tuple[QueryListener, ...]]) -> None:
    """Stop what the :func:`add_listener` call that returned *token* started."""
    _listeners.reset(token)


class listen:  # lower case: used as a function, ``with listen(listener):``
    """Report every query of this context (and tasks started inside it) to *listener*.

    A class rather than a generator-based context manager: requests that are measured
    enter one or more of these, and this costs a fifth of it."""

    __slots__ = ("_listener", "_token")

    def __init__(self, listener: QueryListener) -> None:
        self._listener = listener
        self._token: Token[tuple[QueryListener, ...]] | None = None

    def __enter__(self) -> None:
        self._token = _listeners.set((*_listeners.get(), self._listener))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _listeners.reset(self._token)
            self._token = None
