"""Counters for monitoring: queries, errors, time, a duration histogram and the pool's use.

Always on (a few additions per query); read them with :func:`metrics`.
"""

from __future__ import annotations

from typing import Any

from aksara.cache.decorators import function_metrics
from aksara.cache.registry import caches
from aksara.db.connections import databases, get_database
from aksara.db.database import Database
from aksara.db.stats import DURATION_BUCKETS_MS

__all__ = ["metrics", "reset_metrics"]


def metrics(database: Database | None = None) -> dict[str, Any]:
    """A snapshot of the database's counters (the default database when none is given).

    ``queries``, ``errors``, ``query_time_ms``, ``duration_histogram`` (cumulative counts by
    upper bound in ms, Prometheus style, ``"+Inf"`` last) and ``pool`` (size, in_use, idle,
    max_size), ``caches``: each cache's hits, misses, sets, deletes, errors and
    hit_ratio by alias, and ``cached_functions``: each ``@cached`` function's, by name.
    ``databases`` holds the queries, errors, time and pool of every database in use, by
    alias (``DATABASES``: the default, replicas, others).
    """
    database = database or get_database()
    stats = database.stats
    histogram: dict[str, int] = {}
    running = 0
    for bound, count in zip((*DURATION_BUCKETS_MS, "+Inf"), stats.histogram, strict=True):
        running += count
        histogram[str(bound)] = running
    status = database.pool_status()
    return {
        "database": database.name,
        "alias": database.alias,
        "queries": stats.queries,
        "errors": stats.errors,
        "query_time_ms": stats.total_time_ms,
        "duration_histogram": histogram,
        "pool": {
            "size": status.size,
            "in_use": status.in_use,
            "idle": status.idle,
            "max_size": status.max_size,
        },
        "caches": caches.metrics(),
        "cached_functions": function_metrics(),
        "databases": {each.alias: _summary(each) for each in databases.built()},
    }


def _summary(database: Database) -> dict[str, Any]:
    """One database's counters and pool, for the by-alias view."""
    stats = database.stats
    status = database.pool_status()
    return {
        "database": database.name,
        "queries": stats.queries,
        "errors": stats.errors,
        "query_time_ms": stats.total_time_ms,
        "pool": {"size": status.size, "in_use": status.in_use, "max_size": status.max_size},
    }


def reset_metrics(database: Database | None = None) -> None:
    """Set the query counters back to zero."""
    (database or get_database()).stats.reset()
