"""Relation kinds: one class per way a model's rows reach related rows.

``ForwardRelation`` (``post.author``), ``ReverseRelation`` (``post.comments``),
``ReverseOneRelation`` (``user.profile``) and ``ManyRelation`` (``post.tags``, ``tag.posts``)
each know their joins, where an instance keeps the loaded value (the instance attribute of
the relation's own name, or a prefetch's ``to_attr``) and how to load it, or count it, for
many instances at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from aksara.db.connections import db_for_read, db_for_related
from aksara.orm.expressions import Count
from aksara.orm.paths import JoinStep, reverse_step
from aksara.orm.relations.fields import ForeignKey

if TYPE_CHECKING:
    from aksara.orm.models import Model
    from aksara.orm.queryset import QuerySet

__all__ = [
    "MISSING",
    "ForwardRelation",
    "ManyRelation",
    "Relation",
    "ReverseOneRelation",
    "ReverseRelation",
    "is_hidden",
    "on_database_of",
]

#: What :meth:`Relation.loaded` returns for a relation an instance has not loaded.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def is_hidden(name: str) -> bool:
    """True for the relation names without an accessor (the target side of ``related_name="+"``)."""
    return "+" in name


def on_database_of(queryset: QuerySet[Any], instance: Model) -> QuerySet[Any]:
    """*queryset* on the database of the rows related to *instance* (see
    :func:`~aksara.db.connections.db_for_related`), unless it names one already."""
    if queryset.db is None:
        alias = db_for_related(queryset.model, instance)
        if alias is not None:
            return queryset.using(alias)
    return queryset


def _chunks(queryset: QuerySet[Any], keys: list[Any]) -> Iterator[list[Any]]:
    dialect = db_for_read(queryset.model, queryset.db).dialect
    # One array parameter holds any number of keys; otherwise stay under the bound limit.
    size = len(keys) or 1 if dialect.supports_array_params else max(1, dialect.max_params - 100)
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


async def load_in(queryset: QuerySet[Any], column: str, keys: list[Any]) -> list[Any]:
    """The rows of *queryset* whose *column* is one of *keys*, in as few queries as fit."""
    rows: list[Any] = []
    for chunk in _chunks(queryset, keys):
        rows.extend(await queryset.filter(**{f"{column}__in": chunk}))
    return rows


async def count_in(queryset: QuerySet[Any], column: str, keys: list[Any]) -> dict[Any, int]:
    """``{key: rows of queryset whose column is key}`` for *keys*, one grouped query per chunk;
    keys without rows are 0."""
    counts = dict.fromkeys(keys, 0)
    grouped = queryset.order_by()
    for chunk in _chunks(grouped, keys):
        pairs = await (
            grouped.filter(**{f"{column}__in": chunk})
            .values_list(column)
            .annotate(related_count=Count("pk"))
        )
        counts.update(pairs)
    return counts


class Relation:
    """A named relation of *source* rows; subclasses are the kinds."""

    #: True when the relation reaches any number of rows (a manager), False for one row.
    to_many: ClassVar[bool] = False

    def __init__(self, name: str, source: type[Model]) -> None:
        self.name = name
        self.source = source

    @property
    def target(self) -> type[Model]:
        """The model of the related rows."""
        raise NotImplementedError

    def path_steps(self) -> list[JoinStep] | None:
        """The joins a field path follows through this relation; None when the path goes
        through a field of the source instead (a forward key)."""
        raise NotImplementedError

    def loaded(self, instance: Model) -> Any:
        """The loaded value (an instance, None, or a list of rows), else :data:`MISSING`."""
        return instance.__dict__.get(self.name, MISSING)

    def needs_load(self, instance: Model) -> bool:
        """True when a peers load should load this relation for *instance*."""
        return instance.pk is not None and self.loaded(instance) is MISSING

    def eager_load(self) -> str:
        """The QuerySet calls that load the relation with the rows, for error messages."""
        return f'prefetch_related("{self.name}")'

    async def load(
        self,
        instances: list[Model],
        queryset: QuerySet[Any] | None = None,
        to_attr: str | None = None,
    ) -> list[Model]:
        """Load the relation of every one of *instances* (one query per level); return the
        related rows, for the next level of a prefetch."""
        raise NotImplementedError

    async def count(self, keys: list[Any], peer: Model) -> dict[Any, int]:
        """How many related rows each source row of primary key in *keys* has (*peer*,
        one of them, tells the database)."""
        raise NotImplementedError(f"{self.source.__name__}.{self.name} is not a to-many relation.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source.__name__}.{self.name}>"


class ForwardRelation(Relation):
    """``post.author``: the row a foreign key points at."""

    def __init__(self, fk: ForeignKey) -> None:
        super().__init__(fk.name, fk.model)
        self.fk = fk
        self.attname = fk.attname

    @property
    def target(self) -> type[Model]:
        return self.fk.related_model

    def path_steps(self) -> list[JoinStep] | None:
        return None

    def loaded(self, instance: Model) -> Any:
        values = instance.__dict__
        key = values.get(self.attname, MISSING)
        cached = values.get(self.name, MISSING)
        if cached is MISSING:
            return None if key is None else MISSING
        if cached is None:
            # Kept only while the key still says "no row": assigning a key makes it stale.
            return None if key is None or key is MISSING else MISSING
        if key is MISSING or key == cached.__dict__.get(cached._meta.pk.attname):
            return cached
        return MISSING

    def needs_load(self, instance: Model) -> bool:
        key = instance.__dict__.get(self.attname)
        return key is not None and self.loaded(instance) is MISSING

    def eager_load(self) -> str:
        return f'select_related("{self.name}") or prefetch_related("{self.name}")'

    async def load(
        self,
        instances: list[Model],
        queryset: QuerySet[Any] | None = None,
        to_attr: str | None = None,
    ) -> list[Model]:
        attname = self.attname
        keys = list({obj.__dict__.get(attname) for obj in instances} - {None})
        base = queryset if queryset is not None else self.target.objects.all()
        base = on_database_of(base, instances[0])
        found = {row.pk: row for row in await load_in(base, "pk", keys)} if keys else {}
        name = to_attr or self.name
        for obj in instances:
            obj.__dict__[name] = found.get(obj.__dict__.get(attname))
        return list(found.values())

    async def fetch(self, instance: Model) -> Model | None:
        """Load the relation of *instance* alone (one query)."""
        key = instance.__dict__[self.attname]
        related: Model = await on_database_of(self.target.objects.all(), instance).get(pk=key)
        instance.__dict__[self.name] = related
        return related


class ReverseRelation(Relation):
    """``post.comments``: the rows whose foreign key *fk* points at the instance."""

    to_many = True

    def __init__(self, fk: ForeignKey, name: str) -> None:
        super().__init__(name, fk.related_model)
        self.fk = fk

    @property
    def target(self) -> type[Model]:
        return self.fk.model

    def path_steps(self) -> list[JoinStep] | None:
        return [reverse_step(self.fk, self.name)]

    def _store(self, instance: Model, rows: list[Model], to_attr: str | None) -> None:
        instance.__dict__[to_attr or self.name] = rows

    async def load(
        self,
        instances: list[Model],
        queryset: QuerySet[Any] | None = None,
        to_attr: str | None = None,
    ) -> list[Model]:
        fk = self.fk
        keys = list({obj.pk for obj in instances})
        base = queryset if queryset is not None else fk.model.objects.all()
        base = on_database_of(base, instances[0])
        rows = await load_in(base, fk.attname, keys)
        groups: dict[Any, list[Model]] = {key: [] for key in keys}
        by_key = {obj.pk: obj for obj in instances}
        attname, name = fk.attname, fk.name
        for row in rows:
            key = row.__dict__[attname]
            groups[key].append(row)
            row.__dict__[name] = by_key[key]
        for obj in instances:
            self._store(obj, groups[obj.pk], to_attr)
        return rows

    async def count(self, keys: list[Any], peer: Model) -> dict[Any, int]:
        base = on_database_of(self.fk.model.objects.all(), peer)
        return await count_in(base, self.fk.attname, keys)


class ReverseOneRelation(ReverseRelation):
    """``user.profile``: the one row whose one-to-one key points at the instance, or None."""

    to_many = False

    def _store(self, instance: Model, rows: list[Model], to_attr: str | None) -> None:
        instance.__dict__[to_attr or self.name] = rows[0] if rows else None

    async def fetch(self, instance: Model) -> Model | None:
        """Load the relation of *instance* alone (one query)."""
        fk = self.fk
        base = on_database_of(fk.model.objects.all(), instance)
        found: Model | None = await base.filter(**{fk.attname: instance.pk}).first()
        instance.__dict__[self.name] = found
        return found


class ManyRelation(Relation):
    """One side of a many-to-many: from *source* rows to *target* rows through a join table.

    ``back_name`` is the relation of the other side, which leads from a target row back to
    its source rows (hidden, without an accessor, when that side has ``related_name="+"``).
    """

    to_many = True

    def __init__(
        self,
        name: str,
        source: type[Model],
        target: type[Model],
        through: type[Model],
        source_fk: ForeignKey,
        target_fk: ForeignKey,
    ) -> None:
        super().__init__(name, source)
        self._target = target
        self.through = through
        self.source_fk = source_fk
        self.target_fk = target_fk
        self.back_name = ""

    @property
    def target(self) -> type[Model]:
        return self._target

    def path_steps(self) -> list[JoinStep] | None:
        source_pk = self.source._meta.pk.column
        target_pk = self._target._meta.pk.column
        return [
            JoinStep(
                f"{self.name}+",
                self.through,
                source_pk,
                self.source_fk.column,
                nullable=True,
                many=True,
            ),
            JoinStep(
                self.name, self._target, self.target_fk.column, target_pk, nullable=True, many=True
            ),
        ]

    def steps(self) -> list[JoinStep]:
        """The two joins from a source row to its target rows."""
        steps = self.path_steps()
        assert steps is not None
        return steps

    async def load(
        self,
        instances: list[Model],
        queryset: QuerySet[Any] | None = None,
        to_attr: str | None = None,
    ) -> list[Model]:
        """One query: the join table's rows for these instances, each with its target row;
        with *queryset*, two: the links, then the targets from *queryset* (its filters,
        ordering, columns and annotations apply)."""
        keys = list({obj.pk for obj in instances})
        groups: dict[Any, list[Model]] = {key: [] for key in keys}
        if queryset is None:
            targets = await self._load_joined(keys, groups, instances[0])
        else:
            targets = await self._load_through(queryset, keys, groups, instances[0])
        name = to_attr or self.name
        for obj in instances:
            obj.__dict__[name] = groups[obj.pk]
        return targets

    async def _load_joined(
        self, keys: list[Any], groups: dict[Any, list[Model]], peer: Model
    ) -> list[Model]:
        links = await load_in(
            on_database_of(self.through.objects.select_related(self.target_fk.name), peer),
            self.source_fk.attname,
            keys,
        )
        targets: dict[Any, Model] = {}
        source_attname, target_name = self.source_fk.attname, self.target_fk.name
        for link in links:
            target = link.__dict__[target_name]
            target = targets.setdefault(target.pk, target)
            groups[link.__dict__[source_attname]].append(target)
        return list(targets.values())

    async def _load_through(
        self,
        queryset: QuerySet[Any],
        keys: list[Any],
        groups: dict[Any, list[Model]],
        peer: Model,
    ) -> list[Model]:
        source_attname = self.source_fk.attname
        pairs = await load_in(
            on_database_of(
                self.through.objects.values_list(source_attname, self.target_fk.attname), peer
            ),
            source_attname,
            keys,
        )
        wanted = list({target for _, target in pairs})
        rows = await load_in(on_database_of(queryset, peer), "pk", wanted) if wanted else []
        found = {row.pk: row for row in rows}
        # Each instance's rows in the queryset's order; rows it filtered out are left out.
        position = {key: index for index, key in enumerate(found)}
        for source, target in sorted(pairs, key=lambda pair: position.get(pair[1], -1)):
            row = found.get(target)
            if row is not None:
                groups[source].append(row)
        return rows

    async def count(self, keys: list[Any], peer: Model) -> dict[Any, int]:
        base = on_database_of(self.through.objects.all(), peer)
        return await count_in(base, self.source_fk.attname, keys)
