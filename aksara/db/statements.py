"""The compiled-statement cache a :class:`~aksara.db.database.Database` keeps.

The ORM compiles the SQL of a query shape once per database and keeps it here, in a
least-recently-used map bounded by ``SQL_CACHE_SIZE``. Alongside, each statement's SQL text
maps to the positions of its parameters bound to secret-looking columns, recorded when it
was compiled, so the query log masks them without reading the SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Protocol

__all__ = ["CachedStatement", "StatementCache"]


class CachedStatement(Protocol):
    """What the cache keeps: a statement's SQL and its secret parameter positions."""

    @property
    def sql(self) -> str:
        """The SQL text."""

    @property
    def secrets(self) -> frozenset[int]:
        """0-based positions of the parameters bound to secret-looking columns."""


class StatementCache:
    """A bounded LRU map of query shape -> compiled statement, with hit and miss counts."""

    __slots__ = ("_entries", "hits", "max_size", "misses", "secrets")

    def __init__(self, max_size: int = 4096) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"A statement cache holds at least 1 entry, got {max_size!r}.")
        self.max_size = max_size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        #: SQL text -> positions of the parameters that must not be logged.
        self.secrets: dict[str, frozenset[int]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """Return the entry for *key* (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: CachedStatement) -> None:
        """Store *entry*, dropping the least recently used entry when full."""
        entries = self._entries
        if len(entries) >= self.max_size:
            entries.popitem(last=False)
        entries[key] = entry
        known = self.secrets
        if entry.sql not in known:
            if len(known) >= self.max_size:
                del known[next(iter(known))]
            known[entry.sql] = entry.secrets

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        self._entries.clear()
        self.secrets.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
