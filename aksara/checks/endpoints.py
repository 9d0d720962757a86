"""The API half of the checklist read from the routes alone: pagination on every list
endpoint, and an index behind every field a client filters, orders or looks rows up by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount

from aksara.api.budget import viewset_model
from aksara.api.routing import ViewSetRoute
from aksara.checks.report import Finding, Status
from aksara.exceptions import FieldError
from aksara.orm.field import Field
from aksara.orm.paths import resolve_path

__all__ = ["check_indexes", "check_pagination", "is_indexed", "viewset_routes"]


def viewset_routes(routes: Iterable[BaseRoute]) -> list[ViewSetRoute]:
    """Every viewset route of an app's *routes*, those under a ``Mount`` included."""
    found: list[ViewSetRoute] = []
    for route in routes:
        if isinstance(route, ViewSetRoute):
            found.append(route)
        elif isinstance(route, Mount):
            found.extend(viewset_routes(route.routes))
    return found


def _action(route: ViewSetRoute) -> str | None:
    handler = route.handlers.get("GET")
    return handler.action if handler is not None else None


def check_pagination(routes: Sequence[ViewSetRoute]) -> list[Finding]:
    """One finding per list endpoint: FAIL without a ``pagination_class`` (every row in one
    response), WARN when no ``max_page_size`` caps what a client may ask for."""
    findings: list[Finding] = []
    for route in routes:
        if route.detail or _action(route) != "list":
            continue
        viewset = route.viewset
        where = f"GET {route.path} ({viewset.__name__})"
        paginator = getattr(viewset, "pagination_class", None)
        if paginator is None:
            findings.append(
                Finding(
                    "pagination",
                    Status.FAIL,
                    f"{where} returns every row in one response: set pagination_class "
                    "(PageNumberPagination, LimitOffsetPagination or CursorPagination).",
                )
            )
            continue
        largest = getattr(viewset, "max_page_size", None)
        if largest is None:
            largest = getattr(paginator, "max_page_size", None)
        if largest is None:
            findings.append(
                Finding(
                    "pagination",
                    Status.WARN,
                    f"{where}: a client may ask for any page size: set max_page_size.",
                )
            )
            continue
        findings.append(
            Finding(
                "pagination",
                Status.PASS,
                f"{where}: {paginator.__name__}, max_page_size {largest}.",
                {"max_page_size": largest},
            )
        )
    return findings


def is_indexed(field: Field) -> bool:
    """Whether an index leads with *field*: its primary key, a unique or ``db_index``
    column (foreign keys are by default), or the first field of a Meta index or of
    ``unique_together``."""
    if field.primary_key or field.unique or field.db_index:
        return True
    meta = field.model._meta
    leading = [index.fields[0] for index in meta.declared_indexes]
    leading.extend(names[0] for names in meta.unique_together)
    return any(meta.get_field(name) is field for name in leading)


def _names(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _queried_fields(viewset: Any, model: Any) -> list[tuple[str, str]]:
    """(field path, the viewset attribute naming it), in declaration order."""
    filters = getattr(viewset, "filterset_fields", None) or ()
    named = [(str(name), "filterset_fields") for name in filters]
    ordering_fields = _names(getattr(viewset, "ordering_fields", None))
    if ordering_fields == ["__all__"]:
        ordering_fields = list(model._meta.field_names)
    named.extend((name, "ordering_fields") for name in ordering_fields)
    named.extend(
        (name.lstrip("-"), "ordering")
        for name in _names(getattr(viewset, "ordering", None))
        if name != "?"
    )
    named.append((str(getattr(viewset, "lookup_field", "pk")), "lookup_field"))
    return named


def check_indexes(routes: Sequence[ViewSetRoute]) -> list[Finding]:
    """WARN for each field a viewset filters, orders or looks rows up by that no index
    leads, naming the index to add; a field name that does not resolve is a FAIL."""
    findings: list[Finding] = []
    missing: dict[Field, list[str]] = {}
    checked = 0
    for viewset in dict.fromkeys(route.viewset for route in routes):
        model = viewset_model(viewset)
        if model is None:
            continue
        checked += 1
        for name, source in _queried_fields(viewset, model):
            try:
                field = resolve_path(model, name.split("__")).field
            except FieldError as error:
                findings.append(
                    Finding("indexes", Status.FAIL, f"{viewset.__name__}.{source}: {error}")
                )
                continue
            if not is_indexed(field):
                uses = missing.setdefault(field, [])
                use = f"{viewset.__name__}.{source}"
                if use not in uses:
                    uses.append(use)
    for field, uses in missing.items():
        model_name = field.model.__name__
        findings.append(
            Finding(
                "indexes",
                Status.WARN,
                f"{model_name}.{field.name} has no index ({', '.join(uses)}): add db_index=True "
                f'to it, or Index(fields=["{field.name}"]) to {model_name}.Meta.indexes.',
                {"model": model_name, "field": field.name, "used_by": uses},
            )
        )
    if not findings:
        findings.append(
            Finding(
                "indexes",
                Status.PASS,
                f"Every filtered, ordered and looked-up field of {checked} viewset(s) is indexed.",
            )
        )
    return findings
