"""A cache's counters: hits, misses, sets, deletes and backend errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CacheStats", "count_cache_reads", "count_reads_per_request", "request_counts"]

#: [hits, misses] of the current request while its Server-Timing is measured, else None.
request_counts: ContextVar[list[int] | None] = ContextVar("aksara_cache_reads", default=None)


def _counted(name: str, index: int) -> property:
    """A ``hits``/``misses`` attribute that also bumps the measured request's count."""

    def get(cache: Any) -> int:
        value: int = cache.__dict__[name]
        return value

    def set_(cache: Any, value: int) -> None:
        counts = request_counts.get()
        if counts is not None:
            counts[index] += value - cache.__dict__.get(name, 0)
        cache.__dict__[name] = value

    return property(get, set_)


def count_reads_per_request() -> None:
    """Make every cache's ``hits`` and ``misses`` also count for count_cache_reads().

    Installed once, by the first app that measures requests: until then a cache read bumps
    plain attributes (20 ns) instead of these (150 ns)."""
    from aksara.cache.backends.base import Cache

    if not isinstance(vars(Cache).get("hits"), property):
        Cache.hits = _counted("hits", 0)  # type: ignore[assignment]
        Cache.misses = _counted("misses", 1)  # type: ignore[assignment]


@contextmanager
def count_cache_reads() -> Iterator[list[int]]:
    """Count the hits and misses of every cache read in this context: ``[hits, misses]``
    (once count_reads_per_request() is installed)."""
    counts = [0, 0]
    token = request_counts.set(counts)
    try:
        yield counts
    finally:
        request_counts.reset(token)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache's counters since it was built (or its stats were reset).

    A read that failed open counts as an error and as a miss: the caller got no value.
    """

    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    errors: int = 0

    @property
    def hit_ratio(self) -> float:
        """Hits over reads (0.0 before the first read)."""
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counters and the hit ratio, for metrics."""
        return {**asdict(self), "hit_ratio": self.hit_ratio}
