"""``Router``: a viewset registered under a prefix becomes Starlette routes, as DRF's routers
lay them out: ``/api/posts/`` (list, create), ``/api/posts/{pk}/`` (retrieve, update,
partial_update, destroy) and one route per ``@action``.

Only the methods a viewset implements are routed; HEAD follows GET, OPTIONS answers with
``Allow``, any other method is a 405 listing the allowed ones. A URL missing its trailing
slash (or carrying one it should not) is redirected for GET and HEAD, as Django's
``APPEND_SLASH`` does; for other methods it is a 404 naming the right URL, because a redirect
would make many clients drop the body or switch to GET.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from aksara.api.access import ANONYMOUS, is_guarded
from aksara.api.budget import check_budget, within_budget
from aksara.api.errors import MethodNotAllowed, NotFound, ParseError
from aksara.api.functions import function_route
from aksara.api.handlers import error_response
from aksara.api.responses import Response
from aksara.api.views import ViewSet, resolve
from aksara.conf import settings
from aksara.exceptions import ConfigurationError

__all__ = ["Router", "ViewSetRoute"]

_LIST_METHODS = (("GET", "list"), ("POST", "create"))
_DETAIL_METHODS = (
    ("GET", "retrieve"),
    ("PUT", "update"),
    ("PATCH", "partial_update"),
    ("DELETE", "destroy"),
)
_Function = TypeVar("_Function", bound=Callable[..., Any])
#: Set in the scope by a route that matched but for its trailing slash.
_SLASH_MISMATCH = "aksara.slash_mismatch"


class _Handler(NamedTuple):
    function: Callable[..., Any]
    action: str
    is_async: bool
    attributes: Mapping[str, Any]
    #: The action's query budget, else the viewset's; None: the setting's.
    budget: int | None


class ViewSetRoute(BaseRoute):
    """One URL of a viewset with the action each HTTP method runs on it."""

    def __init__(
        self,
        path: str,
        viewset: type[ViewSet],
        mapping: Mapping[str, str],
        *,
        name: str,
        basename: str,
        detail: bool,
        lookup: tuple[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
        reserved: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.name = name
        self.viewset = viewset
        self.basename = basename
        self.detail = detail
        self.param = lookup[0] if lookup else None
        self.slash = "/" if path.endswith("/") else ""
        self.handlers: dict[str, _Handler] = {}
        attributes = attributes or {}
        budget = check_budget(
            attributes.get("max_queries", getattr(viewset, "max_queries", None)),
            f"{viewset.__name__}.max_queries",
        )
        for method, action_name in mapping.items():
            function = getattr(viewset, action_name)
            handler = _Handler(
                function, action_name, inspect.iscoroutinefunction(function), attributes, budget
            )
            self.handlers[method] = handler
            if method == "GET":
                self.handlers.setdefault("HEAD", handler)
        self.allowed = sorted({*self.handlers, "OPTIONS"})
        # Called only when a viewset defines it: the default does nothing.
        self.initial = None if viewset.initial is ViewSet.initial else viewset.initial
        # Decided once: a viewset that checks nothing pays nothing per request.
        self.guarded = is_guarded(viewset, attributes)
        # Throttles known per class are looked up per request only to see whether there are
        # any (a cached tuple); a class deciding per request is always asked.
        self.custom_throttling = viewset.has_custom_throttling()
        self.regex = re.compile(_path_regex(path, lookup, reserved))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self.regex.match(_route_path(scope))
        if found is None:
            return Match.NONE, {}
        params = {self.param: found[self.param]} if self.param else {}
        inherited = scope.get("path_params")
        if inherited:
            params = {**inherited, **params}
        child: dict[str, Any] = {"endpoint": self.viewset, "path_params": params}
        if found["_slash"] != self.slash:
            child[_SLASH_MISMATCH] = True
            return Match.PARTIAL, child
        if scope["method"] in self.handlers:
            return Match.FULL, child
        return Match.PARTIAL, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        handler = self.handlers.get(method)
        response: StarletteResponse
        if scope.get(_SLASH_MISMATCH):
            response = self._slash_response(scope)
        elif handler is not None:
            budget = handler.budget
            if budget is None:
                budget = settings.MAX_QUERIES_PER_REQUEST
            if budget is None:
                response = await self._dispatch(handler, scope, receive)
            else:
                response = await within_budget(
                    self._dispatch(handler, scope, receive), budget, self, scope["method"]
                )
            if method == "HEAD":
                response.body = b""
        elif method == "OPTIONS":
            response = self._options_response()
        else:
            response = error_response(MethodNotAllowed(method, self.allowed))
        await response(scope, receive, send)

    async def _dispatch(self, handler: _Handler, scope: Scope, receive: Receive) -> Any:
        request = Request(scope, receive)
        view = self.viewset()
        view.request = request
        view.action = handler.action
        view.kwargs = params = scope["path_params"]
        view.basename = self.basename
        view.detail = self.detail
        for key, value in handler.attributes.items():
            setattr(view, key, value)
        try:
            query = scope["query_string"]
            if query and query.count(b"&") >= settings.MAX_QUERY_PARAMS:
                raise ParseError(
                    f"Too many query parameters: at most {settings.MAX_QUERY_PARAMS} "
                    "(MAX_QUERY_PARAMS)."
                )
            if self.guarded:
                view.access_checked = True
                await view.perform_authentication(request)
                await view.check_permissions(request)
            else:
                scope.setdefault("user", ANONYMOUS)
                scope.setdefault("auth", None)
            if self.initial is not None:
                await resolve(self.initial(view, request))
            if self.custom_throttling or view.resolve_throttle_classes():
                await view.check_throttles(request)
            result = handler.function(view, request, **params)
            if handler.is_async or inspect.iscoroutine(result):
                result = await result
        except Exception as exc:
            return error_response(exc, scope["method"], scope["path"])
        if isinstance(result, StarletteResponse):
            return result
        return Response(result)

    def describe(self, method: str) -> str:
        """The endpoint *method* reaches here: ``GET /api/posts/ (PostViewSet.list)``."""
        handler = self.handlers.get(method)
        action = handler.action if handler is not None else "?"
        return f"{method} {self.path} ({self.viewset.__name__}.{action})"

    def _options_response(self) -> Response:
        title = self.viewset.__name__.removesuffix("ViewSet")
        doc = inspect.cleandoc(vars(self.viewset).get("__doc__") or "")
        data = {
            "name": f"{title} {'Instance' if self.detail else 'List'}",
            "description": doc.split("\n\n")[0],
        }
        return Response(data, headers={"Allow": ", ".join(self.allowed)})

    def _slash_response(self, scope: Scope) -> Response:
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        path = path.partition("?")[0]
        target = path + "/" if self.slash else path.rstrip("/")
        if scope["method"] in ("GET", "HEAD"):
            query = scope.get("query_string", b"")
            location = f"{target}?{query.decode('latin-1')}" if query else target
            return Response(status=301, headers={"Location": location})
        ends = "ends with a slash" if self.slash else "has no trailing slash"
        detail = (
            f"Not found. This endpoint's URL {ends}: send {scope['method']} to {target} "
            "(the request is not redirected, which would lose its body)."
        )
        return error_response(NotFound(detail))

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        expected = {self.param} if self.param else set()
        if name != self.name or set(path_params) != expected:
            raise NoMatchFound(name, path_params)
        path = self.path
        if self.param:
            path = path.replace("{" + self.param + "}", str(path_params[self.param]))
        return URLPath(path=path, protocol="http")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={self.allowed})"
        )


def _path_regex(path: str, lookup: tuple[str, str] | None, reserved: tuple[str, ...]) -> str:
    body = path.rstrip("/")
    if lookup is None:
        pattern = re.escape(body)
    else:
        name, value_regex = lookup
        before, _, after = body.partition("{" + name + "}")
        # The list-level actions' paths are no lookup values (as in DRF, where their routes
        # come first): GET /posts/recent/ is never retrieve(pk="recent"), nor a 405 of it.
        exclude = f"(?!(?:{'|'.join(map(re.escape, reserved))})/?$)" if reserved else ""
        pattern = f"{re.escape(before)}(?P<{name}>{exclude}{value_regex}){re.escape(after)}"
    return f"^{pattern}(?P<_slash>/?)$"


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


class Router:
    """Routes for viewsets: ``router = Router(prefix="/api")``,
    ``router.register("posts", PostViewSet)``, then ``app.include_router(router)``; and for
    plain functions: ``@router.get("/health")`` on ``async def health(request)``."""

    def __init__(self, prefix: str = "/api", trailing_slash: bool = True) -> None:
        stripped = prefix.strip("/")
        self.prefix = f"/{stripped}" if stripped else ""
        self.trailing_slash = trailing_slash
        self.registry: list[tuple[str, type[ViewSet], str]] = []
        #: The function endpoints: (path under the prefix, function, methods, name).
        self.functions: list[tuple[str, Callable[..., Any], tuple[str, ...], str | None]] = []

    def route(
        self, path: str, *, methods: Sequence[str] = ("GET",), name: str | None = None
    ) -> Callable[[_Function], _Function]:
        """Decorator serving ``function(request)`` at ``<router prefix><path>`` for
        *methods*; a result that is no response is sent as a JSON ``Response``."""
        if not path.startswith("/"):
            raise ValueError(f"A route path starts with '/': {path!r}.")

        def register(function: _Function) -> _Function:
            function_route(self.prefix + path, function, methods, name)  # checks the methods
            self.functions.append((path, function, tuple(methods), name))
            return function

        return register

    def get(self, path: str, *, name: str | None = None) -> Callable[[_Function], _Function]:
        """``@router.get("/db")``: serve a function endpoint for GET (and HEAD)."""
        return self.route(path, methods=("GET",), name=name)

    def post(self, path: str, *, name: str | None = None) -> Callable[[_Function], _Function]:
        """``@router.post("/items")``: serve a function endpoint for POST."""
        return self.route(path, methods=("POST",), name=name)

    def put(self, path: str, *, name: str | None = None) -> Callable[[_Function], _Function]:
        """``@router.put("/items/{key}")``: serve a function endpoint for PUT."""
        return self.route(path, methods=("PUT",), name=name)

    def patch(self, path: str, *, name: str | None = None) -> Callable[[_Function], _Function]:
        """``@router.patch("/items/{key}")``: serve a function endpoint for PATCH."""
        return self.route(path, methods=("PATCH",), name=name)

    def delete(self, path: str, *, name: str | None = None) -> Callable[[_Function], _Function]:
        """``@router.delete("/items/{key}")``: serve a function endpoint for DELETE."""
        return self.route(path, methods=("DELETE",), name=name)

    def register(self, prefix: str, viewset: type[ViewSet], basename: str | None = None) -> None:
        """Serve *viewset* under ``<router prefix>/<prefix>/``; routes are named
        ``<basename>-list``, ``<basename>-detail`` and ``<basename>-<action url_name>``."""
        if not (isinstance(viewset, type) and issubclass(viewset, ViewSet)):
            raise TypeError(f"register() takes a ViewSet subclass, not {viewset!r}.")
        name = basename if basename is not None else _default_basename(prefix, viewset)
        taken = [entry[2] for entry in self.registry]
        if name in taken:
            raise ConfigurationError(
                f"Basename {name!r} is registered already; pass basename= to register() "
                f"with a name not in: {', '.join(taken)}."
            )
        self.registry.append((prefix.strip("/"), viewset, name))

    @property
    def routes(self) -> list[BaseRoute]:
        """The Starlette routes of every function endpoint and registered viewset."""
        routes: list[BaseRoute] = [
            function_route(self.prefix + path, function, methods, name)
            for path, function, methods, name in self.functions
        ]
        for prefix, viewset, basename in self.registry:
            routes.extend(self.get_routes(prefix, viewset, basename))
        return routes

    def get_routes(self, prefix: str, viewset: type[ViewSet], basename: str) -> list[ViewSetRoute]:
        """The routes of one viewset: list, list-level actions, detail, detail actions."""
        slash = "/" if self.trailing_slash else ""
        base = f"{self.prefix}/{prefix}" if prefix else self.prefix
        kwarg = str(
            getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        )
        lookup = (kwarg, str(getattr(viewset, "lookup_value_regex", "[^/.]+")))
        implemented = viewset.implemented_actions()
        actions = viewset.get_extra_actions()
        routes: list[ViewSetRoute] = []

        def add(
            path: str, mapping: Mapping[str, str], name: str, detail: bool, **extra: Any
        ) -> None:
            routes.append(
                ViewSetRoute(
                    path,
                    viewset,
                    mapping,
                    name=f"{basename}-{name}",
                    basename=basename,
                    detail=detail,
                    lookup=lookup if detail else None,
                    **extra,
                )
            )

        listing = {method: name for method, name in _LIST_METHODS if name in implemented}
        if listing:
            add(f"{base}{slash}", listing, "list", False)
        for function in actions:
            if not function.detail:  # type: ignore[attr-defined]
                add(
                    f"{base}/{function.url_path}{slash}",  # type: ignore[attr-defined]
                    function.mapping,  # type: ignore[attr-defined]
                    function.url_name,  # type: ignore[attr-defined]
                    False,
                    attributes=function.attributes,  # type: ignore[attr-defined]
                )
        item = f"{base}/{{{kwarg}}}"
        detail = {method: name for method, name in _DETAIL_METHODS if name in implemented}
        if detail:
            paths = tuple(function.url_path for function in actions if not function.detail)  # type: ignore[attr-defined]
            add(f"{item}{slash}", detail, "detail", True, reserved=paths)
        for function in actions:
            if function.detail:  # type: ignore[attr-defined]
                add(
                    f"{item}/{function.url_path}{slash}",  # type: ignore[attr-defined]
                    function.mapping,  # type: ignore[attr-defined]
                    function.url_name,  # type: ignore[attr-defined]
                    True,
                    attributes=function.attributes,  # type: ignore[attr-defined]
                )
        return routes


def _default_basename(prefix: str, viewset: type[ViewSet]) -> str:
    queryset = getattr(viewset, "queryset", None)
    model = queryset.model if queryset is not None else getattr(viewset, "model", None)
    if model is None:
        serializer = getattr(viewset, "serializer_class", None)
        model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        raise ConfigurationError(
            f"register({prefix!r}, {viewset.__name__}) needs basename=: the viewset has no "
            "`queryset`, `model` or model serializer to name its routes after."
        )
    return str(model.__name__.lower())
