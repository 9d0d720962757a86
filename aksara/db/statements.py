"""The compiled-statement cache a :class:`~aksara.db.database.Database` keeps.

The ORM compiles the SQL of a query shape once per database and keeps it here, in a
least-recently-used map bounded by ``SQL_CACHE_SIZE``. Alongside, each statement's SQL text
maps to the positions of its parameters bound to secret-looking columns, recorded when it
was compiled, so the query log masks them without reading the SQL.
"""

from __future__ import annotations

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
    """A bounded map of query shape -> compiled statement, least recently used dropped
    first, with hit and miss counts."""

    __slots__ = ("_entries", "_tick", "hits", "max_size", "misses", "secrets")

    def __init__(self, max_size: int = 4096) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"A statement cache holds at least 1 entry, got {max_size!r}.")
        self.max_size = max_size
        # key -> [entry, tick of its last use]: a hit stamps the tick instead of reordering
        # the map (which would hash the key again).
        self._entries: dict[Hashable, list[Any]] = {}
        self._tick = 0
        #: SQL text -> positions of the parameters that must not be logged.
        self.secrets: dict[str, frozenset[int]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """Return the entry for *key* (now the most recently used), or None."""
        slot = self._entries.get(key)
        if slot is None:
            self.misses += 1
            return None
        self.hits += 1
        self._tick += 1
        slot[1] = self._tick
        return slot[0]

    def put(self, key: Hashable, entry: CachedStatement) -> None:
        """Store *entry*; when full, first drop the least recently used eighth."""
        entries = self._entries
        if key not in entries and len(entries) >= self.max_size:
            self._evict()
        self._tick += 1
        entries[key] = [entry, self._tick]
        known = self.secrets
        if entry.sql not in known:
            if len(known) >= self.max_size:
                del known[next(iter(known))]
            known[entry.sql] = entry.secrets

    def _evict(self) -> None:
        entries = self._entries
        count = max(1, len(entries) // 8)
        # Dropping a batch keeps the sort's cost spread over many misses.
        oldest = sorted(entries.items(), key=lambda item: item[1][1])[:count]
        for key, _ in oldest:
            del entries[key]

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        self._entries.clear()
        self.secrets.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
