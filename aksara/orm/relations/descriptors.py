"""The class attributes behind relations: ``post.author``, ``post.author_id``,
``post.comments``, ``user.profile`` and ``post.tags``.

In async code an attribute read cannot query, so ``post.author.name`` on an author that
was never loaded raises :class:`RelationNotLoadedError` naming ``select_related`` instead of
silently running one query per row; ``await post.author`` loads it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from aksara.orm.field import Field
from aksara.orm.options import Options
from aksara.orm.relations.fields import ForeignKey, ManyToMany
from aksara.orm.relations.kinds import (
    MISSING,
    ForwardRelation,
    ManyRelation,
    ReverseOneRelation,
    ReverseRelation,
)
from aksara.orm.relations.loading import RelationNotLoadedError, load_one
from aksara.orm.relations.managers import ManyRelatedManager, RelatedManager

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = [
    "ColumnDescriptor",
    "ForwardDescriptor",
    "ManyDescriptor",
    "ReverseDescriptor",
    "ReverseOneDescriptor",
    "UnloadedRelation",
]


class UnloadedRelation:
    """What ``post.author`` (or ``user.profile``) is before it was loaded: ``await`` it to
    load it; any other use raises :class:`RelationNotLoadedError`."""

    __slots__ = ("_instance", "_relation")

    def __init__(self, relation: ForwardRelation | ReverseOneRelation, instance: Model) -> None:
        self._relation = relation
        self._instance = instance

    def __await__(self) -> Generator[Any, None, Model | None]:
        return load_one(self._relation, self._instance).__await__()

    def _error(self) -> RelationNotLoadedError:
        relation = self._relation
        model = type(self._instance).__name__
        if isinstance(relation, ForwardRelation):
            return RelationNotLoadedError(
                f"{model}.{relation.name} is not loaded, and reading it would need a query per "
                f"{model} (N+1). Load it with {model}.objects.{relation.eager_load()}, or "
                f"`await obj.{relation.name}` to fetch this one."
            )
        return RelationNotLoadedError(
            f"{model}.{relation.name} is not loaded. Use "
            f"{model}.objects.{relation.eager_load()}, or `await obj.{relation.name}` to "
            "fetch it."
        )

    def __getattr__(self, name: str) -> Any:
        raise self._error()

    def __bool__(self) -> bool:
        raise self._error()

    def __eq__(self, other: object) -> bool:
        raise self._error()

    # Hashed by identity, so that asyncio.gather() takes it; comparing it still raises.
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        relation = self._relation
        if isinstance(relation, ForwardRelation):
            key = self._instance.__dict__.get(relation.attname)
        else:
            key = self._instance.pk
        return f"<unloaded {type(self._instance).__name__}.{relation.name} of key {key!r}>"


class ForwardDescriptor:
    """``post.author``: the loaded instance, None, or an :class:`UnloadedRelation`;
    assigning an instance, a primary key or None sets the key."""

    __slots__ = ("field", "relation")

    def __init__(self, relation: ForwardRelation) -> None:
        self.relation = relation
        self.field = relation.fk

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.field
        relation = self.relation
        value = relation.loaded(instance)
        if value is not MISSING:
            return value
        if relation.attname not in instance.__dict__:
            return Field.__get__(self.field, instance)  # deferred by only()/defer(): raises
        return UnloadedRelation(relation, instance)

    def __set__(self, instance: Any, value: Any) -> None:
        field = self.field
        values = instance.__dict__
        if value is None:
            values[field.attname] = None
            values[field.name] = None
        elif isinstance(getattr(type(value), "_meta", None), Options):
            target = field.related_model
            if not isinstance(value, target):
                raise TypeError(
                    f"{field.label} must be a {target.__name__}, got {type(value).__name__}."
                )
            values[field.attname] = value.pk
            values[field.name] = value
        else:
            values[field.attname] = value
            values.pop(field.name, None)


class ColumnDescriptor:
    """``post.author_id``: the raw key (read from the instance's values; this descriptor is
    only consulted when it was deferred, and raises)."""

    __slots__ = ("field",)

    def __init__(self, field: ForeignKey) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.field
        return Field.__get__(self.field, instance, owner)


class ReverseDescriptor:
    """``post.comments``: the manager of the rows pointing at the instance."""

    def __init__(self, relation: ReverseRelation) -> None:
        self.relation = relation
        self.fk = relation.fk
        self.name = relation.name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return RelatedManager(self.relation, instance)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"{type(instance).__name__}.{self.name} is a reverse relation; change the related "
            f"rows' {self.fk.name} instead."
        )


class ReverseOneDescriptor(ReverseDescriptor):
    """``user.profile`` of a one-to-one key: the instance when loaded, else an awaitable."""

    relation: ReverseOneRelation

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.relation.loaded(instance)
        if value is not MISSING:
            return value
        return UnloadedRelation(self.relation, instance)


class ManyDescriptor:
    """``post.tags`` / ``tag.posts``: the manager of a many-to-many relation's side.

    On the declaring model the class attribute reads as the ``ManyToMany`` field.
    """

    def __init__(self, relation: ManyRelation, field: ManyToMany | None = None) -> None:
        self.relation = relation
        self.field = field
        self.name = relation.name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self if self.field is None else self.field
        return ManyRelatedManager(self.relation, instance)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"{type(instance).__name__}.{self.name} is a many-to-many relation; use "
            f"`await obj.{self.name}.set([...])` (or add/remove/clear) to change its links."
        )
