"""Counters of the queries a Database ran: cheap enough to stay on in production."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

__all__ = ["DURATION_BUCKETS_MS", "QueryStats"]

#: Upper bounds (milliseconds) of the duration histogram's buckets; the last is +inf.
DURATION_BUCKETS_MS: tuple[float, ...] = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


@dataclass(slots=True)
class QueryStats:
    """Totals since the database was created: queries, errors, time and a histogram."""

    queries: int = 0
    errors: int = 0
    total_time_ms: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_MS) + 1))

    def record(self, duration_ms: float) -> None:
        """Count one successful statement that took *duration_ms*."""
        self.queries += 1
        self.total_time_ms += duration_ms
        self.histogram[bisect_left(DURATION_BUCKETS_MS, duration_ms)] += 1

    def record_error(self, duration_ms: float) -> None:
        """Count one failed statement."""
        self.errors += 1
        self.record(duration_ms)

    def reset(self) -> None:
        """Set every counter back to zero."""
        self.queries = self.errors = 0
        self.total_time_ms = 0.0
        self.histogram = [0] * (len(DURATION_BUCKETS_MS) + 1)
