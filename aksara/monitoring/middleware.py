"""ASGI middleware feeding the Prometheus metrics of each request, serving ``/metrics`` to
those allowed, and logging the query profile of a request slower than ``SLOW_REQUEST_MS``.

Per request it costs one query listener, a cached lookup of the tallies
of (route, method, status) and a few additions to them (see aksara.monitoring.metrics);
the report of a slow request and the N+1 check (only for requests with
``N_PLUS_ONE_THRESHOLD`` queries or more) are built only when they apply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from time import perf_counter
from typing import Any

from starlette.responses import Response as TextResponse
from starlette.routing import Match

from aksara.api.budget import request_overruns
from aksara.api.responses import Response
from aksara.conf import settings
from aksara.db.events import QueryEvent, add_listener, remove_listener
from aksara.db.stats import DURATION_BUCKETS_MS
from aksara.debug.nplusone import normalize_sql
from aksara.monitoring.access import MetricsAccess
from aksara.monitoring.metrics import (
    CONTENT_TYPE,
    LATENCY_BUCKETS,
    QUERY_COUNT_BUCKETS,
    AksaraMetrics,
    PendingHistogram,
    get_metrics,
    render_metrics,
)
from aksara.monitoring.slow import format_request_profile, slow_request_logger

__all__ = ["UNMATCHED_ROUTE", "MonitoringMiddleware"]

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]

#: The route label of a request no route matched (a 404): raw paths never become labels.
UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


class _Children:
    """The tallies and label children of one (route, method, status), resolved once."""

    __slots__ = ("budget_overruns", "latency", "n_plus_one", "queries", "requests", "slow")

    def __init__(self, metrics: AksaraMetrics, route: str, method: str, status: int) -> None:
        code = str(status)
        self.requests = metrics.pending_counter(metrics.requests, method, route, code)
        self.latency = metrics.pending_histogram(
            metrics.latency, LATENCY_BUCKETS, method, route, code
        )
        self.queries = metrics.pending_histogram(
            metrics.queries, QUERY_COUNT_BUCKETS, method, route
        )
        # Rare events: counted at once.
        self.slow = metrics.slow_queries.labels(method, route)
        self.n_plus_one = metrics.n_plus_one.labels(method, route)
        self.budget_overruns = metrics.budget_overruns.labels(method, route)


class _Queries:
    """The request's query events; a task the request started and left running keeps the
    listener, so recording stops when the request ends."""

    __slots__ = ("events", "open")

    def __init__(self) -> None:
        self.events: list[QueryEvent] = []
        self.open = True

    def record(self, event: QueryEvent) -> None:
        if self.open:
            self.events.append(event)


class MonitoringMiddleware:
    """Request metrics and ``/metrics`` when *metrics* (the validated ``METRICS`` dict) is
    given; the slow-request log when *slow_request_ms* is."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Mapping[str, Any] | None = None,
        slow_request_ms: float | None = None,
    ) -> None:
        self.app = app
        self.path = metrics["path"] if metrics is not None else None
        self.access = MetricsAccess.from_settings(metrics) if metrics is not None else None
        self.metrics = get_metrics() if metrics is not None else None
        self.slow_request_ms = slow_request_ms
        self.slow_query_ms: float | None = settings.SLOW_QUERY_MS
        self.n_plus_one_threshold: int = settings.N_PLUS_ONE_THRESHOLD
        self._children: dict[tuple[int, str, int], _Children] = {}
        self._durations: dict[tuple[str, str], PendingHistogram] = {}
        self._templates: dict[int, str] = {}

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.path:
            await self._serve_metrics(scope, receive, send)
            return
        started = perf_counter()
        queries = _Queries()
        events = queries.events
        overruns: list[str] = []
        status = 500
        finished = 0.0

        async def send_measured(message: MutableMapping[str, Any]) -> None:
            nonlocal status, finished
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif kind == "http.response.body" and not finished and not message.get("more_body"):
                # Tallied before the last byte leaves: a scrape of this process after the
                # response sees it.
                finished = perf_counter()
                queries.open = False
                self._record(scope, status, finished - started, events, overruns)
            await send(message)

        listening = add_listener(queries.record)
        budgets = request_overruns.set(overruns)
        try:
            await self.app(scope, receive, send_measured)
        finally:
            request_overruns.reset(budgets)
            remove_listener(listening)
            queries.open = False
            if not finished:
                finished = perf_counter()
                self._record(scope, status, finished - started, events, overruns)
            slow = self.slow_request_ms
            if slow is not None and (finished - started) * 1000 >= slow:
                self._log_slow(scope, status, finished - started, events)

    def _record(
        self,
        scope: MutableMapping[str, Any],
        status: int,
        elapsed: float,
        events: list[QueryEvent],
        overruns: list[str],
    ) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        method = scope["method"]
        if method not in _METHODS:
            method = "OTHER"
        route = scope.get("route")
        if route is None and "endpoint" in scope:
            route = _matched_route(scope)
        key = (id(route), method, status)
        children = self._children.get(key)
        if children is None:
            template = self._template(scope, route)
            children = self._children[key] = _Children(metrics, template, method, status)
        children.requests.amount += 1
        children.latency.observe(elapsed)
        count = 0
        slow = 0
        slow_ms = self.slow_query_ms
        durations = self._durations
        for event in events:
            if event.is_transaction_control:
                continue
            count += 1
            duration = event.duration
            where = (event.database, event.alias)
            child = durations.get(where)
            if child is None:
                child = durations[where] = metrics.pending_histogram(
                    metrics.query_duration, DURATION_BUCKETS_MS, *where, scale=0.001
                )
            child.observe(duration)
            if slow_ms is not None and duration >= slow_ms:
                slow += 1
        children.queries.observe(count)
        if slow:
            children.slow.inc(slow)
        if count >= self.n_plus_one_threshold:
            repeated = _repeated_shapes(events, self.n_plus_one_threshold)
            if repeated:
                children.n_plus_one.inc(repeated)
        if overruns:
            children.budget_overruns.inc(len(overruns))

    def _template(self, scope: MutableMapping[str, Any], route: Any) -> str:
        """The matched route's path template, mounts' prefixes included."""
        if route is None:
            return UNMATCHED_ROUTE
        found = self._templates.get(id(route))
        if found is None:
            app = scope.get("app")
            self._templates.update(_templates(getattr(app, "routes", ()), ""))
            found = self._templates.get(id(route))
            if found is None:
                found = self._templates[id(route)] = str(getattr(route, "path", UNMATCHED_ROUTE))
        return found

    def _log_slow(
        self, scope: MutableMapping[str, Any], status: int, elapsed: float, events: list[QueryEvent]
    ) -> None:
        queries = [event for event in events if not event.is_transaction_control]
        route = scope.get("route")
        if route is None and "endpoint" in scope:
            route = _matched_route(scope)
        template = self._template(scope, route)
        name = f"{scope['method']} {scope['path']}"
        report = format_request_profile(name, template, status, elapsed * 1000, queries)
        slow_request_logger.warning("%s", report)

    async def _serve_metrics(
        self, scope: MutableMapping[str, Any], receive: Any, send: Any
    ) -> None:
        assert self.access is not None  # the path is set only with the access rules
        refusal = self.access.check(scope)
        response: TextResponse
        if refusal is not None:
            status, detail = refusal
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
            response = Response({"detail": detail}, status, headers=headers)
        elif scope["method"] not in ("GET", "HEAD"):
            detail = f"Method {scope['method']} not allowed. Allowed: GET, HEAD."
            response = Response({"detail": detail}, 405, headers={"Allow": "GET, HEAD"})
        else:
            body = render_metrics() if scope["method"] == "GET" else b""
            response = TextResponse(body, media_type=CONTENT_TYPE)
        await response(scope, receive, send)


