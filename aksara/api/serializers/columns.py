"""Column rows for a compiled output: when every selected field reads a column of the model,
a column through forward keys or a ``Count`` annotation, a page can be fetched as tuples of
exactly those values (``values_list``) and each tuple becomes the output's Struct as it is,
with no model instance built and read back attribute by attribute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aksara.api.serializers import fields as f
from aksara.orm import expressions
from aksara.orm.relations.kinds import ForwardRelation

if TYPE_CHECKING:
    from aksara.api.serializers.output import Output
    from aksara.orm.models import Model
    from aksara.orm.query import Query

__all__ = ["ColumnPlan", "column_plan"]


class ColumnPlan:
    """The ``values_list()`` names of an output's fields, derived once; :meth:`names_for`
    checks per query what the query itself decides (its row shape and annotations)."""

    __slots__ = ("counted", "model", "names", "plain")

    def __init__(
        self, model: type[Model], names: tuple[str, ...], counted: tuple[str, ...]
    ) -> None:
        self.model = model
        #: The names, in the output's field order.
        self.names = names
        #: The names that must be ``Count`` annotations of the query.
        self.counted = counted
        #: The names read from the model's own columns (an annotation may not shadow them).
        self.plain = frozenset(name for name in names if "__" not in name) - set(counted)

    def names_for(self, query: Query) -> tuple[str, ...] | None:
        """The names for *query*, or None when its rows must be instances."""
        if (
            query.model is not self.model
            or query.values is not None
            or query.for_update is not None
            or query.distinct
        ):
            return None
        if query.annotations:
            annotations = dict(query.annotations)
            for name in self.counted:
                if not isinstance(annotations.get(name), expressions.Count):
                    return None
            if not self.plain.isdisjoint(annotations):
                return None
        elif self.counted:
            return None
        return self.names


def column_plan(output: Output) -> ColumnPlan | None:
    """The column plan of *output*, or None when a field needs the instance (method fields,
    nested serializers, related keys, properties, relations read whole)."""
    model: type[Model] | None = getattr(output.serializer, "model", None)
    if model is None or output.nested or output.is_async:
        return None
    names: list[str] = []
    counted: list[str] = []
    for field in output.fields:
        if isinstance(field, f.SerializerMethodField | f.PrimaryKeyRelated):
            return None
        path = field.source_path
        name = _column_path(model, path)
        if name is None:
            if len(path) != 1 or path[0] in model._meta.relations:
                return None
            name = path[0]  # an annotation the planned query must have
            counted.append(name)
        names.append(name)
    return ColumnPlan(model, tuple(names), tuple(counted))


def _column_path(model: type[Model], path: tuple[str, ...]) -> str | None:
    """``author__name`` for ``("author", "name")`` when every step but the last is a forward
    key and the last a column of its model; None otherwise."""
    if not path:
        return None
    for step in path[:-1]:
        relation = model._meta.relations.get(step)
        if not isinstance(relation, ForwardRelation):
            return None
        model = relation.target
    if path[-1] not in model._meta.attnames or path[-1] in model._meta.relations:
        return None
    return "__".join(path)
