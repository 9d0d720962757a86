"""``explain_plan(PostViewSet, action="list")``: the queryset a viewset's action runs, its
``get_queryset()`` with the plan of its serializer added, written out for a reader."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from typing import Any

from aksara.api.serializers.base import Serializer
from aksara.exceptions import ConfigurationError
from aksara.orm.queryset import QuerySet

__all__ = ["explain_plan"]


def explain_plan(
    viewset: type[Any], action: str = "list", fields: Sequence[str] | None = None
) -> str:
    """The queryset *viewset* runs for *action* with *fields* selected (``["id",
    "author.name"]``; None: every field), the serializer's plan added, as text."""
    view = viewset()
    view.action = action
    view.request = None
    serializer = _serializer_class(view)
    output = serializer.compile(fields)
    queryset, note = _queryset(view)
    selected = "every field" if fields is None else ", ".join(fields)
    lines = [f"{viewset.__name__} {action} ({selected}):"]
    if note:
        lines.append(f"# {note}")
    lines.append(output.plan.describe(queryset))
    return "\n".join(lines)


def _serializer_class(view: Any) -> type[Serializer]:
    getter = getattr(view, "get_serializer_class", None)
    chosen = getter() if getter is not None else getattr(view, "serializer_class", None)
    if not (isinstance(chosen, type) and issubclass(chosen, Serializer)):
        raise ConfigurationError(
            f"{type(view).__name__} gives no serializer class (got {chosen!r}): set "
            "`serializer_class` or define get_serializer_class()."
        )
    return chosen


def _queryset(view: Any) -> tuple[QuerySet[Any], str]:
    """The viewset's queryset, and a note when it had to be read from its attributes."""
    note = ""
    getter = getattr(view, "get_queryset", None)
    if getter is not None:
        try:
            found = getter()
            if inspect.iscoroutine(found):
                found = _run(found)
            if found is not None:
                return _as_queryset(view, found), ""
        except _LoopRunning:
            note = "get_queryset() is async and a loop is running"
        except Exception as error:  # its code may read the request, which there is none of
            note = f"get_queryset() raised {type(error).__name__}: {error}"
    found = getattr(view, "queryset", None)
    model = getattr(view, "model", None)
    if found is None and model is not None:
        found = model.objects.all()
    if found is None:
        raise ConfigurationError(
            f"{type(view).__name__} needs a `queryset` or a `model`, or a get_queryset() that "
            f"runs without a request ({note or 'it has none'})."
        )
    if note:
        note += ": described from the viewset's `queryset` / `model` instead"
    return _as_queryset(view, found), note


class _LoopRunning(Exception):
    pass


def _run(coroutine: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise _LoopRunning


def _as_queryset(view: Any, found: Any) -> QuerySet[Any]:
    if isinstance(found, QuerySet):
        return found
    all_rows = getattr(found, "all", None)  # a manager
    if all_rows is not None:
        result = all_rows()
        if isinstance(result, QuerySet):
            return result
    raise ConfigurationError(
        f"{type(view).__name__}.get_queryset() must return a QuerySet, got {found!r}."
    )
