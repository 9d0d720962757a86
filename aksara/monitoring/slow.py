"""``SLOW_REQUEST_MS``: a request slower than that logs its query profile on the
``aksara.slow_requests`` logger (WARNING): the queries grouped by shape, with counts and
times, then each query in order. Built only for slow requests; a fast one pays nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aksara.db.events import QueryEvent
from aksara.debug.nplusone import normalize_sql

__all__ = ["format_request_profile", "slow_request_logger"]

slow_request_logger = logging.getLogger("aksara.slow_requests")

_SQL_WIDTH = 300
#: Queries listed one by one after the shapes; the shapes always cover every query.
_LISTED = 50


def _seconds(milliseconds: float) -> str:
    seconds = milliseconds / 1000
    return f"{seconds:.3f}s" if seconds >= 0.001 else f"{seconds:.6f}s"


def _clip(sql: str) -> str:
    return sql if len(sql) <= _SQL_WIDTH else sql[: _SQL_WIDTH - 3] + "..."


def format_request_profile(
    name: str, route: str, status: int, elapsed_ms: float, queries: Sequence[QueryEvent]
) -> str:
    """The report of a slow request: its time, then the ``profile_queries`` report of its
    queries with a by-shape summary (count, total and slowest time, most time first)."""
    total = sum(query.duration for query in queries)
    lines = [
        f"Slow request: {name} (route {route}) answered {status} in {_seconds(elapsed_ms)}",
        f"Query Profile: {name}",
        f"Total queries: {len(queries)}",
        f"Total time: {_seconds(total)}",
    ]
    shapes: dict[str, list[float]] = {}
    for query in queries:
        shapes.setdefault(normalize_sql(query.sql), []).append(query.duration)
    if shapes:
        lines.append("Queries by shape:")
        ranked = sorted(shapes.items(), key=lambda item: -sum(item[1]))
        for shape, durations in ranked:
            lines.append(
                f"{len(durations)}x {_seconds(sum(durations))} "
                f"(slowest {_seconds(max(durations))}): {_clip(shape)}"
            )
        lines.append("Queries:")
        for number, query in enumerate(queries[:_LISTED], start=1):
            lines.append(f"{number}. {_clip(query.sql)} ({_seconds(query.duration)})")
        if len(queries) > _LISTED:
            lines.append(f"... {len(queries) - _LISTED} more")
    return "\n".join(lines)
