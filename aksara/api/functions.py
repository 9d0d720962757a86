"""Function endpoints: ``@router.get("/health")`` on ``async def health(request)``.

What the function returns is the response when it is one (an HTML page, a redirect, a
``Response`` with its own status), else data sent as a JSON ``Response``. Errors raised in
it (``NotFound``, ``ValidationFailed``, a missing object) are answered as the app's JSON
errors. HEAD follows GET. ``MAX_QUERIES_PER_REQUEST`` holds for them as for viewsets.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from aksara.api.budget import within_budget
from aksara.api.responses import Response
from aksara.conf import settings

__all__ = ["HTTP_METHODS", "FunctionRoute", "function_route"]

#: The methods a function endpoint may answer (HEAD comes with GET, OPTIONS with none).
HTTP_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


class FunctionRoute(Route):
    """The Starlette route of a function endpoint; ``function`` is the function it serves
    (what the OpenAPI document describes)."""

    def __init__(
        self, path: str, endpoint: Callable[..., Any], function: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.function = function


def function_route(
    path: str, function: Callable[..., Any], methods: Sequence[str], name: str | None = None
) -> FunctionRoute:
    """A Starlette route serving *function* (``function(request)``, sync or async) at
    *path* for *methods*; a result that is no response becomes a JSON ``Response``."""
    chosen = [method.upper() for method in methods]
    wrong = [method for method in chosen if method not in HTTP_METHODS]
    if wrong or not chosen:
        raise ValueError(
            f"Unsupported method(s) {', '.join(wrong) or '(none)'} for {path!r}; choose from "
            f"{', '.join(HTTP_METHODS)}."
        )
    is_async = inspect.iscoroutinefunction(function)
    described = _Described(path, function)

    async def respond(request: Request) -> StarletteResponse:
        result = function(request)
        if is_async or inspect.isawaitable(result):
            result = await result
        if isinstance(result, StarletteResponse):
            return result
        return Response(result)

    @functools.wraps(function)
    async def endpoint(request: Request) -> StarletteResponse:
        budget = settings.MAX_QUERIES_PER_REQUEST
        if budget is None:
            return await respond(request)
        response: StarletteResponse = await within_budget(
            respond(request), budget, described, request.method
        )
        return response

    return FunctionRoute(path, endpoint, function, methods=chosen, name=name or function.__name__)


class _Described:
    """What a query budget report says of a function endpoint."""

    viewset = None

    def __init__(self, path: str, function: Callable[..., Any]) -> None:
        self.path = path
        self.function = function

    def describe(self, method: str) -> str:
        """``GET /api/stats (stats)``."""
        return f"{method} {self.path} ({self.function.__qualname__})"
