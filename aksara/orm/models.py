"""``Model``: a table's row as a Python object, and the metaclass that reads its fields."""

from __future__ import annotations

import copy
from collections.abc import Generator, Sequence
from typing import Any, ClassVar, Self

from aksara.exceptions import FieldError, MultipleObjectsReturned, ObjectDoesNotExist, suggest
from aksara.orm.field import Field
from aksara.orm.fields import AutoField
from aksara.orm.manager import Manager
from aksara.orm.options import Options
from aksara.orm.persistence import delete_instance, save_instance
from aksara.orm.registry import registry
from aksara.orm.relations.fields import ManyToMany
from aksara.orm.relations.linking import link_forward, link_many, link_reverse
from aksara.orm.relations.loading import Peers

__all__ = ["Model", "ModelBase"]


class ModelBase(type):
    """Collects a model's fields, builds its ``_meta`` and its exceptions, registers it."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> ModelBase:
        if not any(isinstance(base, ModelBase) for base in bases):
            return super().__new__(mcs, name, bases, namespace, **kwargs)
        declared: list[tuple[str, Field]] = []
        for base in reversed(bases):
            base_meta = getattr(base, "_meta", None)
            if base_meta is not None and base_meta.abstract:
                for field in base_meta.fields:
                    if not isinstance(field, AutoField):
                        declared.append((field.name, copy.copy(field)))
        many: list[tuple[str, ManyToMany]] = []
        for key, value in list(namespace.items()):
            if isinstance(value, ManyToMany):
                many.append((key, value))
            elif isinstance(value, Field):
                declared = [(n, f) for n, f in declared if n != key]
                declared.append((key, value))
                del namespace[key]
        meta_class = namespace.pop("Meta", None)
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        fields = [field for _, field in declared]
        meta = Options(cls, meta_class, fields)  # type: ignore[arg-type]
        names = {id(field): field_name for field_name, field in declared}
        for field in meta.fields:
            field_name = names.get(id(field), "id")
            field.bind(cls, field_name)  # type: ignore[arg-type]
            setattr(cls, field_name, field)
        meta.finish()
        cls._meta = meta  # type: ignore[attr-defined]
        link_forward(cls)  # type: ignore[arg-type]
        qualname = namespace.get("__qualname__", name)
        cls.DoesNotExist = type(  # type: ignore[attr-defined]
            "DoesNotExist",
            _exception_bases(bases, "DoesNotExist", ObjectDoesNotExist),
            {"__module__": cls.__module__, "__qualname__": f"{qualname}.DoesNotExist"},
        )
        cls.MultipleObjectsReturned = type(  # type: ignore[attr-defined]
            "MultipleObjectsReturned",
            _exception_bases(bases, "MultipleObjectsReturned", MultipleObjectsReturned),
            {"__module__": cls.__module__, "__qualname__": f"{qualname}.MultipleObjectsReturned"},
        )
        if not meta.abstract:
            manager = namespace.get("objects")
            if not isinstance(manager, Manager):
                inherited = getattr(cls, "objects", None)
                manager = type(inherited)() if isinstance(inherited, Manager) else Manager()
                cls.objects = manager  # type: ignore[attr-defined]
            manager.model = cls
            registry.register(cls)  # type: ignore[arg-type]
            try:
                for fk in meta.foreign_keys:
                    link_reverse(fk)
                for many_name, many_field in many:
                    many_field.bind(cls, many_name)  # type: ignore[arg-type]
                    meta.many_to_many.append(many_field)
                    link_many(many_field, Model)
            except FieldError:
                registry.unregister(cls)  # type: ignore[arg-type]
                raise
        return cls


def _exception_bases(bases: tuple[type, ...], name: str, default: type) -> tuple[type, ...]:
    found = tuple(
        getattr(base, name) for base in bases if hasattr(base, name) and base is not Model
    )
    return found or (default,)


class Model(metaclass=ModelBase):
    """A row of the model's table. Subclass it and declare fields as class attributes."""

    _meta: ClassVar[Options]
    objects: ClassVar[Manager[Any]]
    #: The rows of the query result this one came from, when they load relations together.
    _peers: Peers | None = None
    #: The alias of the database the row was loaded from or saved to (None: the only one,
    #: or not known); its relations, refresh_from_db(), save() and delete() follow it.
    _db: str | None = None
    DoesNotExist: ClassVar[type[ObjectDoesNotExist]]
    MultipleObjectsReturned: ClassVar[type[MultipleObjectsReturned]]

    def __init__(self, **kwargs: Any) -> None:
        meta = self._meta
        values = self.__dict__
        values.update(meta.defaults)
        for name, factory in meta.default_factories:
            if name not in kwargs:
                values[name] = factory()
        plain = meta.plain_names
        for key, value in kwargs.items():
            column = plain.get(key)
            if column is not None:
                values[column] = value
                continue
            field = meta._by_name.get(key)
            if field is not None:  # a foreign key given by name: an instance or a key
                setattr(self, key, value)
            elif key == "pk":
                values[meta.pk.attname] = value
            else:
                raise FieldError(
                    f"{type(self).__name__}() got an unknown field {key!r}."
                    f"{suggest(key, meta.field_names)} Valid fields: "
                    f"{', '.join(meta.field_names)}."
                )

    @property
    def pk(self) -> Any:
        """The primary key's value."""
        return self.__dict__.get(self._meta.pk.attname)

    @pk.setter
    def pk(self, value: Any) -> None:
        self.__dict__[self._meta.pk.attname] = value

    async def save(
        self,
        *,
        update_fields: Sequence[str] | None = None,
        force_insert: bool = False,
        using: str | None = None,
    ) -> None:
        """Insert the row (new instance) or update it; ``update_fields`` limits the update,
        ``using`` names the database (else the routed one, by default "default")."""
        await save_instance(
            self, update_fields=update_fields, force_insert=force_insert, using=using
        )

    async def delete(self, *, using: str | None = None) -> int:
        """Delete the row (on the database *using*, else the routed one); returns 1, or 0
        when it was already gone."""
        return await delete_instance(self, using=using)

    async def refresh_from_db(self, *, fields: Sequence[str] | None = None) -> None:
        """Reload the row's values (all, or just *fields*) from the database."""
        queryset = type(self).objects.all()
        if self._db is not None:
            queryset = queryset.using(self._db)
        queryset = queryset.filter(pk=self.pk)
        if fields is not None:
            queryset = queryset.only(*fields)
        fresh = await queryset.get()
        # The row's values only: not the fresh instance's own peers.
        columns = self._meta.attnames
        loaded = {name: value for name, value in fresh.__dict__.items() if name in columns}
        for fk in self._meta.foreign_keys:
            if fk.attname in loaded:
                self.__dict__.pop(fk.name, None)
        self.__dict__.update(loaded)

    def __await__(self) -> Generator[Any, None, Self]:
        # ``await post.author`` works whether or not the author was already loaded.
        return self._itself().__await__()

    async def _itself(self) -> Self:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model) or other._meta.model is not self._meta.model:
            return NotImplemented
        if self.pk is None:
            return self is other
        return bool(self.pk == other.pk)

    def __hash__(self) -> int:
        if self.pk is None:
            raise TypeError(f"An unsaved {type(self).__name__} is unhashable.")
        return hash((self._meta.model, self.pk))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pk={self.pk!r}>"
