"""Filter backends: ``?field=value`` filters, ``?ordering=`` and ``?search=`` over the
view's whitelists.

Each backend's ``filter_queryset(request, queryset, view)`` returns a narrowed queryset and
runs no query. A name from the query string only ever selects an entry of a whitelist; the
ORM resolves that entry through the model's metadata, so no user string becomes SQL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aksara.api.errors import ValidationFailed
from aksara.api.querystring import InvalidValue, expected_type, parse_boolean, parse_value
from aksara.exceptions import ConfigurationError, FieldError, ValidationError
from aksara.orm.expressions import Q
from aksara.orm.paths import resolve_path

if TYPE_CHECKING:
    from starlette.requests import Request

    from aksara.orm.field import Field
    from aksara.orm.models import Model
    from aksara.orm.queryset import QuerySet

__all__ = [
    "DEFAULT_FILTER_BACKENDS",
    "RESERVED_PARAMETERS",
    "BaseFilterBackend",
    "FieldFilter",
    "OrderingFilter",
    "SearchFilter",
]

#: Query parameters that belong to pagination, rendering and the other backends.
RESERVED_PARAMETERS = frozenset(
    ("page", "page_size", "limit", "offset", "cursor", "ordering", "search", "fields", "format")
)
#: Lookups whose value is a comma-separated list.
_LIST_LOOKUPS = {"in": None, "range": 2}


class BaseFilterBackend:
    """Narrows a queryset from the request's query string (no I/O)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        """*queryset* narrowed (or ordered) by what *request* asks for."""
        raise NotImplementedError


def _field(model: type[Model], name: str, owner: str) -> Field:
    try:
        return resolve_path(model, name.split("__")).field
    except FieldError as error:
        raise ConfigurationError(f"{owner} names {name!r}: {error}") from None


class FieldFilter(BaseFilterBackend):
    """``?is_published=true&author__in=1,2&created_at__gte=2024-01-01`` over
    ``view.filterset_fields``: a list of names (exact match) or a dict name -> lookups."""

    def allowed(self, model: type[Model], view: Any) -> dict[str, tuple[str, str, Field]]:
        """Each accepted parameter -> (field path, lookup, field)."""
        declared: Sequence[str] | Mapping[str, Iterable[str]] | None = getattr(
            view, "filterset_fields", None
        )
        if not declared:
            return {}
        if isinstance(declared, Mapping):
            items = tuple((name, tuple(lookups)) for name, lookups in declared.items())
        else:
            items = tuple((name, ("exact",)) for name in declared)
        return _allowed_parameters(model, items)

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        model = queryset.model
        allowed = self.allowed(model, view)
        conditions: dict[str, tuple[str, Any]] = {}
        unknown: list[str] = []
        for key, raw in request.query_params.items():
            if key in RESERVED_PARAMETERS:
                continue
            entry = allowed.get(key)
            if entry is None:
                if _looks_like_filter(model, key):
                    unknown.append(key)
                continue
            if raw == "":
                continue  # an empty form field filters nothing (as DRF's filters)
            name, lookup, field = entry
            conditions[key] = (f"{name}__{lookup}", _parse(key, lookup, field, raw))
        if unknown:
            valid = ", ".join(sorted(allowed)) or "none"
            raise ValidationFailed(
                {key: [f"Unknown filter {key!r}. Valid filters: {valid}."] for key in unknown}
            )
        errors: dict[str, list[str]] = {}
        for key, (condition, value) in conditions.items():
            try:
                queryset = queryset.filter(**{condition: value})
            except ValidationError as error:
                errors[key] = [str(error)]
        if errors:
            raise ValidationFailed(errors)
        return queryset


def _parse(key: str, lookup: str, field: Field, raw: str) -> Any:
    """The value of the parameter *key* for *lookup*, parsed; ValidationFailed naming *key*
    and the expected type when it does not parse."""
    if "\x00" in raw:
        # No database column holds one (PostgreSQL refuses it in any text it is given).
        raise ValidationFailed({key: ["Null characters are not allowed."]})
    try:
        if lookup == "isnull":
            return parse_boolean(raw)
        if lookup in _LIST_LOOKUPS:
            parts = raw.split(",")
            size = _LIST_LOOKUPS[lookup]
            if size is not None and len(parts) != size:
                raise ValidationFailed(
                    {key: [f"Expected {size} comma-separated values of {expected_type(field)}."]}
                )
            return [parse_value(field, part) for part in parts]
        if field.kind in ("string", "text") or lookup not in ("exact", "gt", "gte", "lt", "lte"):
            return raw
        return parse_value(field, raw)
    except InvalidValue as error:
        many = " (comma-separated)" if lookup in _LIST_LOOKUPS else ""
        raise ValidationFailed({key: [f"Expected {error.expected}{many}; got {raw!r}."]}) from None


