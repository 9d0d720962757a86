"""OpenAPI parameters of a viewset's routes: the lookup in the path, and the query string
of its list (filters with their lookups, ``ordering``, ``search``, ``?fields=``, the
paginator's ``page`` / ``page_size`` / ``limit`` / ``offset`` / ``cursor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aksara.api.filters import FieldFilter, OrderingFilter, SearchFilter
from aksara.api.openapi.schemas import model_field_schema
from aksara.api.pagination import CursorPagination, LimitOffsetPagination, PageNumberPagination
from aksara.exceptions import FieldError
from aksara.orm.paths import resolve_path

if TYPE_CHECKING:
    from aksara.orm.field import Field as ModelField
    from aksara.orm.models import Model

__all__ = [
    "fields_parameter",
    "filter_parameters",
    "lookup_is_unique",
    "pagination_parameters",
    "path_parameter",
]

#: Lookups whose value is a comma-separated list.
_LIST_LOOKUPS = frozenset({"in", "range"})
#: Lookups compared as text whatever the field's type.
_TEXT_LOOKUPS = frozenset(
    {"contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact"}
)

#: How the description of a filter reads for each lookup.
_LOOKUP_WORDS = {
    "exact": "equals the value",
    "iexact": "equals the value, ignoring case",
    "in": "is one of the comma-separated values",
    "range": "lies within two comma-separated values (inclusive)",
    "gt": "is greater than the value",
    "gte": "is greater than or equal to the value",
    "lt": "is less than the value",
    "lte": "is less than or equal to the value",
    "contains": "contains the value",
    "icontains": "contains the value, ignoring case",
    "startswith": "starts with the value",
    "istartswith": "starts with the value, ignoring case",
    "endswith": "ends with the value",
    "iendswith": "ends with the value, ignoring case",
    "isnull": "is null (true) or not (false)",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def path_parameter(view: Any, model: type[Model] | None, name: str) -> dict[str, Any]:
    """The lookup segment of a detail route, typed as ``lookup_field`` of *model*."""
    lookup = str(getattr(view, "lookup_field", "pk"))
    schema: dict[str, Any] = {"type": "string"}
    if model is not None:
        try:
            field = resolve_path(model, lookup.split("__")).field
        except FieldError:
            field = None
        if field is not None:
            schema = model_field_schema(field) or schema
            if schema.get("type") == "string" and "format" not in schema:
                regex = str(getattr(view, "lookup_value_regex", "[^/.]+"))
                schema["pattern"] = f"^{regex}$"
    label = model.__name__ if model is not None else "object"
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {lookup} of the {label}.",
        "schema": schema,
    }


def lookup_is_unique(view: Any, model: type[Model] | None) -> bool:
    """Whether ``lookup_field`` names at most one object (else a detail route may be a
    409); True when it cannot be told."""
    if model is None:
        return True
    lookup = str(getattr(view, "lookup_field", "pk"))
    try:
        path = resolve_path(model, lookup.split("__"))
    except FieldError:
        return True
    return bool(path.field.unique) and not path.many


def _value_schema(field: ModelField, lookup: str) -> dict[str, Any]:
    if lookup == "isnull":
        return {"type": "boolean"}
    if lookup in _LIST_LOOKUPS:
        return {"type": "string"}
    if lookup in _TEXT_LOOKUPS:
        return {"type": "string"}
    schema = model_field_schema(field)
    if schema.get("format") == "decimal":
        schema = {"type": "string"}
    return schema or {"type": "string"}


def filter_parameters(view: Any, model: type[Model] | None) -> list[dict[str, Any]]:
    """The parameters of the view's filter backends: each ``filterset_fields`` entry with
    each of its lookups, then ``search`` and ``ordering`` when the view enables them."""
    if model is None:
        return []
    backends = tuple(getattr(view, "filter_backends", ()))
    parameters: list[dict[str, Any]] = []
    for backend in backends:
        if isinstance(backend, type) and issubclass(backend, FieldFilter):
            for key, (name, lookup, field) in backend().allowed(model, view).items():
                schema = _value_schema(field, lookup)
                description = f"Rows whose {name} {_LOOKUP_WORDS.get(lookup, lookup)}."
                parameters.append(_query(key, schema, description))
    for backend in backends:
        if not isinstance(backend, type):
            continue
        if issubclass(backend, SearchFilter) and getattr(view, "search_fields", None):
            searched = ", ".join(str(name).lstrip("^=@") for name in view.search_fields)
            parameters.append(
                _query(
                    backend.search_param,
                    {"type": "string"},
                    f"Words each of which must match one of: {searched}.",
                )
            )
        if issubclass(backend, OrderingFilter) and getattr(view, "ordering_fields", None):
            declared = view.ordering_fields
            names = [declared] if isinstance(declared, str) else list(declared)
            if names == ["__all__"]:
                names = list(model._meta.field_names)
            terms = [term for name in names for term in (name, f"-{name}")]
            parameters.append(
                _query(
                    backend.ordering_param,
                    {"type": "string"},
                    "Comma-separated fields to order by ('-' for descending); one of: "
                    f"{', '.join(terms)}.",
                )
            )
    return parameters


def fields_parameter() -> dict[str, Any]:
    """``?fields=id,title,author.name``: the fields the response keeps."""
    return _query(
        "fields",
        {"type": "string"},
        "Comma-separated fields to include in the response (dotted for nested ones); "
        "the others are left out.",
    )


def pagination_parameters(paginator: Any, view: Any) -> list[dict[str, Any]]:
    """The query parameters of *paginator* (an instance of the view's ``pagination_class``);
    a custom class describes its own with ``get_schema_operation_parameters(view)``."""
    custom = getattr(paginator, "get_schema_operation_parameters", None)
    if callable(custom):
        return list(custom(view))
    size = {"type": "integer", "minimum": 1}
    sizes = getattr(paginator, "sizes", None)
    if callable(sizes):
        size["maximum"] = sizes(view)[1]
    if isinstance(paginator, PageNumberPagination):
        parameters = [
            _query(
                paginator.page_query_param,
                {"type": "integer", "minimum": 1},
                "The page number (a page past the last is a 404).",
            )
        ]
        if paginator.page_size_query_param:
            parameters.append(
                _query(paginator.page_size_query_param, size, "Results per page (capped).")
            )
        return parameters
    if isinstance(paginator, LimitOffsetPagination):
        return [
            _query(paginator.limit_query_param, size, "The most results to return (capped)."),
            _query(
                paginator.offset_query_param,
                {"type": "integer", "minimum": 0},
                "The index of the first result.",
            ),
        ]
    if isinstance(paginator, CursorPagination):
        return [
            _query(
                paginator.cursor_query_param,
                {"type": "string"},
                "The opaque position from a previous page's `next` or `previous` link.",
            )
        ]
    return []
