"""prefetch_related: one extra query per relation level, batched with ``IN``.

``prefetch_related("comments", "comments__author")`` on posts runs exactly three queries
for any number of posts: the posts, their comments, the comments' authors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aksara.db.connections import get_database
from aksara.exceptions import FieldError
from aksara.orm.fields import ForeignKey, OneToOne
from aksara.orm.paths import relation_names

if TYPE_CHECKING:
    from aksara.orm.models import Model
    from aksara.orm.queryset import QuerySet

__all__ = ["Prefetch", "normalize", "prefetch"]


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


def _chunk_size() -> int:
    dialect = get_database().dialect
    return 1_000_000 if dialect.supports_array_params else max(1, dialect.max_params - 100)


async def _load_in(queryset: QuerySet[Any], column: str, keys: list[Any]) -> list[Any]:
    rows: list[Any] = []
    size = _chunk_size()
    for start in range(0, len(keys), size):
        rows.extend(await queryset.filter(**{f"{column}__in": keys[start : start + size]}))
    return rows


def _relation(model: type[Model], name: str) -> tuple[str, Any]:
    meta = model._meta
    fk = meta.reverse_relations.get(name)
    if fk is not None:
        return ("reverse_one" if isinstance(fk, OneToOne) else "reverse"), fk
    many = meta.many_relations.get(name)
    if many is not None:
        return "many", many
    field = meta._by_name.get(name)
    if isinstance(field, ForeignKey) and field.name == name:
        return "forward", field
    raise FieldError(
        f"prefetch_related: {model.__name__} has no relation {name!r}. Relations: "
        f"{', '.join(relation_names(model)) or 'none'}."
    )


async def _prefetch_level(instances: list[Model], name: str, spec: Prefetch | None) -> list[Model]:
    model = type(instances[0])
    kind, fk = _relation(model, name)
    queryset = spec.queryset if spec is not None and spec.queryset is not None else None
    to_attr = spec.to_attr if spec is not None else None
    if kind == "forward":
        target = fk.related_model
        keys = list({obj.__dict__[fk.attname] for obj in instances} - {None})
        base = queryset if queryset is not None else target.objects.all()
        found = {row.pk: row for row in await _load_in(base, "pk", keys)} if keys else {}
        for obj in instances:
            obj.__dict__[to_attr or fk.name] = found.get(obj.__dict__[fk.attname])
        return list(found.values())
    if kind == "many":
        return await _prefetch_many(instances, name, fk, queryset, to_attr)
    keys = list({obj.pk for obj in instances})
    base = queryset if queryset is not None else fk.model.objects.all()
    rows = await _load_in(base, fk.attname, keys)
    groups: dict[Any, list[Model]] = {key: [] for key in keys}
    attname = fk.attname
    for row in rows:
        groups[row.__dict__[attname]].append(row)
    by_key = {obj.pk: obj for obj in instances}
    for row in rows:
        row.__dict__[fk.name] = by_key[row.__dict__[attname]]
    for obj in instances:
        group = groups[obj.pk]
        if kind == "reverse_one":
            obj.__dict__[to_attr or name] = group[0] if group else None
        elif to_attr:
            obj.__dict__[to_attr] = group
        else:
            obj.__dict__.setdefault("_prefetched", {})[name] = group
    return rows


async def _prefetch_many(
    instances: list[Model],
    name: str,
    relation: Any,
    queryset: QuerySet[Any] | None,
    to_attr: str | None,
) -> list[Model]:
    """One query: the join table's rows for these instances, each with its target row."""
    if queryset is not None:
        raise FieldError(
            f"Prefetch({name!r}, queryset=...) is not supported on a many-to-many relation; "
            "prefetch it plainly and filter in Python, or query the targets directly."
        )
    keys = list({obj.pk for obj in instances})
    links = await _load_in(
        relation.through.objects.select_related(relation.target_fk.name),
        relation.source_fk.attname,
        keys,
    )
    groups: dict[Any, list[Model]] = {key: [] for key in keys}
    targets: dict[Any, Model] = {}
    for link in links:
        target = link.__dict__[relation.target_fk.name]
        target = targets.setdefault(target.pk, target)
        groups[link.__dict__[relation.source_fk.attname]].append(target)
    for obj in instances:
        if to_attr:
            obj.__dict__[to_attr] = groups[obj.pk]
        else:
            obj.__dict__.setdefault("_prefetched", {})[name] = groups[obj.pk]
    return list(targets.values())


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
    for name, spec, children in levels.values():
        related = await _prefetch_level(instances, name, spec)
        if children and related:
            await prefetch(related, children)
