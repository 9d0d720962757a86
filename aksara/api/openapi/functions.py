"""The OpenAPI operations of function endpoints (``@router.get("/stats")``): path
parameters typed by their convertors, the docstring as summary and description, a JSON 200
response whose schema comes from the return annotation when it names a shape, and the errors
the app answers for any endpoint."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    UUIDConvertor,
)
from starlette.responses import Response as StarletteResponse

from aksara.api.functions import FunctionRoute
from aksara.api.openapi.responses import ERROR_RESPONSES, error_reference, json_response
from aksara.api.serializers.base import Serializer

if TYPE_CHECKING:
    from aksara.api.openapi.components import Components

__all__ = ["function_operation", "function_path"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def function_path(route: FunctionRoute) -> str:
    """The route's path as OpenAPI writes it: ``/items/{id}`` for ``/items/{id:int}``."""
    return route.path_format


def _parameter_schema(convertor: Convertor[Any]) -> dict[str, Any]:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number", "minimum": 0}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    if isinstance(convertor, PathConvertor):
        return {"type": "string"}
    return {"type": "string", "pattern": "^[^/]+$"}


def _path_parameters(route: FunctionRoute) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": _parameter_schema(convertor)}
        for name, convertor in route.param_convertors.items()
    ]


def _operation_id(route: FunctionRoute, method: str) -> str:
    base = route.function.__name__
    methods = [name for name in route.methods or () if name != "HEAD"]
    return f"{base}_{method.lower()}" if len(methods) > 1 else base


def _texts(function: Callable[..., Any]) -> tuple[str, str]:
    """(summary, description): the docstring's first line, and the whole docstring when it
    says more; without one, the function's name as words and no description."""
    doc = inspect.cleandoc(function.__doc__ or "")
    if not doc:
        return function.__name__.replace("_", " ").strip().capitalize(), ""
    first = doc.split("\n")[0].rstrip(".")
    return first, doc if "\n" in doc else ""


def _is_shape(annotation: Any) -> bool:
    """True for a msgspec Struct, a TypedDict or a dataclass (a list of one, too)."""
    if typing.get_origin(annotation) in (list, tuple):
        args = typing.get_args(annotation)
        return bool(args) and _is_shape(args[0])
    if not isinstance(annotation, type):
        return False
    return (
        issubclass(annotation, msgspec.Struct)
        or typing.is_typeddict(annotation)
        or dataclasses.is_dataclass(annotation)
    )


def _return_annotation(function: Callable[..., Any]) -> Any:
    try:
        return typing.get_type_hints(function).get("return")
    except Exception:  # a name the hints cannot resolve: described as any JSON
        return None


def _success(function: Callable[..., Any], components: Components) -> dict[str, Any]:
    """The 200 response: the return annotation's schema when it is a serializer or a shape,
    no body type for a Response, else any JSON."""
    annotation = _return_annotation(function)
    if isinstance(annotation, type) and issubclass(annotation, StarletteResponse):
        return {"description": "The response."}
    if isinstance(annotation, type) and issubclass(annotation, Serializer):
        return json_response(components.name_of(annotation), components.reference(annotation))
    if typing.get_origin(annotation) is list:
        args = typing.get_args(annotation)
        if args and isinstance(args[0], type) and issubclass(args[0], Serializer):
            item = components.reference(args[0])
            name = components.name_of(args[0])
            return json_response(f"A list of {name}.", {"type": "array", "items": item})
    if not _is_shape(annotation):
        return json_response("The result.", {})
    (schema,), found = msgspec.json.schema_components(
        [annotation], ref_template="#/components/schemas/{name}"
    )
    for name, component in found.items():
        components.add(name, component)
    return json_response("The result.", schema)


def function_operation(route: FunctionRoute, method: str, components: Components) -> dict[str, Any]:
    """The operation object of *method* on a function endpoint's *route*."""
    function = route.function
    summary, description = _texts(function)
    operation: dict[str, Any] = {"operationId": _operation_id(route, method), "summary": summary}
    if description:
        operation["description"] = description
    parameters = _path_parameters(route)
    if parameters:
        operation["parameters"] = parameters
    if method in _BODY_METHODS:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": {}}},
            "required": False,
        }
    responses = {"200": _success(function, components)}
    for status in (400, 404):
        responses[str(status)] = error_reference(status)
    # The function may refuse a request in ways nothing declares.
    responses["default"] = {
        "description": "Any other error.",
        "content": ERROR_RESPONSES[400][1]["content"],
    }
    operation["responses"] = responses
    return operation
