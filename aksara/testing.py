"""Test helpers for Aksara apps."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match

from aksara.api.budget import budget_report, viewset_model
from aksara.api.routing import ViewSetRoute
from aksara.debug.capture import capture_queries

__all__ = ["assert_query_budget"]


async def assert_query_budget(
    client_or_app: Any, method: str, url: str, *, max_queries: int, **request: Any
) -> Any:
    """Send *method* *url* and fail (AssertionError) when it runs more than *max_queries*
    queries, with the text a request over its budget logs; return the response."""
    import httpx  # a test dependency, imported only when a test asks for it

    app = getattr(getattr(client_or_app, "_transport", None), "app", client_or_app)
    method = method.upper()
    if isinstance(client_or_app, httpx.AsyncClient):
        async with capture_queries() as queries:
            response = await client_or_app.request(method, url, **request)
    else:
        transport = httpx.ASGITransport(app=app)
        base = "http://testserver"
        async with (
            httpx.AsyncClient(transport=transport, base_url=base) as client,
            capture_queries() as queries,
        ):
            response = await client.request(method, url, **request)
    if len(queries) > max_queries:
        route = _route(app, method, response.request.url.path)
        endpoint = route.describe(method) if route else f"{method} {url}"
        model = viewset_model(route.viewset) if route else None
        raise AssertionError(budget_report(endpoint, queries, max_queries, model))
    return response


def _route(app: Any, method: str, path: str) -> ViewSetRoute | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in getattr(app, "routes", ()):
        if isinstance(route, ViewSetRoute) and route.matches(scope)[0] is not Match.NONE:
            return route
    return None
