"""``SchemaGenerator``: the OpenAPI 3.1 document of an app's viewset routes, built from the
viewsets (actions, lookups, filters, paginators, authentication) and their serializers, and
of its function endpoints (``@router.get("/stats")``)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount

from aksara.api.functions import FunctionRoute
from aksara.api.mixins import CreateModelMixin
from aksara.api.openapi.components import Components
from aksara.api.openapi.functions import function_operation, function_path
from aksara.api.openapi.parameters import (
    fields_parameter,
    filter_parameters,
    lookup_is_unique,
    pagination_parameters,
    path_parameter,
)
from aksara.api.openapi.responses import (
    ERROR_RESPONSES,
    error_reference,
    json_response,
    paginated_schema,
)
from aksara.api.openapi.security import protection_of
from aksara.api.routing import ViewSetRoute
from aksara.api.serializers.base import Serializer
from aksara.api.views import GenericViewSet

__all__ = ["OPENAPI_VERSION", "SchemaGenerator"]

#: The version of the OpenAPI Specification the documents follow.
OPENAPI_VERSION = "3.1.0"

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SUMMARIES = {
    "list": "List {plural}",
    "create": "Create a {name}",
    "retrieve": "Retrieve a {name}",
    "update": "Replace a {name}",
    "partial_update": "Update part of a {name}",
    "destroy": "Delete a {name}",
}


class SchemaGenerator:
    """Builds the OpenAPI document of *routes* (the viewset and function routes among them;
    other routes are left out): ``SchemaGenerator(title="Blog", version="1.0").get_schema(app.routes)``."""

    def __init__(
        self,
        *,
        title: str = "API",
        version: str = "0.1.0",
        description: str | None = None,
        servers: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self.title = title
        self.version = version
        self.description = description
        self.servers = [dict(server) for server in servers]

    def get_schema(self, routes: Iterable[BaseRoute]) -> dict[str, Any]:
        """The OpenAPI document (a JSON-ready dict) of the viewset and function routes in
        *routes*."""
        components = Components()
        paths: dict[str, dict[str, Any]] = {}
        tags: dict[str, str] = {}
        operation_ids: set[str] = set()
        for route in _documented_routes(routes):
            if isinstance(route, FunctionRoute):
                item = paths.setdefault(function_path(route), {})
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        operation = function_operation(route, method, components)
                        operation["operationId"] = _unique(operation["operationId"], operation_ids)
                        item[method.lower()] = operation
                continue
            item = paths.setdefault(route.path, {})
            for method, handler in route.handlers.items():
                if method == "HEAD":
                    continue
                operation = self.get_operation(route, method, handler.action, components)
                operation["operationId"] = _unique(operation["operationId"], operation_ids)
                item[method.lower()] = operation
            doc = inspect.cleandoc(vars(route.viewset).get("__doc__") or "")
            tags.setdefault(route.basename, doc.split("\n\n")[0])
        info: dict[str, Any] = {"title": self.title, "version": self.version}
        if self.description:
            info["description"] = self.description
        document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
        if self.servers:
            document["servers"] = self.servers
        document["tags"] = [
            {"name": name, "description": text} if text else {"name": name}
            for name, text in tags.items()
        ]
        document["paths"] = paths
        document["components"] = components.as_dict()
        return document

    def get_operation(
        self, route: ViewSetRoute, method: str, action: str, components: Components
    ) -> dict[str, Any]:
        """The operation object of *method* on *route*, which runs the viewset's *action*."""
        view = _view(route, method, action)
        serializer = _serializer(view)
        model = _model(view, serializer)
        is_standard = action in _SUMMARIES
        if not is_standard and "serializer_class" not in route.handlers[method].attributes:
            # An @action returns what it likes: described only when it names a serializer.
            serializer = None
        operation: dict[str, Any] = {
            "operationId": _operation_id(route, method, action),
            "summary": _summary(route, action, model),
            "tags": [route.basename],
        }
        function = getattr(route.viewset, action, None)
        doc = inspect.cleandoc(getattr(function, "__doc__", None) or "")
        if doc and not is_standard:
            operation["description"] = doc
        parameters: list[dict[str, Any]] = []
        if route.param:
            parameters.append(path_parameter(view, model, route.param))
        paginator = None
        statuses: set[int] = set()
        if action == "list" and isinstance(view, GenericViewSet):
            parameters.extend(filter_parameters(view, model))
            paginator = view.paginator
            if paginator is not None:
                parameters.extend(pagination_parameters(paginator, view))
                statuses.add(404)
            statuses.add(400)
        if serializer is not None and isinstance(view, GenericViewSet) and is_standard:
            if method == "GET":
                parameters.append(fields_parameter())
            statuses.add(400)
        if parameters:
            operation["parameters"] = parameters
        if method in _BODY_METHODS:
            body = self.get_request_body(serializer, method, is_standard, components)
            if body is not None:
                operation["requestBody"] = body
            statuses |= {400, 408, 413, 415}
        if route.detail:
            statuses.add(404)
            if route.param and not lookup_is_unique(view, model):
                statuses.add(409)
        protection = protection_of(view)
        statuses.update(protection.statuses(method))
        security = protection.security(method)
        if security is not None:
            operation["security"] = security
            components.security_schemes.update(protection.schemes)
        responses = self.get_success_response(
            route, action, method, serializer, paginator, components
        )
        for status in sorted(statuses):
            responses[str(status)] = error_reference(status)
        if not (is_standard and isinstance(view, GenericViewSet)):
            # A hand-written handler may refuse a request in ways no class declares.
            responses["default"] = {
                "description": "Any other error.",
                "content": ERROR_RESPONSES[400][1]["content"],
            }
        operation["responses"] = responses
        return operation

    def get_request_body(
        self,
        serializer: type[Serializer] | None,
        method: str,
        is_standard: bool,
        components: Components,
    ) -> dict[str, Any] | None:
        """The ``requestBody`` of a write: the serializer's writable fields (every one
        optional for PATCH), or any JSON object for an ``@action`` without a serializer."""
        if serializer is None:
            if is_standard:
                return None
            return {"content": {"application/json": {"schema": {}}}, "required": False}
        schema = components.reference(serializer, write=True, partial=method == "PATCH")
        return {"content": {"application/json": {"schema": schema}}, "required": True}

    def get_success_response(
        self,
        route: ViewSetRoute,
        action: str,
        method: str,
        serializer: type[Serializer] | None,
        paginator: Any,
        components: Components,
    ) -> dict[str, Any]:
        """``{"200": ...}`` (``201`` for CreateModelMixin's create, ``204`` for a destroy) with the body's
        schema: the serializer's output, a page or list of them, or any JSON."""
        if action == "destroy":
            return {"204": {"description": "Deleted."}}
        created = action == "create" and issubclass(route.viewset, CreateModelMixin)
        status = "201" if created else "200"
        if serializer is None:
            return {status: json_response("The result.", {})}
        item = components.reference(serializer)
        if action == "list":
            name = components.name_of(serializer)
            schema = (
                paginated_schema(paginator, item, components, name)
                if paginator is not None
                else {"type": "array", "items": item}
            )
            return {status: json_response(f"A list of {name}.", schema)}
        if not route.detail and method == "GET" and action not in _SUMMARIES:
            return {
                status: json_response(
                    f"A list of {components.name_of(serializer)}.", {"type": "array", "items": item}
                )
            }
        return {status: json_response(components.name_of(serializer), item)}


