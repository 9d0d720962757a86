"""A cache's counters: hits, misses, sets, deletes and backend errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CacheStats"]


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
