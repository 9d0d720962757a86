"""``ViewSet`` and ``GenericViewSet``: the classes an API's endpoints are written on, with
DRF's names (``queryset``, ``serializer_class``, ``get_object()``, ``self.action``...).

A viewset instance lives for one request; what can be worked out once (which actions
exist, how a lookup value is parsed) is worked out per class, not per request.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from aksara.api.access import AccessMixin
from aksara.api.errors import Conflict, NotFound
from aksara.api.filters import DEFAULT_FILTER_BACKENDS
from aksara.api.pagination import LimitOffsetPagination, PageNumberPagination
from aksara.api.querystring import parse_value
from aksara.api.serializers.fields import Aggregate, SerializerMethodField
from aksara.api.throttling import ThrottleMixin
from aksara.exceptions import (
    ConfigurationError,
    FieldError,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from aksara.orm.models import Model
from aksara.orm.paths import resolve_path
from aksara.orm.queryset import QuerySet

if TYPE_CHECKING:
    from aksara.api.serializers import Serializer
    from aksara.api.serializers.output import Output

__all__ = ["STANDARD_ACTIONS", "GenericViewSet", "ViewSet", "action", "resolve"]

#: The actions a router maps to HTTP methods by name, as DRF's routers do.
STANDARD_ACTIONS = ("list", "create", "retrieve", "update", "partial_update", "destroy")

#: Methods that read: for them the object is loaded as the serializer's plan says.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Model)


async def resolve(value: Any) -> Any:
    """*value*, awaited when a hook written ``async def`` returned a coroutine."""
    if inspect.iscoroutine(value):
        return await value
    return value


def action(
    *,
    detail: bool | None = None,
    methods: Sequence[str] | None = None,
    url_path: str | None = None,
    url_name: str | None = None,
    **attributes: Any,
) -> Callable[[F], F]:
    """Route a viewset method as an extra endpoint: ``@action(detail=True, methods=["post"])``
    serves ``/posts/{pk}/<name>/``. Extra keyword arguments (``serializer_class=...``) are set
    on the viewset instance while the action runs."""
    if detail is None:
        raise TypeError("@action needs detail=True (one object) or detail=False (the list).")

    def decorate(function: F) -> F:
        name = function.__name__
        if name in STANDARD_ACTIONS:
            raise TypeError(
                f"@action cannot decorate {name}(): it is a standard action "
                f"({', '.join(STANDARD_ACTIONS)})."
            )
        chosen = [method.upper() for method in (methods or ["get"])]
        function.mapping = dict.fromkeys(chosen, name)  # type: ignore[attr-defined]
        function.detail = detail  # type: ignore[attr-defined]
        function.url_path = url_path if url_path is not None else name  # type: ignore[attr-defined]
        function.url_name = url_name or name.replace("_", "-")  # type: ignore[attr-defined]
        function.attributes = attributes  # type: ignore[attr-defined]
        return function

    return decorate


class ViewSet(AccessMixin, ThrottleMixin):
    """A set of endpoints on one resource; the router routes the actions it defines
    (``list``, ``create``, ``retrieve``, ``update``, ``partial_update``, ``destroy`` and
    ``@action`` methods). ``self.request``, ``self.action`` and ``self.kwargs`` are set.
    ``authentication_classes`` and ``permission_classes`` guard every action."""

    request: Request
    #: The running action's name: "list", "retrieve", ... or an ``@action`` method's.
    action: str
    #: The path parameters (the lookup value of a detail route).
    kwargs: dict[str, Any]
    args: tuple[Any, ...] = ()
    #: The base name of the routes ("post"), as registered with the router.
    basename: str | None = None
    #: Whether the route serves one object (detail) or the list.
    detail: bool | None = None
    #: The queries one request may run (``@action(max_queries=...)`` overrides it; None: the
    #: ``MAX_QUERIES_PER_REQUEST`` setting). Over it: a warning, or a 500 under DEBUG.
    max_queries: int | None = None

    #: The ``@action`` methods, found once when the class is built.
    _extra_actions: ClassVar[tuple[Callable[..., Any], ...]] = ()

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        found: dict[str, Callable[..., Any]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if callable(value) and hasattr(value, "mapping"):
                    found[name] = value
                elif name in found:
                    del found[name]
        cls._extra_actions = tuple(found.values())

    def initial(self, request: Request) -> Any:
        """Runs before every action, after authentication and permission checks (may be
        ``async def``); raise an APIError (``PermissionDenied``...) to refuse the request."""

    @classmethod
    def get_extra_actions(cls) -> list[Callable[..., Any]]:
        """The methods decorated with ``@action``."""
        return list(cls._extra_actions)

    @classmethod
    def implemented_actions(cls) -> tuple[str, ...]:
        """The standard actions this class defines."""
        return tuple(name for name in STANDARD_ACTIONS if callable(getattr(cls, name, None)))


class GenericViewSet(ViewSet):
    """A viewset over a queryset and a serializer: ``queryset`` (or ``model``),
    ``serializer_class``, ``lookup_field``, pagination, filtering, ordering and search."""

    queryset: ClassVar[QuerySet[Any] | None] = None
    model: ClassVar[type[Model] | None] = None
    serializer_class: ClassVar[type[Serializer] | None] = None
    lookup_field: ClassVar[str] = "pk"
    lookup_url_kwarg: ClassVar[str | None] = None
    #: The URL segment a lookup value may be (DRF's default: anything but "/" and ".").
    lookup_value_regex: ClassVar[str] = "[^/.]+"
    pagination_class: ClassVar[type[Any] | None] = None
    page_size: ClassVar[int | None] = None
    max_page_size: ClassVar[int | None] = None
    filterset_fields: ClassVar[Sequence[str] | Mapping[str, Sequence[str]]] = ()
    ordering_fields: ClassVar[Sequence[str] | str | None] = None
    ordering: ClassVar[str | Sequence[str] | None] = None
    search_fields: ClassVar[Sequence[str]] = ()
    filter_backends: ClassVar[Sequence[type[Any]]] = DEFAULT_FILTER_BACKENDS

    _lookup_parsers: ClassVar[dict[tuple[type[Model], str], Callable[[str], Any]]] = {}
    _output: Output | None = None
    _paginator: Any = None

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        cls._lookup_parsers = {}

    def get_queryset(self) -> Any:
        """The rows this viewset serves (may be written ``async def``); by default
        ``queryset``, or every row of ``model``."""
        if self.queryset is not None:
            return self.queryset
        if self.model is not None:
            return self.model.objects.all()
        raise ConfigurationError(
            f"{type(self).__name__} needs a `queryset` or a `model`, or a get_queryset() method."
        )

    async def resolve_queryset(self) -> QuerySet[Any]:
        """``get_queryset()``, awaited when it is async."""
        queryset = self.get_queryset()
        if inspect.iscoroutine(queryset):
            queryset = await queryset
        return queryset  # type: ignore[no-any-return]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """*queryset* narrowed by each of ``filter_backends`` for this request."""
        for backend in self.filter_backends:
            queryset = backend().filter_queryset(self.request, queryset, self)
        return queryset

    def get_serializer_class(self) -> type[Serializer]:
        """The serializer of this action (override to pick one by ``self.action``)."""
        if self.serializer_class is None:
            raise ConfigurationError(
                f"{type(self).__name__} needs a `serializer_class`, or a "
                "get_serializer_class() method."
            )
        return self.serializer_class

    def get_serializer_context(self) -> dict[str, Any]:
        """What serializers see as ``self.context``: the request and this view."""
        return {"request": self.request, "view": self}

    def get_serializer(self, *args: Any, **kwargs: Any) -> Serializer:
        """An instance of ``get_serializer_class()`` with this view's context."""
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs)

    def get_serializer_fields(self) -> list[str] | None:
        """The fields to output: ``?fields=id,title,author.name``, or None for all of them."""
        request = self.request
        if not request.scope["query_string"]:
            return None
        raw = request.query_params.get("fields")
        if raw is None:
            return None
        names = [name.strip() for name in raw.split(",") if name.strip()]
        return names or None

    def get_output(self) -> Output:
        """The serializer compiled for this request's fields (compiled once per field set)."""
        output = self._output
        if output is None:
            serializer = self.get_serializer_class()
            output = self._output = serializer.compile(self.get_serializer_fields())
        return output

    async def get_object(self) -> Any:
        """The object the URL names, from ``get_queryset()`` narrowed by the filters; a read
        loads it as the serializer's plan says (joins, prefetches, columns). 404 if none,
        403 when an object permission refuses it."""
        queryset = await self.resolve_queryset()
        request = self.request
        # The default backends only read the query string: without one they change nothing
        # that matters to a single object (a default ordering), so the hot path skips them.
        if request.scope["query_string"] or self.filter_backends is not DEFAULT_FILTER_BACKENDS:
            queryset = self.filter_queryset(queryset)
        if request.method in SAFE_METHODS:
            queryset = self.get_output().plan.apply(queryset)
        instance = await self.lookup_object(queryset)
        if self.access_checked:
            await self.check_object_permissions(request, instance)
        return instance

    @property
    def paginator(self) -> Any:
        """This request's instance of ``pagination_class``, or None without one."""
        paginator = self._paginator
        if paginator is None and self.pagination_class is not None:
            paginator = self._paginator = self.pagination_class()
        return paginator

    def pages_columns(self) -> bool:
        """Whether ``list`` may fetch a page as column tuples rather than instances: the
        paginator (if any) and this view's own hooks never read the rows themselves."""
        if type(self).paginate_queryset is not GenericViewSet.paginate_queryset:
            return False
        paginator = self.paginator
        return paginator is None or type(paginator).paginate_queryset in _COLUMN_PAGINATORS

    async def paginate_queryset(self, queryset: QuerySet[Any]) -> list[Any] | None:
        """The rows of the page the request asks for, or None when there is no paginator."""
        paginator = self.paginator
        if paginator is None:
            return None
        page: list[Any] = await paginator.paginate_queryset(queryset, self.request, self)
        return page

    def get_paginated_response(self, data: Any) -> StarletteResponse:
        """The paginator's envelope (count, next, previous) around the rendered page."""
        response: StarletteResponse = self.paginator.get_paginated_response(data)
        return response

    async def render_saved(self, instance: Any) -> Any:
        """*instance*, just written, as the compiled output renders it. When the output
        reads more than the model's own columns (relations, annotations, method fields) the
        object is read again through ``get_queryset()`` and the plan first."""
        output = self.get_output()
        if not reads_only_columns(output):
            queryset = output.plan.apply(await self.resolve_queryset())
            # When get_queryset() does not show it, what was saved is rendered.
            with contextlib.suppress(ObjectDoesNotExist):
                instance = await queryset.get(pk=instance.pk)
        return await output.one(instance, self.get_serializer_context())

    def lookup_value(self, model: type[Model]) -> Any:
        """The lookup value of the URL, parsed for ``lookup_field`` of *model*; a value the
        field cannot hold is a 404."""
        raw = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        key = (model, self.lookup_field)
        parse = self._lookup_parsers.get(key)
        if parse is None:
            parse = self._lookup_parsers[key] = lookup_parser(model, self.lookup_field)
        try:
            return parse(raw)
        except (ValueError, KeyError, ArithmeticError):
            raise NotFound() from None

    async def lookup_object(self, queryset: QuerySet[M]) -> M:
        """The one object of *queryset* matching the URL's lookup value; a 404 if none, a
        409 if several (a ``lookup_field`` that is not unique)."""
        value = self.lookup_value(queryset.model)
        try:
            return await queryset.get(**{self.lookup_field: value})
        except (ObjectDoesNotExist, ValidationError):
            raise NotFound() from None
        except MultipleObjectsReturned:
            # A lookup_field that is not unique: which one is meant cannot be told.
            name = queryset.model.__name__
            raise Conflict(
                f"More than one {name} has this {self.lookup_field}; it does not name one object."
            ) from None


