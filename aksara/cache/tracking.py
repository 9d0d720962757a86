"""``tracking()``: the tables read by the queries of a context and the tasks it starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aksara.db.events import QueryEvent, listen
from aksara.db.tables import statement_tables

__all__ = ["ReadTables", "tracking"]


class ReadTables:
    """What the tracked queries read: ``tables``, and ``unknown`` when a raw statement's
    sources could not be told (a value computed from it must not be cached)."""

    __slots__ = ("_tables", "unknown")

    def __init__(self) -> None:
        self._tables: set[str] = set()
        self.unknown = False

    @property
    def tables(self) -> frozenset[str]:
        """The tables read so far (and those written: a computation that writes reads them)."""
        return frozenset(self._tables)

    def __call__(self, event: QueryEvent) -> None:
        if event.error is not None:
            return
        told = statement_tables(event.sql)
        self._tables.update(told.reads)
        if told.writes:
            self._tables.update(told.writes)
        if told.unknown or told.unknown_write:
            self.unknown = True

    def __repr__(self) -> str:
        return f"<ReadTables {sorted(self._tables)} unknown={self.unknown}>"


@contextmanager
def tracking() -> Iterator[ReadTables]:
    """``with tracking() as read:`` collects in ``read.tables`` the tables read by this
    context's queries and its child tasks'; queries outside pay nothing."""
    read = ReadTables()
    with listen(read):
        yield read
