"""Per-request figures: the ``Server-Timing`` header (database time and query count, cache
hits and misses, total time), ``X-Query-Count`` in DEBUG, and the ``aksara.access`` log line."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aksara.cache.stats import count_cache_reads, count_reads_per_request
from aksara.db.events import QueryEvent, listen

__all__ = ["ServerTimingMiddleware", "access_logger"]

access_logger = logging.getLogger("aksara.access")

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class _Queries:
    """The request's query count and database time (ms); transaction control excluded, as
    capture_queries() does."""

    __slots__ = ("count", "duration")

    def __init__(self) -> None:
        self.count = 0
        self.duration = 0.0

    def record(self, event: QueryEvent) -> None:
        if not event.is_transaction_control:
            self.count += 1
            self.duration += event.duration


class ServerTimingMiddleware:
    """ASGI middleware measuring each request: headers when *headers* is on (``X-Query-Count``
    too when *query_count* is), one ``aksara.access`` line when *log* is on."""

    def __init__(
        self, app: ASGIApp, *, headers: bool = True, query_count: bool = False, log: bool = True
    ) -> None:
        count_reads_per_request()
        self.app = app
        self.headers = headers
        self.query_count = query_count
        self.log = log

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        queries = _Queries()
        status = 500

        async def send_with_timing(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.headers:
                    app_ms = (time.perf_counter() - started) * 1000
                    headers = list(message.get("headers", ()))
                    headers.append((b"server-timing", _header(queries, counts, app_ms).encode()))
                    if self.query_count:
                        headers.append((b"x-query-count", str(queries.count).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        with listen(queries.record), count_cache_reads() as counts:
            try:
                await self.app(scope, receive, send_with_timing)
            finally:
                if self.log:
                    _log(scope, status, started, queries)


def _header(queries: _Queries, counts: list[int], app_ms: float) -> str:
    """``db;dur=12.3;desc="4 queries", cache;desc="2 hits 1 miss", app;dur=15.0``."""
    plural = "query" if queries.count == 1 else "queries"
    hits, misses = counts
    return (
        f'db;dur={queries.duration:.1f};desc="{queries.count} {plural}", '
        f'cache;desc="{hits} {"hit" if hits == 1 else "hits"} '
        f'{misses} {"miss" if misses == 1 else "misses"}", app;dur={app_ms:.1f}'
    )


def _log(scope: MutableMapping[str, Any], status: int, started: float, queries: _Queries) -> None:
    duration = (time.perf_counter() - started) * 1000
    access_logger.info(
        "%s %s %d %.1fms queries=%d db_ms=%.1f",
        scope.get("method", ""),
        scope.get("path", ""),
        status,
        duration,
        queries.count,
        queries.duration,
    )