def _documented_routes(routes: Iterable[BaseRoute]) -> Iterable[ViewSetRoute | FunctionRoute]:
    for route in routes:
        if isinstance(route, ViewSetRoute) or (
            isinstance(route, FunctionRoute) and route.include_in_schema
        ):
            yield route
        elif isinstance(route, Mount) and not route.path:
            yield from _documented_routes(route.routes)


def _view(route: ViewSetRoute, method: str, action: str) -> Any:
    """An instance of the route's viewset as the request flow prepares it, with a request
    that has no query string, body or credentials."""
    view = route.viewset()
    scope = {
        "type": "http",
        "method": method,
        "path": route.path,
        "raw_path": route.path.encode(),
        "query_string": b"",
        "headers": [],
        "path_params": {},
        "user": _anonymous_user(),
        "auth": None,
    }
    view.request = Request(scope)
    view.action = action
    view.kwargs = {}
    view.basename = route.basename
    view.detail = route.detail
    for method_name, handler in route.handlers.items():
        if method_name == method:
            for key, value in handler.attributes.items():
                setattr(view, key, value)
    return view


def _anonymous_user() -> Any:
    """The anonymous user of ``aksara.auth`` when present (what ``request.user`` is for a
    request without credentials), else None."""
    try:
        module = importlib.import_module("aksara.auth")
    except ImportError:
        return None
    anonymous = getattr(module, "AnonymousUser", None)
    return anonymous() if callable(anonymous) else None


def _serializer(view: Any) -> type[Serializer] | None:
    """The serializer class the view uses for its action, if it can tell without a request."""
    getter = getattr(view, "get_serializer_class", None)
    found: Any = None
    if callable(getter):
        try:
            found = getter()
        except Exception:  # a view that needs a live request, or has no serializer
            found = None
    if found is None:
        found = getattr(view, "serializer_class", None)
    if isinstance(found, type) and issubclass(found, Serializer):
        return found
    return None


def _model(view: Any, serializer: type[Serializer] | None) -> Any:
    queryset = getattr(view, "queryset", None)
    model = getattr(queryset, "model", None) or getattr(view, "model", None)
    if model is None and serializer is not None:
        model = getattr(getattr(serializer, "Meta", None), "model", None)
    return model


def _operation_id(route: ViewSetRoute, method: str, action: str) -> str:
    base = f"{route.basename}_{action}".replace("-", "_")
    methods = [name for name in route.handlers if name != "HEAD"]
    if action not in _SUMMARIES and len(methods) > 1:
        return f"{base}_{method.lower()}"
    return base


def _unique(name: str, taken: set[str]) -> str:
    chosen, number = name, 2
    while chosen in taken:
        chosen, number = f"{name}_{number}", number + 1
    taken.add(chosen)
    return chosen


def _summary(route: ViewSetRoute, action: str, model: Any) -> str:
    name = (model.__name__ if model is not None else route.basename).lower()
    template = _SUMMARIES.get(action)
    if template is not None:
        return template.format(name=name, plural=f"{name}s")
    function = getattr(route.viewset, action, None)
    doc = inspect.cleandoc(getattr(function, "__doc__", None) or "")
    if doc:
        return doc.split("\n")[0].rstrip(".")
    return action.replace("_", " ").capitalize()
