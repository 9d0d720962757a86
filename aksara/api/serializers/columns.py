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

__all__ = ["column_names"]


def column_names(output: Output, query: Query) -> tuple[str, ...] | None:
    """The ``values_list()`` names giving *output*'s fields in order from *query*, or None
    when a field needs the instance (method fields, nested serializers, related keys,
    properties, annotations other than ``Count``) or the query has a row shape of its own."""
    model: type[Model] | None = getattr(output.serializer, "model", None)
    if (
        model is None
        or query.model is not model
        or query.values is not None
        or query.for_update is not None
        or query.distinct
        or output.nested
    ):
        return None
    annotations = dict(query.annotations)
    names: list[str] = []
    for field in output.fields:
        if isinstance(field, f.SerializerMethodField | f.PrimaryKeyRelated):
            return None
        path = field.source_path
        if len(path) == 1 and path[0] in annotations:
            if not isinstance(annotations[path[0]], expressions.Count):
                return None
            names.append(path[0])
            continue
        name = _column_path(model, path)
        if name is None:
            return None
        names.append(name)
    return tuple(names)


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
