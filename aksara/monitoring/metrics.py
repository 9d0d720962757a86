"""The Prometheus metrics of an Aksara process, and their exposition.

Built once per process, on first use. Under ``PROMETHEUS_MULTIPROC_DIR`` (set by
``aksara serve --workers N`` when ``METRICS`` is on) every worker writes its figures to
files there and a scrape of any worker reads them all: one set of figures for the server.

A request's figures go to plain per-process tallies (:class:`PendingCounter`,
:class:`PendingHistogram`): a few additions. They reach prometheus_client when the process
refreshes its metrics (every second while serving, at each scrape, at shutdown), one
increment per changed bucket: in multiprocess mode each increment is a locked write to a
memory-mapped file (2-5 µs), which per request would cost more than the request's routing.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aksara.cache.registry import caches
from aksara.db.connections import databases
from aksara.db.stats import DURATION_BUCKETS_MS
from aksara.exceptions import ConfigurationError

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "QUERY_COUNT_BUCKETS",
    "QUERY_DURATION_BUCKETS",
    "AksaraMetrics",
    "PendingCounter",
    "PendingHistogram",
    "get_metrics",
    "is_multiprocess",
    "render_metrics",
]

#: The exposition format's media type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Request latency buckets (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Queries-per-request buckets.
QUERY_COUNT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 250)
#: Query duration buckets (seconds): the database layer's own, in ms there.
QUERY_DURATION_BUCKETS = tuple(bound / 1000 for bound in DURATION_BUCKETS_MS)

_ROUTE = ("method", "route")
_REQUEST = ("method", "route", "status")

_MULTIPROC_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def is_multiprocess() -> bool:
    """True when prometheus_client writes its values to ``PROMETHEUS_MULTIPROC_DIR``."""
    return any(os.environ.get(name) for name in _MULTIPROC_VARIABLES)


def _check_multiprocess_mode() -> None:
    """prometheus_client picks its value store when it is first imported: a directory set
    after that would be ignored, each worker reporting its own figures."""
    from prometheus_client import values

    if is_multiprocess() and values.ValueClass is values.MutexValue:
        raise ConfigurationError(
            "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported, so this "
            "process keeps its metrics to itself. Set it before the process starts "
            "(`aksara serve --workers N` does so when METRICS is on)."
        )


class PendingCounter:
    """Increments of one counter child, kept in the process until :meth:`flush`."""

    __slots__ = ("amount", "child")

    def __init__(self, child: Counter) -> None:
        self.child = child
        self.amount = 0.0

    def flush(self) -> None:
        """Add the pending amount to the counter."""
        if self.amount:
            amount, self.amount = self.amount, 0.0
            self.child.inc(amount)


class PendingHistogram:
    """Observations of one histogram child, tallied by bucket until :meth:`flush`.

    *scale* converts the observed unit to the histogram's (0.001: milliseconds observed,
    seconds reported); *bounds* are the buckets' upper bounds in the observed unit.
    """

    __slots__ = ("bounds", "child", "counts", "scale", "total")

    def __init__(self, child: Histogram, bounds: Sequence[float], scale: float = 1.0) -> None:
        self.child = child
        self.bounds = tuple(bounds)
        self.scale = scale
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        # The tallies are added to the child's own bucket values: they must line up.
        expected = [bound * scale for bound in self.bounds]
        actual = [float(bound) for bound in child._upper_bounds[:-1]]
        if len(actual) != len(expected) or not all(map(math.isclose, actual, expected)):
            raise ValueError(f"Buckets {expected} do not match the histogram's {actual}.")

    def observe(self, amount: float) -> None:
        """Count one observation of *amount* (in the observed unit)."""
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.total += amount

    def flush(self) -> None:
        """Add the tallies to the histogram, as that many ``observe()`` calls would."""
        counts = self.counts
        if not any(counts):
            return
        self.counts = [0] * len(counts)
        total, self.total = self.total, 0.0
        # prometheus_client keeps a value per bucket (made cumulative when collected) and
        # one for the sum; its public API adds one observation at a time.
        child: Any = self.child
        for value, count in zip(child._buckets, counts, strict=True):
            if count:
                value.inc(count)
        child._sum.inc(total * self.scale)


class AksaraMetrics:
    """Every metric Aksara reports, labelled by route template (never the raw path)."""

    def __init__(self) -> None:
        _check_multiprocess_mode()
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "aksara_http_requests", "HTTP requests answered, by route template.", _REQUEST
        )
        self.latency = Histogram(
            "aksara_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            _REQUEST,
            buckets=LATENCY_BUCKETS,
        )
        self.queries = Histogram(
            "aksara_http_request_queries",
            "Database queries one HTTP request ran.",
            _ROUTE,
            buckets=QUERY_COUNT_BUCKETS,
        )
        self.query_duration = Histogram(
            "aksara_db_query_duration_seconds",
            "Time of each database query run while answering a request, by backend and alias.",
            ("database", "alias"),
            buckets=QUERY_DURATION_BUCKETS,
        )
        self.slow_queries = Counter(
            "aksara_db_slow_queries", "Queries slower than SLOW_QUERY_MS.", _ROUTE
        )
        self.n_plus_one = Counter(
            "aksara_n_plus_one",
            "Query shapes one request ran N_PLUS_ONE_THRESHOLD times or more (N+1 patterns).",
            _ROUTE,
        )
        self.budget_overruns = Counter(
            "aksara_query_budget_overruns", "Requests over their query budget.", _ROUTE
        )
        self.cache_hits = Counter(
            "aksara_cache_hits", "Cache reads that found a value.", ("cache",)
        )
        self.cache_misses = Counter(
            "aksara_cache_misses", "Cache reads that found none.", ("cache",)
        )
        pool: dict[str, Any] = {
            "labelnames": ("database", "alias"),
            "multiprocess_mode": "livesum",
        }
        self.pool_size = Gauge("aksara_db_pool_size", "Open pooled connections.", **pool)
        self.pool_in_use = Gauge("aksara_db_pool_in_use", "Pooled connections in use.", **pool)
        self.pool_waiting = Gauge(
            "aksara_db_pool_waiting", "Tasks waiting for a pooled connection.", **pool
        )
        self.pool_max_size = Gauge(
            "aksara_db_pool_max_size", "Most connections the pools may open.", **pool
        )
        self._cache_seen: dict[str, tuple[int, int]] = {}
        self._pending: dict[tuple[int, tuple[str, ...]], PendingCounter | PendingHistogram] = {}

    def pending_counter(self, counter: Counter, *labels: str) -> PendingCounter:
        """The process's tally of *counter* with *labels* (one per series)."""
        key = (id(counter), labels)
        found = self._pending.get(key)
        if found is None:
            found = self._pending[key] = PendingCounter(counter.labels(*labels))
        assert isinstance(found, PendingCounter)
        return found

    def pending_histogram(
        self, histogram: Histogram, bounds: Sequence[float], *labels: str, scale: float = 1.0
    ) -> PendingHistogram:
        """The process's tally of *histogram* with *labels*, *bounds* in the observed unit."""
        key = (id(histogram), labels)
        found = self._pending.get(key)
        if found is None:
            child = histogram.labels(*labels)
            found = self._pending[key] = PendingHistogram(child, bounds, scale)
        assert isinstance(found, PendingHistogram)
        return found

    def flush(self) -> None:
        """Hand every pending tally of this process to prometheus_client."""
        for pending in self._pending.values():
            pending.flush()

    def refresh(self) -> None:
        """Flush the tallies; bring the pool gauges (of every database by alias) and cache
        counters up to date."""
        self.flush()
        for database in databases.built():
            if database.is_open:
                status = database.pool_status()
                labels = (database.name, database.alias)
                self.pool_size.labels(*labels).set(status.size)
                self.pool_in_use.labels(*labels).set(status.in_use)
                self.pool_waiting.labels(*labels).set(status.waiting)
                self.pool_max_size.labels(*labels).set(status.max_size)
        for alias, figures in caches.metrics().items():
            hits, misses = figures["hits"], figures["misses"]
            seen_hits, seen_misses = self._cache_seen.get(alias, (0, 0))
            # A cache whose counters went back (stats reset, cache rebuilt) counts from zero.
            if hits < seen_hits or misses < seen_misses:
                seen_hits = seen_misses = 0
            if hits > seen_hits:
                self.cache_hits.labels(alias).inc(hits - seen_hits)
            if misses > seen_misses:
                self.cache_misses.labels(alias).inc(misses - seen_misses)
            self._cache_seen[alias] = (hits, misses)


_metrics: list[AksaraMetrics] = []


def get_metrics() -> AksaraMetrics:
    """The process's metrics, registered with prometheus_client on the first call."""
    if not _metrics:
        _metrics.append(AksaraMetrics())
    return _metrics[0]


def render_metrics() -> bytes:
    """The exposition text: every process's figures in multiprocess mode, else this
    process's default registry (Aksara's metrics and any the application registered)."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    get_metrics().refresh()
    if is_multiprocess():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
