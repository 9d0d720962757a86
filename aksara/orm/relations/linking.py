"""Wiring a model's relations while its class is built: descriptors on both sides, the
reverse accessors, many-to-many join tables.

A relation naming a model not defined yet is linked once that model is registered.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aksara.exceptions import FieldError
from aksara.orm.field import CASCADE
from aksara.orm.options import snake_case, table_name_for
from aksara.orm.registry import registry
from aksara.orm.relations.descriptors import (
    ColumnDescriptor,
    ForwardDescriptor,
    ManyDescriptor,
    ReverseDescriptor,
    ReverseOneDescriptor,
)
from aksara.orm.relations.fields import ForeignKey, ManyToMany, OneToOne
from aksara.orm.relations.kinds import (
    ForwardRelation,
    ManyRelation,
    ReverseOneRelation,
    ReverseRelation,
)

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["link_forward", "link_many", "link_reverse"]


def link_forward(model: type[Model]) -> None:
    """Install ``post.author`` and ``post.author_id`` for each of *model*'s foreign keys."""
    meta = model._meta
    for fk in meta.foreign_keys:
        relation = ForwardRelation(fk)
        meta.relations[fk.name] = relation
        setattr(model, fk.name, ForwardDescriptor(relation))
        setattr(model, fk.attname, ColumnDescriptor(fk))


def link_reverse(fk: ForeignKey) -> None:
    """Install the reverse accessor of *fk* on the model it points at (``user.posts``)."""
    try:
        target = fk.related_model
    except FieldError:
        registry.defer(fk, link_reverse)  # the target is defined later
        return
    meta = target._meta
    if fk.related_name is not None and fk.related_name.endswith("+"):
        if fk not in meta.related_objects:
            meta.related_objects.append(fk)  # no accessor, but deletes still know it
        return
    one = isinstance(fk, OneToOne)
    name = fk.related_name or (
        snake_case(fk.model.__name__) if one else table_name_for(fk.model.__name__)
    )
    existing = meta.reverse_relations.get(name)
    same = existing is not None and (existing.model.__qualname__, existing.name) == (
        fk.model.__qualname__,
        fk.name,
    )
    clash = (existing is not None and not same) or name in meta.field_names
    if clash or (existing is None and name in vars(target)):
        raise FieldError(
            f"{fk.label}'s reverse accessor {target.__name__}.{name} clashes with "
            f"{'another relation' if existing is not None else 'an attribute'} of "
            f"{target.__name__}; give the ForeignKey a related_name=."
        )
    meta.related_objects[:] = [f for f in meta.related_objects if f is not existing]
    meta.related_objects.append(fk)
    meta.reverse_relations[name] = fk
    fk.reverse_name = name
    if one:
        relation = ReverseOneRelation(fk, name)
        meta.relations[name] = relation
        setattr(target, name, ReverseOneDescriptor(relation))
    else:
        reverse = ReverseRelation(fk, name)
        meta.relations[name] = reverse
        setattr(target, name, ReverseDescriptor(reverse))


def _make_through(
    field: ManyToMany, source: type[Model], target: type[Model], base: type[Model]
) -> type[Model]:
    source_name, target_name = snake_case(source.__name__), snake_case(target.__name__)
    if source is target:
        source_name, target_name = f"from_{source_name}", f"to_{target_name}"
    meta = type(
        "Meta",
        (),
        {
            "table_name": f"{source._meta.table_name}_{field.name}",
            "unique_together": [(source_name, target_name)],
        },
    )
    name = f"{source.__name__}{field.name.title().replace('_', '')}"
    namespace = {
        "__module__": source.__module__,
        "__qualname__": f"{source.__qualname__}.{name}",
        "__doc__": f"The join table of {field.label}.",
        source_name: ForeignKey(source, on_delete=CASCADE, related_name="+"),
        target_name: ForeignKey(target, on_delete=CASCADE, related_name="+"),
        "Meta": meta,
    }
    through: type[Model] = type(name, (base,), namespace)
    return through


def _keys_of(
    through: type[Model], source: type[Model], target: type[Model]
) -> tuple[ForeignKey, ForeignKey]:
    keys = through._meta.foreign_keys
    to_source = [fk for fk in keys if fk.related_model is source]
    to_target = [fk for fk in keys if fk.related_model is target]
    if source is target and len(to_source) >= 2:
        return to_source[0], to_source[1]
    if len(to_source) != 1 or len(to_target) != 1:
        raise FieldError(
            f"The through model {through.__name__} needs exactly one foreign key to "
            f"{source.__name__} and one to {target.__name__}."
        )
    return to_source[0], to_target[0]


def link_many(field: ManyToMany, base: type[Model]) -> None:
    """Make the join table of *field* (unless given; a subclass of *base*) and install both
    sides' accessors."""
    try:
        target = field.related_model
        through = field.through
        if isinstance(through, str):
            through = registry.resolve(through, field.label)
    except FieldError:
        # A model it names is defined later.
        registry.defer(field, functools.partial(link_many, base=base))
        return
    source = field.model
    if through is None:
        through = _make_through(field, source, target, base)
    field.through = through
    source_fk, target_fk = _keys_of(through, source, target)
    forward = ManyRelation(field.name, source, target, through, source_fk, target_fk)
    reverse_name = field.related_name or table_name_for(source.__name__)
    hidden = reverse_name.endswith("+")
    if hidden:
        # No accessor, but the forward side's queries still reach the source rows by it.
        reverse_name = f"+{source.__name__}.{field.name}"
    meta = target._meta
    existing = meta.many_relations.get(reverse_name)
    taken = reverse_name in meta.field_names or reverse_name in meta.reverse_relations
    if taken or (existing is not None and existing.through is not through):
        raise FieldError(
            f"{field.label}'s reverse accessor {target.__name__}.{reverse_name} clashes with "
            f"another attribute of {target.__name__}; give the ManyToMany a related_name=."
        )
    reverse = ManyRelation(reverse_name, target, source, through, target_fk, source_fk)
    forward.back_name, reverse.back_name = reverse_name, field.name
    source._meta.many_relations[field.name] = forward
    source._meta.relations[field.name] = forward
    setattr(source, field.name, ManyDescriptor(forward, field))
    meta.many_relations[reverse_name] = reverse
    meta.relations[reverse_name] = reverse
    if not hidden:
        setattr(target, reverse_name, ManyDescriptor(reverse))
