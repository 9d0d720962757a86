"""The response objects of an operation: its success body (a serializer's schema, a list of
them, or a paginator's envelope around the list) and the error responses it may answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aksara.api.pagination import CursorPagination, LimitOffsetPagination, PageNumberPagination

if TYPE_CHECKING:
    from aksara.api.openapi.components import Components

__all__ = ["ERROR_RESPONSES", "error_reference", "json_response", "paginated_schema"]


def _error(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        response["headers"] = headers
    return response


#: Status -> (component name, response object) of each error an operation may answer.
ERROR_RESPONSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "BadRequest",
        {
            "description": "Invalid input: per-field messages, or a malformed body.",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/ValidationError"},
                            {"$ref": "#/components/schemas/Error"},
                        ]
                    }
                }
            },
        },
    ),
    401: (
        "Unauthorized",
        _error(
            "No credentials, or credentials that are not valid.",
            "Error",
            {
                "WWW-Authenticate": {
                    "description": "The scheme to authenticate with.",
                    "schema": {"type": "string"},
                }
            },
        ),
    ),
    403: ("Forbidden", _error("The user may not do this.", "Error")),
    404: ("NotFound", _error("No such object (or page).", "Error")),
    408: ("RequestTimeout", _error("The body was not received within BODY_TIMEOUT.", "Error")),
    409: ("Conflict", _error("The lookup value names more than one object.", "Error")),
    413: ("PayloadTooLarge", _error("The body is larger than MAX_BODY_BYTES.", "Error")),
    415: ("UnsupportedMediaType", _error("The body is not JSON.", "Error")),
    429: (
        "Throttled",
        _error(
            "Too many requests.",
            "Error",
            {
                "Retry-After": {
                    "description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer"},
                }
            },
        ),
    ),
}


def error_reference(status: int) -> dict[str, str]:
    """``{"$ref": "#/components/responses/NotFound"}`` for *status*."""
    return {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response object with a JSON body of *schema*."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_LINK = {"type": ["string", "null"], "format": "uri"}


def paginated_schema(
    paginator: Any, item: dict[str, Any], components: Components, name: str
) -> dict[str, Any]:
    """The schema of a page of *item*s in *paginator*'s envelope, as a component named after
    *name* (``PaginatedPostList``); a custom paginator describes its envelope with
    ``get_paginated_response_schema(schema)``."""
    results = {"type": "array", "items": item}
    custom = getattr(paginator, "get_paginated_response_schema", None)
    if callable(custom):
        schema: dict[str, Any] = custom(results)
        prefix = type(paginator).__name__.removesuffix("Pagination")
    elif isinstance(paginator, PageNumberPagination | LimitOffsetPagination):
        schema = {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "next": _LINK,
                "previous": _LINK,
                "results": results,
            },
        }
        prefix = ""
    elif isinstance(paginator, CursorPagination):
        schema = {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": _LINK, "previous": _LINK, "results": results},
        }
        prefix = "Cursor"
    else:
        return results
    plural = name if name.endswith("List") else f"{name}List"
    return components.add(f"{prefix}Paginated{plural}", schema)