def _templates(routes: Iterable[Any], prefix: str) -> dict[int, str]:
    """id(route) -> full path template, for *routes* and those of the mounts among them."""
    found: dict[int, str] = {}
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        inner = getattr(route, "routes", None)
        if inner is not None and not hasattr(route, "endpoint"):
            found.update(_templates(inner, prefix + path))
        found[id(route)] = prefix + path
    return found


def _matched_route(scope: MutableMapping[str, Any]) -> Any:
    """The route a request matched, found again, for a Starlette that does not set
    ``scope["route"]`` (before 1.x): the innermost route or mount matched, else None."""
    routes = getattr(scope.get("app"), "routes", ())
    # Routing moved root_path under the mounts it went through: match from the top again.
    probe = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    matched = None
    while True:
        found: tuple[Any, Any] | None = None
        for candidate in routes:
            match, child = candidate.matches(probe)
            if match is Match.FULL:
                found = (candidate, child)
                break
            if match is Match.PARTIAL and found is None:
                found = (candidate, child)  # the router's choice unless a full match follows
        if found is None:
            return matched  # the mount the request went into, as Starlette 1 reports it
        route, child = found
        matched = route
        inner = getattr(route, "routes", None)
        if inner is None or hasattr(route, "endpoint"):
            return route
        probe.update(child)
        routes = inner


def _repeated_shapes(events: list[QueryEvent], threshold: int) -> int:
    """How many query shapes ran at least *threshold* times."""
    shapes: dict[str, int] = {}
    for event in events:
        if not event.is_transaction_control:
            shape = normalize_sql(event.sql)
            shapes[shape] = shapes.get(shape, 0) + 1
    return sum(1 for count in shapes.values() if count >= threshold)
