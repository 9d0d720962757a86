"""Query budgets: ``max_queries`` on a viewset, ``@action(max_queries=...)`` or the
``MAX_QUERIES_PER_REQUEST`` setting. A request over its budget is logged (logger
``aksara.budget``) with its most repeated query, or answered with a 500 under ``DEBUG``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any

from aksara.api.responses import Response
from aksara.conf import settings
from aksara.db.events import listen
from aksara.debug.capture import QueryCapture
from aksara.debug.nplusone import find_repeats, suggest_loading
from aksara.exceptions import ConfigurationError

__all__ = [
    "budget_report",
    "check_budget",
    "logger",
    "request_overruns",
    "viewset_model",
    "within_budget",
]

logger = logging.getLogger("aksara.budget")

#: The endpoints over budget in the current request, while its metrics are measured.
request_overruns: ContextVar[list[str] | None] = ContextVar("aksara_budget_overruns", default=None)


def check_budget(value: Any, where: str) -> int | None:
    """*value* as a budget: None (no budget) or an integer >= 0, else a ConfigurationError."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ConfigurationError(f"{where} must be None or an integer >= 0, got {value!r}.")


def viewset_model(viewset: Any) -> Any:
    """The model a viewset serves (its queryset's, or ``model``), or None."""
    queryset = getattr(viewset, "queryset", None)
    return queryset.model if queryset is not None else getattr(viewset, "model", None)


def budget_report(endpoint: str, queries: QueryCapture, budget: int, model: Any = None) -> str:
    """What a request over budget ran: the count, the most repeated query shape, the line
    of application code behind it and the eager load that would fix it."""
    lines = [f"Query budget exceeded: {endpoint} ran {len(queries)} queries, budget {budget}."]
    repeats = find_repeats(list(queries), 2)
    if repeats:
        shape, found = repeats[0]
        callers = ", ".join(sorted({query.location for query in found}))
        lines.append(f"Most repeated query ({len(found)} times): {shape}")
        lines.append(f"Run from: {callers}")
        fix = suggest_loading(shape, model)
        if fix is not None:
            lines.append(f"Load the relation in the first query: queryset{fix}")
    return "\n".join(lines)


async def within_budget(work: Awaitable[Any], budget: int, route: Any, method: str) -> Any:
    """Await *work* (a route's dispatch) counting its queries; over *budget*, log the report
    or, under ``DEBUG``, answer with a 500 carrying it."""
    queries = QueryCapture()
    try:
        with listen(queries.record):
            response = await work
    finally:
        queries.closed = True  # a task started inside keeps the listener: stop counting
    if len(queries) <= budget:
        return response
    endpoint = route.describe(method)
    overruns = request_overruns.get()
    if overruns is not None:
        overruns.append(endpoint)
    message = budget_report(endpoint, queries, budget, viewset_model(route.viewset))
    if settings.DEBUG:
        logger.error(message)
        return Response({"detail": message}, 500)
    logger.warning(message)
    return response
