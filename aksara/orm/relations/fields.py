"""Relation fields: ``ForeignKey``, ``OneToOne`` and ``ManyToMany``.

They only describe the relation; the attributes that read and load it on instances are the
descriptors of :mod:`aksara.orm.relations.descriptors`, installed when the model is built.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aksara.exceptions import ValidationError
from aksara.orm.field import CASCADE, ON_DELETE, SET_NULL, Field
from aksara.orm.registry import registry

if TYPE_CHECKING:
    from aksara.orm.lookups import Lookup
    from aksara.orm.models import Model

__all__ = ["ForeignKey", "ManyToMany", "OneToOne"]


def _resolve(field: ForeignKey | ManyToMany) -> type[Model]:
    target = field.to
    if isinstance(target, str):
        target = field.model if target == "self" else registry.resolve(target, field.label)
        field.to = target
    return target


class ForeignKey(Field):
    """A reference to a row of another model, stored in column ``<name>_id``.

    ``to`` is a model class, its name, or ``"self"``; the column is indexed by default.
    """

    is_relation = True
    type_label = "a model instance or primary key"

    def __init__(
        self,
        to: type[Model] | str,
        *,
        on_delete: str = CASCADE,
        related_name: str | None = None,
        db_index: bool = True,
        **options: Any,
    ) -> None:
        if on_delete not in ON_DELETE:
            raise ValueError(
                f"on_delete must be one of fields.CASCADE, SET_NULL, RESTRICT, PROTECT; "
                f"got {on_delete!r}."
            )
        if on_delete == SET_NULL and not options.get("null"):
            raise ValueError("on_delete=SET_NULL needs null=True on the ForeignKey.")
        super().__init__(db_index=db_index, **options)
        self.to = to
        self.on_delete = on_delete
        self.related_name = related_name
        self.reverse_name = ""

    def bind(self, model: type[Model], name: str) -> None:
        super().bind(model, name)
        self.attname = f"{name}_id"
        self.column = self.db_column or self.attname

    @property
    def related_model(self) -> type[Model]:
        """The model this key points at (resolved lazily from a name)."""
        return _resolve(self)

    @property
    def target_field(self) -> Field:
        """The primary key of the related model."""
        return self.related_model._meta.pk

    @functools.cached_property
    def bounds(self) -> tuple[int, int] | None:
        bounds: tuple[int, int] | None = self.target_field.bounds
        return bounds

    @property
    def kind(self) -> str:  # type: ignore[override]
        target = self.target_field
        return "biginteger" if target.kind == "auto" else target.kind

    def lookup_table(self) -> Mapping[str, Lookup]:
        """The lookups of the key it points at (a key compares as its target's type), and
        those registered on the foreign key classes themselves."""
        table = dict(self.target_field.lookup_table())
        for klass in reversed(type(self).__mro__):
            if issubclass(klass, ForeignKey):
                table.update(klass.__dict__.get("class_lookups", {}))
        return table

    def column_options(self) -> dict[str, Any]:
        options: dict[str, Any] = self.target_field.column_options()
        return options

    def constraint_name(self) -> str:
        """The foreign-key constraint's name: ``<table>_<column>_fkey``."""
        return f"{self.model._meta.table_name}_{self.column}_fkey"

    def to_python(self, value: Any) -> Any:
        related = self.related_model
        if isinstance(value, related):
            value = value.pk
            if value is None:
                raise ValidationError(
                    f"{self.label}: the related {related.__name__} has no primary key yet; "
                    "save it first.",
                    field=self.name,
                )
        # Another model's instance is refused by the key's own check, like any other type.
        try:
            return self.target_field.to_python(value)
        except ValidationError:
            raise self.type_error(value) from None

    def clean_column(self, values: list[Any]) -> list[Any]:
        for value in values:
            if type(value) is not int and not self._fast_ok(value):
                return super().clean_column(values)
        return values


class OneToOne(ForeignKey):
    """A foreign key whose value is unique: each target row has at most one of these.

    The reverse accessor (``user.profile``) is a single instance, not a manager.
    """

    def __init__(self, to: type[Model] | str, **options: Any) -> None:
        options.setdefault("unique", True)
        super().__init__(to, **options)


class ManyToMany(Field):
    """A many-to-many relation kept in a join table (``through``), made automatically when
    not given: ``posts_tags`` with ``post_id`` and ``tag_id``."""

    is_relation = True
    kind = "many_to_many"

    def __init__(
        self,
        to: type[Model] | str,
        *,
        related_name: str | None = None,
        through: type[Model] | str | None = None,
    ) -> None:
        super().__init__(null=True)
        self.to = to
        self.related_name = related_name
        self.through = through

    @property
    def related_model(self) -> type[Model]:
        """The model on the other side (resolved lazily from a name)."""
        return _resolve(self)
