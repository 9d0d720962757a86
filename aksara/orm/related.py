"""Reverse relations: ``post.comments`` is a manager of the comments pointing at the post.

After ``prefetch_related("comments")`` (or a peers load) the manager iterates the rows in
memory; before it, iterating raises instead of querying, and ``await post.comments.all()``
runs the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aksara.orm.manager import Manager
from aksara.orm.queryset import QuerySet
from aksara.orm.relations import LoadedList, RelationNotLoadedError, loading_mode, raise_lazy

if TYPE_CHECKING:
    from aksara.orm.fields import ForeignKey
    from aksara.orm.models import Model

__all__ = ["RelatedManager", "ReverseDescriptor"]


class ReverseDescriptor:
    """The class attribute behind ``post.comments``."""

    def __init__(self, fk: ForeignKey, name: str) -> None:
        self.fk = fk
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return RelatedManager(self.fk, self.name, instance)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"{type(instance).__name__}.{self.name} is a reverse relation; change the related "
            f"rows' {self.fk.name} instead."
        )


class RelatedManager(Manager[Any]):
    """The rows of ``fk.model`` whose foreign key points at one instance."""

    def __init__(self, fk: ForeignKey, name: str, instance: Model) -> None:
        self.model = fk.model
        self.fk = fk
        self.name = name
        self.instance = instance

    def get_queryset(self) -> QuerySet[Any]:
        key = self.instance.pk
        if key is None:
            raise ValueError(
                f"{type(self.instance).__name__} must be saved before its {self.name} can be used."
            )
        return QuerySet(self.model).filter(**{self.fk.attname: key})

    def loaded(self) -> list[Any] | None:
        """The prefetched rows, or None when they were not loaded."""
        cache = self.instance.__dict__.get("_prefetched")
        return None if cache is None else cache.get(self.name)

    def all(self) -> Any:
        """The related rows: in memory when prefetched, else a QuerySet to await."""
        rows = self.loaded()
        if rows is not None:
            return LoadedList(rows)
        mode = loading_mode(self.instance)
        if mode == "raise":
            raise raise_lazy(self.instance, self.name)
        if mode == "peers" and "_peers" in self.instance.__dict__:
            return self._load_peers()
        return self.get_queryset()

    async def _load_peers(self) -> LoadedList:
        from aksara.orm.prefetch import Prefetch, prefetch

        peers = [
            peer
            for peer in self.instance.__dict__["_peers"]
            if self.name not in peer.__dict__.get("_prefetched", {})
        ]
        await prefetch(peers, (Prefetch(self.name),))
        return LoadedList(self.loaded() or [])

    async def count(self) -> int:
        """How many related rows (no query when they were prefetched)."""
        rows = self.loaded()
        if rows is not None:
            return len(rows)
        return await self.get_queryset().count()

    async def create(self, **values: Any) -> Any:
        """Create a related row pointing at the instance."""
        values[self.fk.name] = self.instance
        created = await self.get_queryset().create(**values)
        rows = self.loaded()
        if rows is not None:
            rows.append(created)
        return created

    def _rows(self) -> list[Any]:
        rows = self.loaded()
        if rows is None:
            model = type(self.instance).__name__
            raise RelationNotLoadedError(
                f"{model}.{self.name} was not prefetched, so it cannot be iterated without a "
                f'query. Use {model}.objects.prefetch_related("{self.name}"), or '
                f"`await obj.{self.name}.all()` to fetch them."
            )
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())

    def __getitem__(self, index: int) -> Any:
        return self._rows()[index]

    def __bool__(self) -> bool:
        return bool(self._rows())

    def __repr__(self) -> str:
        return f"<RelatedManager {type(self.instance).__name__}.{self.name}>"


class ReverseOneDescriptor(ReverseDescriptor):
    """``user.profile`` of a one-to-one key: the instance when loaded, else an awaitable."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        values = instance.__dict__
        if self.name in values:
            return values[self.name]
        return _UnloadedReverseOne(self, instance)


class _UnloadedReverseOne:
    """``await user.profile`` loads it (None when there is none)."""

    __slots__ = ("descriptor", "instance")

    def __init__(self, descriptor: ReverseOneDescriptor, instance: Model) -> None:
        self.descriptor = descriptor
        self.instance = instance

    async def _load(self) -> Any:
        name, fk = self.descriptor.name, self.descriptor.fk
        mode = loading_mode(self.instance)
        if mode == "raise":
            raise raise_lazy(self.instance, name)
        if mode == "peers" and "_peers" in self.instance.__dict__:
            from aksara.orm.prefetch import Prefetch, prefetch

            peers = [p for p in self.instance.__dict__["_peers"] if name not in p.__dict__]
            await prefetch(peers, (Prefetch(name),))
            return self.instance.__dict__.get(name)
        found = await QuerySet(fk.model).filter(**{fk.attname: self.instance.pk}).first()
        self.instance.__dict__[name] = found
        return found

    def __await__(self) -> Any:
        return self._load().__await__()

    def __bool__(self) -> bool:
        return self.__getattr__("__bool__")  # type: ignore[no-any-return]

    def __getattr__(self, attribute: str) -> Any:
        model = type(self.instance).__name__
        raise RelationNotLoadedError(
            f"{model}.{self.descriptor.name} is not loaded. Use "
            f'{model}.objects.prefetch_related("{self.descriptor.name}"), or '
            f"`await obj.{self.descriptor.name}` to fetch it."
        )