def reads_only_columns(output: Output) -> bool:
    """Whether *output* reads nothing but columns of its model's own table, all of which a
    saved instance holds (declared fields included: ``title = String(max_length=200)``)."""
    if output.nested:
        return False
    model = getattr(output.serializer, "model", None)
    columns = model._meta.attnames if model is not None else ()
    for field in output.fields:
        if len(field.source_path) != 1 or getattr(field, "many", False):
            return False
        if field.model_field is None and (
            isinstance(field, SerializerMethodField | Aggregate)
            or field.source_path[0] not in columns
        ):
            return False
    return True


def lookup_parser(model: type[Model], name: str) -> Callable[[str], Any]:
    """The function turning a URL segment into a value of *model*'s field *name*; it
    raises ValueError when the text is no such value."""
    try:
        field = resolve_path(model, name.split("__")).field
    except FieldError as error:
        raise ConfigurationError(f"lookup_field names {name!r}: {error}") from None
    parse = functools.partial(parse_value, field)
    if field.kind not in _INTEGER_KINDS:
        return parse

    def integer(text: str) -> Any:
        # Plain digits are nearly every request's key: no regex for them.
        return int(text) if text.isascii() and text.isdigit() else parse(text)

    return integer


#: Paginators whose ``paginate_queryset`` only slices, counts and measures the page.
_COLUMN_PAGINATORS = (
    PageNumberPagination.paginate_queryset,
    LimitOffsetPagination.paginate_queryset,
)
_INTEGER_KINDS = frozenset({"auto", "integer", "biginteger"})
