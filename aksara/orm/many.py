"""Many-to-many relations: the join table, both sides' managers and their writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aksara.db.connections import get_database
from aksara.db.transaction import atomic
from aksara.exceptions import FieldError
from aksara.orm.fields import CASCADE, ForeignKey, ManyToMany
from aksara.orm.options import table_name_for
from aksara.orm.paths import JoinStep, Path
from aksara.orm.queryset import QuerySet
from aksara.orm.registry import registry
from aksara.orm.related import RelatedManager
from aksara.orm.where import Condition

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["ManyDescriptor", "ManyRelatedManager", "ManyRelation", "link_many"]


class ManyRelation:
    """One side of a many-to-many: from *source* rows to *target* rows through a join table."""

    def __init__(
        self,
        name: str,
        source: type[Model],
        target: type[Model],
        through: type[Model],
        source_fk: ForeignKey,
        target_fk: ForeignKey,
    ) -> None:
        self.name = name
        self.source = source
        self.target = target
        self.through = through
        self.source_fk = source_fk
        self.target_fk = target_fk

    def steps(self) -> list[JoinStep]:
        """The two joins from a source row to its target rows."""
        source_pk = self.source._meta.pk.column
        target_pk = self.target._meta.pk.column
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
                self.name, self.target, self.target_fk.column, target_pk, nullable=True, many=True
            ),
        ]

    def targets_of(self, key: Any) -> QuerySet[Any]:
        """The target rows linked to the source row whose primary key is *key*."""
        step = JoinStep(
            f"{self.name}+",
            self.through,
            self.target._meta.pk.column,
            self.target_fk.column,
            nullable=False,
            many=True,
        )
        queryset: QuerySet[Any] = QuerySet(self.target)
        queryset._where = (Condition(Path((step,), self.source_fk), "exact", key),)
        return queryset


def _make_through(field: ManyToMany, source: type[Model], target: type[Model]) -> type[Model]:
    from aksara.orm.models import Model
    from aksara.orm.options import _snake

    source_name, target_name = _snake(source.__name__), _snake(target.__name__)
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
    return type(name, (Model,), namespace)


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


def link_many(field: ManyToMany) -> None:
    """Make the join table (unless given) and install both sides' accessors."""
    try:
        target = field.related_model
        through = field.through
        if isinstance(through, str):
            through = registry.resolve(through, field.label)
    except FieldError:
        registry.defer(field, link_many)  # a model it names is defined later
        return
    source = field.model
    if through is None:
        through = _make_through(field, source, target)
    field.through = through
    source_fk, target_fk = _keys_of(through, source, target)
    source._meta.many_relations[field.name] = ManyRelation(
        field.name, source, target, through, source_fk, target_fk
    )
    reverse_name = field.related_name or table_name_for(source.__name__)
    if reverse_name.endswith("+"):
        return
    meta = target._meta
    existing = meta.many_relations.get(reverse_name)
    taken = reverse_name in meta.field_names or reverse_name in meta.reverse_relations
    if taken or (existing is not None and existing.through is not through):
        raise FieldError(
            f"{field.label}'s reverse accessor {target.__name__}.{reverse_name} clashes with "
            f"another attribute of {target.__name__}; give the ManyToMany a related_name=."
        )
    reverse = ManyRelation(reverse_name, target, source, through, target_fk, source_fk)
    meta.many_relations[reverse_name] = reverse
    setattr(target, reverse_name, ManyDescriptor(reverse_name))


class ManyDescriptor:
    """The class attribute of a many-to-many relation's reverse side (``tag.posts``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return ManyRelatedManager(instance._meta.many_relations[self.name], instance)


class ManyRelatedManager(RelatedManager):
    """The target rows linked to one instance; ``add``/``remove``/``set``/``clear`` edit the
    join table."""

    def __init__(self, relation: ManyRelation, instance: Model) -> None:
        self.model = relation.target
        self.relation = relation
        self.fk = relation.source_fk
        self.name = relation.name
        self.instance = instance

    def get_queryset(self) -> QuerySet[Any]:
        key = self.instance.pk
        if key is None:
            raise ValueError(
                f"{type(self.instance).__name__} must be saved before its {self.name} can be used."
            )
        return self.relation.targets_of(key)

    async def create(self, **values: Any) -> Any:
        """Create a target row and link it."""
        async with atomic():
            created = await self.relation.target.objects.create(**values)
            await self.add(created)
        return created

    def _keys(self, objects: Iterable[Any]) -> list[Any]:
        target = self.relation.target
        keys = []
        for obj in objects:
            if isinstance(obj, target):
                if obj.pk is None:
                    raise ValueError(f"Save the {target.__name__} before linking it.")
                keys.append(obj.pk)
            else:
                keys.append(self.relation.target_fk.target_field.to_python(obj))
        return keys

    def _forget(self) -> None:
        cache = self.instance.__dict__.get("_prefetched")
        if cache is not None:
            cache.pop(self.name, None)

    async def add(self, *objects: Any) -> None:
        """Link these target rows (instances or primary keys); existing links stay as they are."""
        keys = self._keys(objects)
        if not keys:
            return
        self.get_queryset()  # refuses an unsaved instance
        relation = self.relation
        database = get_database()
        dialect = database.dialect
        quote = dialect.quote
        columns = [relation.source_fk, relation.target_fk]
        source, params = dialect.rows_source(
            [fk.kind for fk in columns],
            [[self.instance.pk] * len(keys), keys],
            start=1,
        )
        names = ", ".join(quote(fk.column) for fk in columns)
        await database.execute(
            f"INSERT INTO {quote(relation.through._meta.table_name)} ({names}) {source} "
            "ON CONFLICT DO NOTHING",
            params,
            keeps_session=True,
        )
        self._forget()

    async def remove(self, *objects: Any) -> None:
        """Unlink these target rows."""
        keys = self._keys(objects)
        if keys:
            relation = self.relation
            await relation.through.objects.filter(
                **{
                    relation.source_fk.attname: self.instance.pk,
                    f"{relation.target_fk.attname}__in": keys,
                }
            ).delete()
        self._forget()

    async def clear(self) -> None:
        """Unlink every target row."""
        relation = self.relation
        await relation.through.objects.filter(
            **{relation.source_fk.attname: self.instance.pk}
        ).delete()
        self._forget()

    async def set(self, objects: Iterable[Any]) -> None:
        """Link exactly these target rows: unlink the others, link the missing ones."""
        wanted = self._keys(objects)
        relation = self.relation
        async with atomic():
            current = await relation.through.objects.filter(
                **{relation.source_fk.attname: self.instance.pk}
            ).values_list(relation.target_fk.attname, flat=True)
            stale = set(current) - set(wanted)
            if stale:
                await self.remove(*stale)
            missing = [key for key in dict.fromkeys(wanted) if key not in set(current)]
            if missing:
                await self.add(*missing)
        self._forget()