def _looks_like_filter(model: type[Model], key: str) -> bool:
    """Whether *key* names a field or relation of *model* (possibly with a lookup): such a
    parameter left out of the whitelist is an error, not something to ignore silently."""
    head = key.split("__", 1)[0]
    meta = model._meta
    return (
        head == "pk"
        or head in meta.field_names
        or head in meta.reverse_relations
        or head in meta.many_relations
        or any(field.attname == head for field in meta.fields)
    )


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class OrderingFilter(BaseFilterBackend):
    """``?ordering=-created_at,title`` over ``view.ordering_fields``; without the parameter,
    ``view.ordering`` (when set). Without ``ordering_fields`` no client ordering is taken."""

    ordering_param: ClassVar[str] = "ordering"

    def get_default_ordering(self, view: Any) -> tuple[str, ...]:
        """The view's ``ordering``, as a tuple of names."""
        return _names(getattr(view, "ordering", None))

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        """The ordering *request* asks for, checked against ``view.ordering_fields``
        (``"__all__"``: every field of the model but its ``SECRET_FIELDS``)."""
        raw = request.query_params.get(self.ordering_param)
        if raw is None or not raw.strip():
            return self.get_default_ordering(view)
        valid = _names(getattr(view, "ordering_fields", None))
        if valid == ("__all__",):
            secret = getattr(queryset.model, "SECRET_FIELDS", ())
            valid = tuple(name for name in queryset.model._meta.field_names if name not in secret)
        terms = [term.strip() for term in raw.split(",") if term.strip()]
        chosen: list[str] = []
        invalid: list[str] = []
        for term in terms:
            name = term[1:] if term.startswith("-") else term
            if name in valid:
                chosen.append(term)
            else:
                invalid.append(term)
        if invalid:
            choices = ", ".join(valid) or "none"
            raise ValidationFailed(
                {
                    self.ordering_param: [
                        f"Invalid ordering: {', '.join(invalid)}. Valid choices: {choices} "
                        "(prefix '-' for descending)."
                    ]
                }
            )
        return tuple(chosen)

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering) if ordering else queryset


#: Prefix of a search field -> the lookup it uses.
_SEARCH_PREFIXES = {"^": "istartswith", "=": "iexact", "@": "search"}


class SearchFilter(BaseFilterBackend):
    """``?search=async python`` over ``view.search_fields``: each term must match one of
    the fields (``icontains``; prefix ``^`` istartswith, ``=`` iexact, ``@`` full-text
    search on PostgreSQL, ``icontains`` elsewhere)."""

    search_param: ClassVar[str] = "search"
    #: Terms past this many are ignored: each term adds one condition per field.
    max_terms: ClassVar[int] = 10

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        fields = _names(getattr(view, "search_fields", None))
        raw = request.query_params.get(self.search_param, "")
        terms = raw.replace("\x00", "").split()[: self.max_terms]
        if not fields or not terms:
            return queryset
        model = queryset.model
        lookups: list[str] = []
        joins_many = False
        for entry in fields:
            lookup = _SEARCH_PREFIXES.get(entry[:1], "icontains")
            name = entry[1:] if entry[:1] in _SEARCH_PREFIXES else entry
            try:
                path = resolve_path(model, name.split("__"))
            except FieldError as error:
                raise ConfigurationError(f"search_fields names {name!r}: {error}") from None
            if path.field.get_lookup(lookup) is None:
                raise ConfigurationError(
                    f"search_fields names {entry!r}, but {path.field.label} is not text: it "
                    f"has no {lookup!r} lookup. Search text fields (String, Text)."
                )
            joins_many = joins_many or path.many
            lookups.append(f"{name}__{lookup}")
        for term in terms:
            matches = [Q(**{lookup: term}) for lookup in lookups]
            condition = matches[0]
            for match in matches[1:]:
                condition |= match
            queryset = queryset.filter(condition)
        # A to-many join repeats a row once per related row that matches.
        return queryset.distinct() if joins_many else queryset


#: The backends a viewset applies when it names none.
DEFAULT_FILTER_BACKENDS: tuple[type[BaseFilterBackend], ...] = (
    FieldFilter,
    SearchFilter,
    OrderingFilter,
)


@functools.lru_cache(maxsize=1024)
def _allowed_parameters(
    model: type[Model], items: tuple[tuple[str, tuple[str, ...]], ...]
) -> dict[str, tuple[str, str, Field]]:
    """The parameters of *items* (name, lookups) on *model*, resolved once per view setup
    instead of once per request."""
    allowed: dict[str, tuple[str, str, Field]] = {}
    for name, lookups in items:
        field = _field(model, name, "filterset_fields")
        for lookup in lookups:
            if field.get_lookup(lookup) is None:
                raise ConfigurationError(
                    f"filterset_fields gives {name!r} the lookup {lookup!r}, which "
                    f"{field.label} does not offer. Its lookups: {', '.join(field.lookups())}."
                )
            key = name if lookup == "exact" else f"{name}__{lookup}"
            allowed[key] = (name, lookup, field)
    return allowed
