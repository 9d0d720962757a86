"""What a serializer reads from its instances, per model: the columns, the names that are
no field (annotations or properties), the relations it follows and the aggregates it needs.
The plan turns this into joins, prefetches, only() and annotate()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

from aksara.api.serializers import base
from aksara.api.serializers import fields as f
from aksara.orm.expressions import Aggregate
from aksara.orm.models import Model
from aksara.orm.relations.kinds import ForwardRelation, ReverseRelation, is_hidden

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer

__all__ = ["Nested", "Reads", "every_field", "reads_of"]

#: A nested field's name -> (its serializer class, its selected fields, their own nested).
Nested: TypeAlias = "Mapping[str, tuple[type[Serializer], Sequence[f.Field], Nested]]"


class Reads:
    """What one serializer level reads from the rows of one model."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.columns: set[str] = set()
        #: Names read that are no field: the queryset's annotations, or properties.
        self.attributes: set[str] = set()
        #: Something may read any column (a method field, ``source="*"``, a property path).
        self.whole = False
        self.methods: list[str] = []
        self.annotations: dict[str, Aggregate] = {}
        self.relations: dict[str, Reads] = {}
        self.notes: list[str] = []

    def relation(self, name: str) -> Reads:
        """The reads of the rows the relation *name* leads to (made on first use)."""
        found = self.relations.get(name)
        if found is None:
            target = self.model._meta.relations[name].target
            found = self.relations[name] = Reads(target)
        return found


def every_field(cls: type[Serializer]) -> tuple[type[Serializer], list[f.Field], Nested]:
    """Every readable field of *cls*, nested serializers whole."""
    chosen = [field for field in cls.get_fields().values() if not field.write_only]
    nested = {
        field.name: every_field(type(field))
        for field in chosen
        if isinstance(field, base.Serializer)
    }
    return cls, chosen, nested


def _collect(
    reads: Reads, serializer: type[Serializer], fields: Sequence[f.Field], nested: Nested
) -> None:
    for field in fields:
        if field.write_only:
            continue
        if isinstance(field, f.SerializerMethodField):
            reads.methods.append(f"{serializer.__name__}.{field.name}")
            reads.whole = True
            continue
        path = field.source_path
        if isinstance(field, f.Aggregate):
            reads.annotations[path[-1] if path else field.name] = field.aggregate()
            continue
        child = None
        if isinstance(field, base.Serializer):
            child = nested.get(field.name) or every_field(type(field))
        if not path:
            if child is not None:
                _collect(reads, *child)
            else:
                reads.whole = True
            continue
        _reach(reads, path, field, child)


def _reach(
    reads: Reads,
    path: tuple[str, ...],
    field: f.Field,
    child: tuple[type[Serializer], Sequence[f.Field], Nested] | None,
) -> None:
    level = reads
    for part in path[:-1]:
        relation = level.model._meta.relations.get(part)
        if relation is None or relation.to_many:
            # A property or a list in the middle of a path: it may read anything.
            level.whole = True
            level.attributes.add(part)
            level.notes.append(f"{'.'.join(path)} goes through {part}, not a to-one relation")
            return
        level = level.relation(part)
    last = path[-1]
    meta = level.model._meta
    relation = None if is_hidden(last) else meta.relations.get(last)
    if relation is not None:
        if child is not None:
            _collect(level.relation(last), *child)
        elif isinstance(field, f.PrimaryKeyRelated) and isinstance(relation, ForwardRelation):
            level.columns.add(relation.attname)
        elif isinstance(field, f.PrimaryKeyRelated):
            target = level.relation(last)
            target.columns.add(target.model._meta.pk.attname)
        else:
            level.relation(last).whole = True
        return
    if last == "pk" or last in meta.attnames or last in meta.field_names:
        level.columns.add(meta.get_field(last).attname)
    else:
        level.attributes.add(last)


def reads_of(
    model: type[Model], serializer: type[Serializer], fields: Sequence[f.Field], nested: Nested
) -> Reads:
    """What *serializer* reading *fields* (and *nested* serializers' selections) reads from
    rows of *model*."""
    reads = Reads(model)
    _collect(reads, serializer, fields, nested)
    _fold_back_references(reads)
    return reads


def _fold_back_references(reads: Reads) -> None:
    """Move what rows of a reverse relation read of their parent (``comment.post`` under
    ``post.comments``) to the parent's own reads: loading them sets that key to the parent
    row itself, so the parent's query must load it."""
    relations = reads.model._meta.relations
    folded = True
    while folded:
        folded = False
        for name, child in reads.relations.items():
            relation = relations[name]
            if isinstance(relation, ReverseRelation):
                back = child.relations.pop(relation.fk.name, None)
                if back is not None:
                    _merge(reads, back)
                    folded = True
                    break
    for child in reads.relations.values():
        _fold_back_references(child)


def _merge(into: Reads, other: Reads) -> None:
    into.columns |= other.columns
    into.attributes |= other.attributes
    into.whole = into.whole or other.whole
    into.methods.extend(other.methods)
    into.annotations.update(other.annotations)
    into.notes.extend(other.notes)
    for name, child in other.relations.items():
        mine = into.relations.get(name)
        if mine is None:
            into.relations[name] = child
        else:
            _merge(mine, child)
