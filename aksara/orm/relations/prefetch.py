"""prefetch_related: one extra query per relation level, batched with ``IN``.

``prefetch_related("comments", "comments__author")`` on posts runs exactly three queries
for any number of posts: the posts, their comments, the comments' authors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aksara.exceptions import FieldError
from aksara.orm.relations.kinds import Relation, is_hidden

if TYPE_CHECKING:
    from aksara.orm.models import Model
    from aksara.orm.queryset import QuerySet

__all__ = ["Prefetch", "check", "normalize", "prefetch"]


class Prefetch:
    """A prefetch with its own QuerySet (filtered, ordered…) and/or a target attribute.

    ``Prefetch("comments", queryset=Comment.objects.order_by("-created_at"),
    to_attr="recent_comments")`` stores a plain list in ``post.recent_comments``.
    """

    def __init__(
        self, lookup: str, queryset: QuerySet[Any] | None = None, to_attr: str | None = None
    ) -> None:
        self.lookup = lookup
        self.queryset = queryset
        self.to_attr = to_attr

    def __repr__(self) -> str:
        return f"Prefetch({self.lookup!r})"


def normalize(lookups: Sequence[str | Prefetch]) -> tuple[Prefetch, ...]:
    """Turn strings into :class:`Prefetch` objects."""
    result = []
    for lookup in lookups:
        if isinstance(lookup, str):
            result.append(Prefetch(lookup))
        elif isinstance(lookup, Prefetch):
            result.append(lookup)
        else:
            raise TypeError(f"prefetch_related() takes names or Prefetch objects, got {lookup!r}.")
    return tuple(result)


def check(model: type[Model], lookups: Sequence[Prefetch]) -> None:
    """Raise FieldError for a lookup that does not follow relations, before any query (and
    even when no row comes back to prefetch for)."""
    for lookup in lookups:
        current = model
        for name in lookup.lookup.split("__"):
            current = _relation(current, name).target


def _relation(model: type[Model], name: str) -> Relation:
    relation = None if is_hidden(name) else model._meta.relations.get(name)
    if relation is None:
        names = [other for other in model._meta.relations if not is_hidden(other)]
        raise FieldError(
            f"prefetch_related: {model.__name__} has no relation {name!r}. Relations: "
            f"{', '.join(names) or 'none'}."
        )
    return relation


async def prefetch(instances: list[Model], lookups: Sequence[Prefetch]) -> None:
    """Load *lookups* for *instances*, one query per relation level."""
    if not instances:
        return
    levels: dict[str, tuple[str, Prefetch | None, list[Prefetch]]] = {}
    for lookup in lookups:
        head, _, rest = lookup.lookup.partition("__")
        key = head if rest or not lookup.to_attr else f"{head}>{lookup.to_attr}"
        name, spec, children = levels.get(key, (head, None, []))
        if rest:
            children.append(Prefetch(rest, lookup.queryset, lookup.to_attr))
        else:
            spec = lookup
        levels[key] = (name, spec, children)
    model = type(instances[0])
    for name, spec, children in levels.values():
        relation = _relation(model, name)
        if spec is None:
            related = await relation.load(instances)
        else:
            related = await relation.load(instances, spec.queryset, spec.to_attr)
        if children and related:
            await prefetch(related, children)
