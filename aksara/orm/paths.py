"""Field paths: ``author__name`` or ``comments__author`` resolved into joins and a field.

A path walks forward foreign keys (to one row), reverse foreign keys (``post.comments``: to
many rows) and many-to-many relations (through their join table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aksara.conf import settings
from aksara.exceptions import FieldError
from aksara.orm.fields import Field, ForeignKey

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["JoinStep", "Path", "check_depth", "relation_names", "resolve_path"]


class JoinStep:
    """One join: from the current table's ``left_column`` to ``target``'s ``right_column``.

    ``many`` is true when the join can match several rows (reverse and many-to-many).
    """

    __slots__ = ("left_column", "many", "name", "nullable", "right_column", "target")

    def __init__(
        self,
        name: str,
        target: type[Model],
        left_column: str,
        right_column: str,
        *,
        nullable: bool,
        many: bool,
    ) -> None:
        self.name = name
        self.target = target
        self.left_column = left_column
        self.right_column = right_column
        self.nullable = nullable
        self.many = many


class Path:
    """A field reached from a model through zero or more joins."""

    __slots__ = ("field", "joins", "key", "many", "nullable")

    def __init__(self, joins: tuple[JoinStep, ...], field: Field) -> None:
        self.joins = joins
        self.field = field
        self.key = "__".join((*(step.name for step in joins), field.attname))
        self.nullable = field.null or any(step.nullable for step in joins)
        self.many = any(step.many for step in joins)


def forward_step(fk: ForeignKey) -> JoinStep:
    """The join along a foreign key to the row it points at."""
    target = fk.related_model
    return JoinStep(
        fk.name, target, fk.column, target._meta.pk.column, nullable=fk.null, many=False
    )


def reverse_step(fk: ForeignKey, name: str) -> JoinStep:
    """The join from a row to the rows whose foreign key *fk* points at it."""
    parent = fk.related_model._meta
    return JoinStep(name, fk.model, parent.pk.column, fk.column, nullable=True, many=True)


def relation_names(model: type[Model]) -> list[str]:
    """Names a path may follow from *model*: forward keys, reverse and many-to-many relations."""
    meta = model._meta
    return [fk.name for fk in meta.foreign_keys] + list(meta.reverse_relations)


def check_depth(parts: list[str] | tuple[str, ...], *, relations: int | None = None) -> None:
    """Raise FieldError when a path follows more relations than ``MAX_RELATION_DEPTH``
    (*relations*, or every name but the last)."""
    count = len(parts) - 1 if relations is None else relations
    limit: int = settings.MAX_RELATION_DEPTH
    if count > limit:
        raise FieldError(
            f"{'__'.join(parts)[:200]!r} follows {count} relations; "
            f"MAX_RELATION_DEPTH allows {limit} (each is a join). Use a shorter path, or "
            "raise the setting."
        )


def resolve_path(model: type[Model], parts: list[str] | tuple[str, ...]) -> Path:
    """Resolve names (``["author", "name"]``) from *model*; raise FieldError."""
    check_depth(parts)
    joins: list[JoinStep] = []
    current = model
    for index, part in enumerate(parts):
        meta = current._meta
        last = index == len(parts) - 1
        steps = meta.relation_steps(part)
        if steps is not None:
            many = meta.many_relations.get(part)
            if last and many is not None:
                # tags=… compares the join table's key: no need to join the tags themselves.
                return Path((*joins, steps[0]), many.target_fk)
            # A reverse or many-to-many relation: join it; a bare one means its primary key.
            joins.extend(steps)
            current = steps[-1].target
            if last:
                return Path(tuple(joins), current._meta.pk)
            continue
        field = meta.get_field(part)
        if last:
            return Path(tuple(joins), field)
        if not isinstance(field, ForeignKey):
            raise FieldError(
                f"{current.__name__}.{part} is not a relation, so {'__'.join(parts)!r} cannot "
                f"follow it. Relations of {current.__name__}: "
                f"{', '.join(relation_names(current)) or 'none'}."
            )
        target = field.related_model
        # author__id needs no join: the key column already holds it.
        if index + 2 == len(parts) and parts[index + 1] in ("pk", target._meta.pk.name):
            return Path(tuple(joins), field)
        joins.append(forward_step(field))
        current = target
    raise FieldError("An empty field path names nothing.")
