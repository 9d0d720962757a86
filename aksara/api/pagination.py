"""Pagination as DRF spells it: page numbers, limit/offset and keyset cursors.

``paginator = view.pagination_class()``; ``page = await paginator.paginate_queryset(qs,
request, view)`` returns the page's instances; ``paginator.get_paginated_response(data)``
wraps the serialized page in the envelope (``get_paginated_data`` builds it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec
from starlette.datastructures import URL
from starlette.responses import Response

from aksara.api.counting import count_rows
from aksara.api.cursors import Cursor, CursorCodec, keyset_condition
from aksara.api.errors import NotFound
from aksara.api.querystring import request_url, with_param

if TYPE_CHECKING:
    from starlette.requests import Request

    from aksara.orm.queryset import QuerySet

__all__ = ["BasePagination", "CursorPagination", "LimitOffsetPagination", "PageNumberPagination"]


class BasePagination:
    """One hook to cut a queryset into a page, one to wrap the serialized page."""

    #: Rows per page, unless the view sets ``page_size``.
    page_size: ClassVar[int] = 20
    #: The most rows a client may ask for, unless the view sets ``max_page_size``.
    max_page_size: ClassVar[int] = 100

    async def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        """The instances of the page *request* asks for."""
        raise NotImplementedError

    def get_paginated_data(self, data: Any) -> dict[str, Any]:
        """The response body: the serialized page *data* in the envelope."""
        raise NotImplementedError

    def get_paginated_response(self, data: Any) -> Response:
        """The JSON response of :meth:`get_paginated_data`."""
        return Response(
            msgspec.json.encode(self.get_paginated_data(data)), media_type="application/json"
        )

    def sizes(self, view: Any) -> tuple[int, int]:
        """``(page_size, max_page_size)``: the view's attributes when set, else the class's."""
        size = getattr(view, "page_size", None)
        largest = getattr(view, "max_page_size", None)
        return (
            self.page_size if size is None else int(size),
            self.max_page_size if largest is None else int(largest),
        )


#: Past this offset no table has rows (and LIMIT / OFFSET take at most 2**63 - 1).
_LARGEST_OFFSET = 2**62


def _positive(raw: str | None, default: int, cap: int) -> int:
    """A size from the query string; absent or not a positive integer: *default* (as DRF)."""
    if raw is None:
        return min(default, cap)
    try:
        value = int(raw)
    except ValueError:
        return min(default, cap)
    return min(value, cap) if value > 0 else min(default, cap)


class PageNumberPagination(BasePagination):
    """``?page=2&page_size=50`` -> ``{"count", "next", "previous", "results"}``.

    ``count = "estimate"`` uses PostgreSQL's planner estimate when it exceeds
    ``estimate_threshold`` rows and the exact COUNT below it; SQLite always counts exactly.
    """

    page_query_param: ClassVar[str] = "page"
    page_size_query_param: ClassVar[str | None] = "page_size"
    #: "exact" (a COUNT) or "estimate" (the planner's row estimate above the threshold).
    count: ClassVar[Literal["exact", "estimate"]] = "exact"
    estimate_threshold: ClassVar[int] = 10_000

    def __init__(self) -> None:
        self.request: Request | None = None
        self.total = 0
        self.number = 1
        self.size = self.page_size
        self.is_estimate = False
        self.filled = False

    async def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        default, largest = self.sizes(view)
        param = self.page_size_query_param
        raw_size = request.query_params.get(param) if param else None
        self.size = size = _positive(raw_size, default, largest)
        raw = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(raw)
        except ValueError:
            raise NotFound("Invalid page.") from None
        if number < 1 or number > _LARGEST_OFFSET // size:
            raise NotFound("Invalid page.")
        self.number = number
        page = queryset[(number - 1) * size : number * size]
        threshold = self.estimate_threshold if self.count == "estimate" else None
        rows, self.total, self.is_estimate = await count_rows(
            page, queryset, estimate_above=threshold
        )
        self.filled = len(rows) == size
        if number > 1 and not rows:
            raise NotFound("Invalid page.")
        return rows

    @property
    def num_pages(self) -> int:
        """Pages in the result; 1 for an empty one (its first page is served, empty)."""
        return max(1, math.ceil(self.total / self.size))

    def _link(self, number: int | None) -> str | None:
        if number is None or self.request is None:
            return None
        return with_param(
            request_url(self.request), self.page_query_param, None if number == 1 else number
        )

    def get_next_link(self) -> str | None:
        """The absolute URL of the next page, or None on the last one."""
        more = self.number < self.num_pages
        if self.is_estimate:
            more = more or self.filled
        return self._link(self.number + 1 if more else None)

    def get_previous_link(self) -> str | None:
        """The absolute URL of the previous page, or None on the first one."""
        return self._link(self.number - 1 if self.number > 1 else None)

    def get_paginated_data(self, data: Any) -> dict[str, Any]:
        return {
            "count": self.total,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        }


class LimitOffsetPagination(BasePagination):
    """``?limit=20&offset=40`` -> ``{"count", "next", "previous", "results"}``."""

    limit_query_param: ClassVar[str] = "limit"
    offset_query_param: ClassVar[str] = "offset"

    def __init__(self) -> None:
        self.request: Request | None = None
        self.total = 0
        self.limit = self.page_size
        self.offset = 0

    async def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        default, largest = self.sizes(view)
        params = request.query_params
        self.limit = limit = _positive(params.get(self.limit_query_param), default, largest)
        try:
            offset = int(params.get(self.offset_query_param, "0"))
        except ValueError:
            offset = 0
        self.offset = offset = min(max(offset, 0), _LARGEST_OFFSET)
        rows, self.total, _ = await count_rows(queryset[offset : offset + limit], queryset)
        return rows

    def _link(self, offset: int) -> str:
        assert self.request is not None
        url = URL(with_param(request_url(self.request), self.limit_query_param, self.limit))
        return with_param(url, self.offset_query_param, offset if offset > 0 else None)

    def get_next_link(self) -> str | None:
        """The URL of the next window, or None when this one reaches the end."""
        if self.request is None or self.offset + self.limit >= self.total:
            return None
        return self._link(self.offset + self.limit)

    def get_previous_link(self) -> str | None:
        """The URL of the previous window, or None at offset 0."""
        if self.request is None or self.offset <= 0:
            return None
        return self._link(min(self.offset, self.total) - self.limit)

    def get_paginated_data(self, data: Any) -> dict[str, Any]:
        return {
            "count": self.total,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        }


class CursorPagination(BasePagination):
    """``?cursor=…`` -> ``{"next", "previous", "results"}``: keyset pagination over
    ``ordering`` (the primary key breaks ties), stable under inserts, with no COUNT.

    ``ordering`` (it replaces the queryset's own) defaults to ``"-created_at"`` when the
    model has that field, else ``"-pk"``; its fields must be NOT NULL columns of the model.
    """

    cursor_query_param: ClassVar[str] = "cursor"
    ordering: ClassVar[str | tuple[str, ...] | None] = None

    def __init__(self) -> None:
        self.request: Request | None = None
        self.next_cursor: Cursor | None = None
        self.previous_cursor: Cursor | None = None
        self.codec: CursorCodec | None = None

    async def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        size = _positive(None, *self.sizes(view))
        codec = CursorCodec(queryset.model, self.ordering)
        raw = request.query_params.get(self.cursor_query_param)
        cursor = codec.decode(raw) if raw else None
        ordered = codec.loading(queryset.order_by(*codec.ordering))
        if cursor is not None:
            if cursor.reverse:
                ordered = ordered.reverse()
            ordered = ordered.filter(keyset_condition(codec, cursor))
        rows: list[Any] = await ordered[: size + 1]
        has_more = len(rows) > size
        rows = rows[:size]
        reverse = cursor is not None and cursor.reverse
        if reverse:
            rows.reverse()
        self.next_cursor = self.previous_cursor = None
        self.codec = codec
        if rows:
            first, last = codec.position(rows[0]), codec.position(rows[-1])
            if has_more or reverse:
                self.next_cursor = Cursor(last, reverse=False)
            if cursor is not None and (not reverse or has_more):
                self.previous_cursor = Cursor(first, reverse=True)
        elif cursor is not None:
            # Nothing past the cursor: the way back includes the cursor's own row.
            turned = Cursor(cursor.position, reverse=not cursor.reverse, inclusive=True)
            if cursor.reverse:
                self.next_cursor = turned
            else:
                self.previous_cursor = turned
        return rows

    def _link(self, cursor: Cursor | None) -> str | None:
        if cursor is None or self.request is None or self.codec is None:
            return None
        token = self.codec.encode(cursor)
        return with_param(request_url(self.request), self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        """The URL of the page after this one, or None at the end."""
        return self._link(self.next_cursor)

    def get_previous_link(self) -> str | None:
        """The URL of the page before this one, or None at the start."""
        return self._link(self.previous_cursor)

    def get_paginated_data(self, data: Any) -> dict[str, Any]:
        return {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
