"""The checklist's "check for N+1 queries" on example requests: each viewset's list page and
the detail of its first object, run in-process through the whole app against the
configured database, their queries counted, repeated shapes reported with their fix."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import orjson

from aksara.api.budget import viewset_model
from aksara.api.routing import ViewSetRoute
from aksara.checks.report import Finding, Status
from aksara.conf import settings
from aksara.debug.capture import CapturedQuery, capture_queries
from aksara.debug.nplusone import NPlusOneWarning, find_repeats, suggest_loading
from aksara.exceptions import DatabaseError

__all__ = ["SHAPE_LENGTH", "check_requests", "get"]

#: The most characters of a repeated query's shape a message shows (details hold it whole);
#: a longer one first loses its column list.
SHAPE_LENGTH = 120


async def get(app: Any, path: str) -> tuple[int, bytes]:
    """Run ``GET path`` through the ASGI *app* in this task; its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": quote(path).encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
        "state": {},
    }
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


def _shorten(shape: str) -> str:
    """*shape* with a long column list cut to ``SELECT ... FROM``, which shows the table."""
    if len(shape) <= SHAPE_LENGTH:
        return shape
    head, separator, tail = shape.partition(" FROM ")
    if separator and head.startswith("SELECT "):
        shape = f"SELECT ... FROM {tail}"
    return shape if len(shape) <= SHAPE_LENGTH else shape[: SHAPE_LENGTH - 3] + "..."


def _queries(count: int) -> str:
    return f"{count} query" if count == 1 else f"{count} queries"


def _budget(route: ViewSetRoute) -> int | None:
    handler = route.handlers.get("GET")
    budget = handler.budget if handler is not None else None
    return settings.MAX_QUERIES_PER_REQUEST if budget is None else budget


async def _probe(app: Any, route: ViewSetRoute, path: str) -> tuple[Finding, bytes]:
    """Request *path* and judge its queries: the finding and the response body."""
    with warnings.catch_warnings():
        # The app's own N+1 middleware (under DEBUG) would warn too: this report says it.
        warnings.simplefilter("ignore", NPlusOneWarning)
        async with capture_queries() as queries:
            try:
                status, body = await get(app, path)
            except Exception as error:  # re-raised by Starlette's error middleware after its 500
                status, body = 500, f"{type(error).__name__}: {error}".encode()
    return _judge(route, path, status, body, list(queries)), body


def _judge(
    route: ViewSetRoute, path: str, status: int, body: bytes, queries: list[CapturedQuery]
) -> Finding:
    """FAIL for an N+1, a budget overrun or a 5xx; WARN for a 4xx (nothing was served)."""
    where = route.describe("GET").replace(route.path, path, 1)
    count = len(queries)
    details: dict[str, Any] = {"path": path, "status": status, "queries": count}
    if 400 <= status < 500:
        message = f"{where} answered {status}: not checked (send it by hand with what it needs)."
        return Finding("n_plus_one", Status.WARN, message, details)
    problems: list[str] = []
    repeats = find_repeats(queries, settings.N_PLUS_ONE_THRESHOLD)
    if repeats:
        shape, found = repeats[0]
        details["repeated"] = [{"sql": sql, "times": len(runs)} for sql, runs in repeats]
        callers = ", ".join(sorted({query.location for query in found}))
        fix = suggest_loading(shape, viewset_model(route.viewset))
        advice = f"queryset{fix}" if fix else "select_related() / prefetch_related()"
        short = _shorten(shape)
        problems.append(
            f"N+1: {short} ran {len(found)} times from {callers}; load it with {advice}"
        )
    budget = _budget(route)
    if budget is not None:
        details["budget"] = budget
        if count > budget:
            problems.append(f"over its budget of {budget} (max_queries)")
    if status >= 500 and not problems:
        excerpt = body[:200].decode(errors="replace")
        problems.append(f"answered {status}: {excerpt}")
    if problems:
        message = f"{where}: {_queries(count)}; {'; '.join(problems)}."
        return Finding("n_plus_one", Status.FAIL, message, details)
    within = f" (budget {budget})" if budget is not None else ""
    return Finding(
        "n_plus_one", Status.PASS, f"{where}: {_queries(count)}{within}, no N+1.", details
    )


def _first_value(body: bytes, route: ViewSetRoute) -> str | None:
    """The lookup value of the first object of a list response, when it shows it."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    rows = data.get("results") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return None
    field = str(getattr(route.viewset, "lookup_field", "pk"))
    model = viewset_model(route.viewset)
    keys = [field]
    if field == "pk" and model is not None:
        keys.append(model._meta.pk.name)
    for key in keys:
        if rows[0].get(key) is not None:
            return str(rows[0][key])
    return None


async def _first_in_table(route: ViewSetRoute) -> str | None:
    """The lookup value of the model's first row, for lists that do not show it."""
    model = viewset_model(route.viewset)
    if model is None:
        return None
    field = str(getattr(route.viewset, "lookup_field", "pk"))
    value = await model.objects.order_by("pk").values_list(field, flat=True).first()
    return None if value is None else str(value)


async def check_requests(app: Any, routes: Sequence[ViewSetRoute]) -> list[Finding]:
    """For each viewset: its list page, then the detail of the first object it lists."""
    findings: list[Finding] = []
    for listing in routes:
        handler = listing.handlers.get("GET")
        if listing.detail or handler is None or handler.action != "list":
            continue
        finding, body = await _probe(app, listing, listing.path)
        findings.append(finding)
        detail = next(
            (
                route
                for route in routes
                if route.detail
                and route.viewset is listing.viewset
                and route.basename == listing.basename
                and route.handlers.get("GET") is not None
                and route.handlers["GET"].action == "retrieve"
            ),
            None,
        )
        if detail is None or detail.param is None:
            continue
        try:
            value = _first_value(body, detail) or await _first_in_table(detail)
        except DatabaseError as error:
            findings.append(
                Finding(
                    "n_plus_one",
                    Status.FAIL,
                    f"GET {detail.path} ({listing.viewset.__name__}.retrieve): its table "
                    f"could not be read ({error}); is the database migrated (`aksara "
                    "migrate`)?",
                )
            )
            continue
        if value is None:
            findings.append(
                Finding(
                    "n_plus_one",
                    Status.WARN,
                    f"GET {detail.path} ({listing.viewset.__name__}.retrieve): no rows to "
                    "request: check against a database holding data.",
                )
            )
            continue
        path = str(detail.url_path_for(detail.name, **{detail.param: value}))
        findings.append((await _probe(app, detail, path))[0])
    return findings
