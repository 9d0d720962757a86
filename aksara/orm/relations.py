"""Forward foreign-key access: the loaded instance, or an awaitable that loads it.

In async code an attribute read cannot query, so ``post.author.name`` on an author that
was never loaded raises :class:`RelationNotLoadedError` naming ``select_related`` instead of
silently running one query per row.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from aksara.exceptions import AksaraError
from aksara.orm.fields import Field

if TYPE_CHECKING:
    from aksara.orm.fields import ForeignKey
    from aksara.orm.models import Model

__all__ = ["RelationNotLoadedError", "UnloadedRelation", "forward_get", "forward_set"]

_MISSING: Any = object()


class RelationNotLoadedError(AksaraError, AttributeError):
    """A relation was used as an instance before it was loaded."""


class UnloadedRelation:
    """What ``post.author`` is before the author was loaded: ``await`` it to load it."""

    __slots__ = ("_field", "_instance")

    def __init__(self, field: ForeignKey, instance: Model) -> None:
        self._field = field
        self._instance = instance

    async def _load(self) -> Model | None:
        field, instance = self._field, self._instance
        mode = loading_mode(instance)
        if mode == "raise":
            raise raise_lazy(instance, field.name)
        if mode == "peers" and "_peers" in instance.__dict__:
            from aksara.orm.prefetch import Prefetch, prefetch

            peers = [
                p
                for p in instance.__dict__["_peers"]
                if p is instance
                or (
                    field.attname in p.__dict__
                    and isinstance(forward_get(field, p), UnloadedRelation)
                )
            ]
            await prefetch(peers, (Prefetch(field.name),))
            return instance.__dict__.get(field.name)
        target = field.related_model
        related: Model = await target.objects.get(pk=instance.__dict__[field.attname])
        instance.__dict__[field.name] = related
        return related

    def __await__(self) -> Generator[Any, None, Model | None]:
        return self._load().__await__()

    def _error(self) -> RelationNotLoadedError:
        field = self._field
        model = field.model.__name__
        return RelationNotLoadedError(
            f"{model}.{field.name} is not loaded, and reading it would need a query per "
            f'{model} (N+1). Load it with {model}.objects.select_related("{field.name}") or '
            f'prefetch_related("{field.name}"), or `await obj.{field.name}` to fetch this one.'
        )

    def __getattr__(self, name: str) -> Any:
        raise self._error()

    def __bool__(self) -> bool:
        raise self._error()

    def __eq__(self, other: object) -> bool:
        raise self._error()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<unloaded {self._field.label} id={self._instance.__dict__.get(self._field.attname)!r}>"


def forward_get(field: ForeignKey, instance: Model) -> Any:
    """``post.author``: the cached instance, None, or an :class:`UnloadedRelation`."""
    values = instance.__dict__
    cached = values.get(field.name, _MISSING)
    key = values.get(field.attname, _MISSING)
    if cached is not _MISSING and (
        cached is None or key == cached.__dict__.get(cached._meta.pk.attname)
    ):
        return cached
    if key is _MISSING:
        return Field.__get__(field, instance)  # deferred by only()/defer(): raises
    if key is None:
        return None
    return UnloadedRelation(field, instance)


def forward_set(field: ForeignKey, instance: Model, value: Any) -> None:
    """``post.author = user`` (or a primary key, or None)."""
    from aksara.orm.models import Model

    values = instance.__dict__
    if value is None:
        values[field.attname] = None
        values[field.name] = None
    elif isinstance(value, Model):
        if not isinstance(value, field.related_model):
            raise TypeError(
                f"{field.label} must be a {field.related_model.__name__}, got "
                f"{type(value).__name__}."
            )
        values[field.attname] = value.pk
        values[field.name] = value
    else:
        values[field.attname] = value
        values.pop(field.name, None)


class LoadedList(list[Any]):
    """Related rows already in memory; awaiting it gives itself (no query)."""

    def __await__(self) -> Generator[Any, None, LoadedList]:
        return self._itself().__await__()

    async def _itself(self) -> LoadedList:
        return self


def loading_mode(instance: Model) -> str:
    """How *instance*'s relations load lazily: ``lazy``, ``peers`` or ``raise``."""
    mode = instance.__dict__.get("_loading")
    if mode is None:
        from aksara.conf import settings

        mode = settings.RELATION_LOADING
    return str(mode)


def raise_lazy(instance: Model, name: str) -> RelationNotLoadedError:
    """The error of a lazy load refused by ``RELATION_LOADING = "raise"``."""
    model = type(instance).__name__
    return RelationNotLoadedError(
        f"{model}.{name} was not loaded and relation loading is 'raise'. Load it in the query "
        f'with select_related("{name}") or prefetch_related("{name}").'
    )
