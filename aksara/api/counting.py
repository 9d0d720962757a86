"""A page's rows and the count of the whole result, run together when the pool allows it.

The count is the ORM's ``count()``: it leaves out the page's ordering, annotations no
condition reads, select_related joins and prefetches (``aksara.orm.compiler.count_query``).
When no connection is pinned to the task, the page and the count run concurrently on two
pooled connections (faster in the measurements of BENCHMARKS.md, "Pagination count");
inside ``atomic()`` or ``Database.connection()`` they share the pinned connection, so they
run one after the other.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aksara.db.connections import get_database
from aksara.db.database import current_binding
from aksara.orm.compiler import count_query
from aksara.orm.keyget import compiled_select

if TYPE_CHECKING:
    from aksara.orm.queryset import QuerySet

__all__ = ["count_rows", "estimate_rows"]


async def estimate_rows(queryset: QuerySet[Any]) -> int | None:
    """The planner's estimate of the rows of *queryset*, or None where the database gives
    none (SQLite) or the query filters on annotations (the estimate would be a guess)."""
    query = queryset.query
    database = get_database()
    dialect = database.dialect
    if query.empty:
        return 0
    if query.grouped or query.having or dialect.row_estimate("") is None:
        return None
    keys = count_query(query).replace(values=("pk",), values_mode="flat")
    compiled = compiled_select(keys, database.statements, dialect)
    statement = dialect.row_estimate(compiled.sql)
    assert statement is not None
    rows = await database.fetch(
        statement, compiled.params(keys), read_only=True, keeps_session=True
    )
    return dialect.estimated_rows(rows)


async def _total(queryset: QuerySet[Any], estimate_above: int | None) -> tuple[int, bool]:
    if estimate_above is not None:
        estimate = await estimate_rows(queryset)
        if estimate is not None and estimate > estimate_above:
            return estimate, True
    return await queryset.count(), False


async def count_rows(
    page: QuerySet[Any], queryset: QuerySet[Any], *, estimate_above: int | None = None
) -> tuple[list[Any], int, bool]:
    """``(rows of page, count of queryset, whether the count is an estimate)``.

    With *estimate_above*, a planner estimate above it stands for the count (see
    :func:`estimate_rows`); at or below it, and where there is none, the count is exact.
    """
    binding = current_binding()
    if binding is not None and not binding.closed and binding.database is get_database():
        rows = await page
        total, estimated = await _total(queryset, estimate_above)
        return rows, total, estimated
    try:
        async with asyncio.TaskGroup() as group:
            fetching = group.create_task(_fetch(page))
            counting = group.create_task(_total(queryset, estimate_above))
    except ExceptionGroup as failed:
        # A failed statement is the request's error as itself, not wrapped in a group: the
        # app answers a lost database with a 503, a timeout with a 504.
        raise failed.exceptions[0] from None
    total, estimated = counting.result()
    return fetching.result(), total, estimated


async def _fetch(page: QuerySet[Any]) -> list[Any]:
    rows: list[Any] = await page
    return rows
