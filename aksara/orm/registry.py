"""The model registry: every Model class by name, so relations can name models as strings.

This is one of Aksara's two documented pieces of process-wide state (with the
context variables of the database layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aksara.exceptions import FieldError, suggest

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["Registry", "registry"]


class Registry:
    """Model classes by their qualified name (``module.Class``) and by their class name."""

    def __init__(self) -> None:
        self._by_qualified: dict[str, type[Model]] = {}
        self._by_name: dict[str, list[type[Model]]] = {}
        self._deferred: list[tuple[Any, Callable[[Any], None]]] = []

    def register(self, model: type[Model]) -> None:
        """Add *model*; a class defined again under the same qualified name replaces it."""
        qualified = f"{model.__module__}.{model.__qualname__}"
        old = self._by_qualified.get(qualified)
        self._by_qualified[qualified] = model
        same_name = self._by_name.setdefault(model.__name__, [])
        if old is not None and old in same_name:
            same_name.remove(old)
        same_name.append(model)
        deferred, self._deferred = self._deferred, []
        for item, callback in deferred:
            callback(item)

    def defer(self, item: Any, callback: Callable[[Any], None]) -> None:
        """Call ``callback(item)`` again once another model is registered."""
        self._deferred.append((item, callback))

    def resolve(self, name: str, referrer: str) -> type[Model]:
        """Return the model called *name* (a class name or ``module.Class``)."""
        if name in self._by_qualified:
            return self._by_qualified[name]
        candidates = self._by_name.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            options = ", ".join(f"{m.__module__}.{m.__qualname__}" for m in candidates)
            raise FieldError(f"{referrer} names model {name!r}, which is ambiguous: {options}.")
        raise FieldError(
            f"{referrer} names model {name!r}, which is not defined.{suggest(name, self._by_name)}"
            " Define it (import its module) before the first query."
        )

    def models(self) -> list[type[Model]]:
        """Every registered model, in definition order."""
        return list(self._by_qualified.values())

    def unregister(self, model: type[Model]) -> None:
        """Remove *model* (tests that define throwaway models use this)."""
        qualified = f"{model.__module__}.{model.__qualname__}"
        if self._by_qualified.get(qualified) is model:
            del self._by_qualified[qualified]
        same_name = self._by_name.get(model.__name__, [])
        if model in same_name:
            same_name.remove(model)


registry = Registry()
