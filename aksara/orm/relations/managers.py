"""The managers of to-many relations: ``post.comments`` and ``post.tags`` / ``tag.posts``.

After ``prefetch_related("comments")`` (or a peers load) a manager iterates the rows in
memory; before it, iterating raises instead of querying, and ``await post.comments.all()``
runs the query. ``count()`` and ``exists()`` use loaded rows when there are some, and under
peers loading count every peer's rows in one grouped query.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from aksara.db.connections import db_for_write
from aksara.db.database import Database
from aksara.db.transaction import atomic
from aksara.orm.manager import Manager
from aksara.orm.queryset import QuerySet
from aksara.orm.relations.kinds import MISSING, ManyRelation, ReverseRelation, on_database_of
from aksara.orm.relations.loading import Peers, RelationNotLoadedError, peers_for

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = ["LoadedList", "ManyRelatedManager", "RelatedManager"]


class LoadedList(list[Any]):
    """Related rows already in memory; awaiting it gives itself (no query)."""

    def __await__(self) -> Generator[Any, None, LoadedList]:
        return self._itself().__await__()

    async def _itself(self) -> LoadedList:
        return self


class RelatedManager(Manager[Any]):
    """The rows of a reverse relation's model whose foreign key points at one instance."""

    relation: ReverseRelation | ManyRelation

    def __init__(self, relation: ReverseRelation, instance: Model) -> None:
        self.relation = relation
        self.model = relation.target
        self.fk = relation.fk
        self.name = relation.name
        self.instance = instance

    def _key(self) -> Any:
        key = self.instance.pk
        if key is None:
            raise ValueError(
                f"{type(self.instance).__name__} must be saved before its {self.name} can be used."
            )
        return key

    def get_queryset(self) -> QuerySet[Any]:
        queryset = QuerySet(self.model).filter(**{self.fk.attname: self._key()})
        return on_database_of(queryset, self.instance)

    def _write_database(self, model: type[Model] | None = None) -> Database:
        """Where the relation's writes go: the routers', else the instance's database
        (the primary for an instance read from a replica)."""
        return db_for_write(model or self.model, instance=self.instance)

    def loaded(self) -> list[Any] | None:
        """The prefetched rows, or None when they were not loaded."""
        rows = self.relation.loaded(self.instance)
        return None if rows is MISSING else rows

    def all(self) -> Any:
        """The related rows: in memory when loaded, else an awaitable that loads them."""
        rows = self.loaded()
        if rows is not None:
            return LoadedList(rows)
        peers = peers_for(self.instance, self.relation)
        if peers is not None:
            return self._load_peers(peers)
        return self.get_queryset()

    async def _load_peers(self, peers: Peers) -> LoadedList:
        await peers.load(self.relation)
        rows = self.loaded()
        return LoadedList(await self.get_queryset() if rows is None else rows)

    async def count(self) -> int:
        """How many related rows: no query when they are loaded, one grouped query for
        every peer under peers loading."""
        rows = self.loaded()
        if rows is not None:
            return len(rows)
        peers = peers_for(self.instance, self.relation)
        if peers is not None:
            self._key()
            count = await peers.count(self.relation, self.instance)
            if count is not None:
                return count
        return await self.get_queryset().count()

    async def exists(self) -> bool:
        """Whether there is a related row, found like :meth:`count`."""
        rows = self.loaded()
        if rows is not None:
            return bool(rows)
        peers = peers_for(self.instance, self.relation)
        if peers is not None:
            self._key()
            count = await peers.count(self.relation, self.instance)
            if count is not None:
                return count > 0
        return await self.get_queryset().exists()

    def _changed(self) -> None:
        """Forget a count of the rows (they changed)."""
        peers = self.instance._peers
        if peers is not None:
            peers.forget_count(self.relation, self.instance)

    async def create(self, **values: Any) -> Any:
        """Create a related row pointing at the instance."""
        values[self.fk.name] = self.instance
        self._key()
        alias = self._write_database().alias
        created = await QuerySet(self.model).using(alias).create(**values)
        rows = self.loaded()
        if rows is not None:
            rows.append(created)
        self._changed()
        return created

    def _rows(self) -> list[Any]:
        rows = self.loaded()
        if rows is None:
            model = type(self.instance).__name__
            raise RelationNotLoadedError(
                f"{model}.{self.name} was not prefetched, so it cannot be iterated without a "
                f'query. Use {model}.objects.prefetch_related("{self.name}"), or '
                f"`await obj.{self.name}.all()` to fetch them."
            )
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())

    def __getitem__(self, index: int) -> Any:
        return self._rows()[index]

    def __bool__(self) -> bool:
        return bool(self._rows())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {type(self.instance).__name__}.{self.name}>"


class ManyRelatedManager(RelatedManager):
    """The target rows linked to one instance; ``add``/``remove``/``set``/``clear`` edit the
    join table."""

    relation: ManyRelation

    def __init__(self, relation: ManyRelation, instance: Model) -> None:
        self.relation = relation
        self.model = relation.target
        self.fk = relation.source_fk
        self.name = relation.name
        self.instance = instance

    def get_queryset(self) -> QuerySet[Any]:
        queryset = QuerySet(self.model).filter(**{self.relation.back_name: self._key()})
        return on_database_of(queryset, self.instance)

    def _links(self) -> QuerySet[Any]:
        """The join table's rows, on the database the links are written to."""
        through = self.relation.through
        alias = self._write_database(through).alias
        return through.objects.using(alias).filter(
            **{self.relation.source_fk.attname: self.instance.pk}
        )

    async def create(self, **values: Any) -> Any:
        """Create a target row and link it."""
        database = self._write_database()
        async with atomic(database):
            created = await self.relation.target.objects.using(database.alias).create(**values)
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

    def _changed(self) -> None:
        """Forget the loaded rows and count (the links changed)."""
        self.instance.__dict__.pop(self.name, None)
        super()._changed()

    async def add(self, *objects: Any) -> None:
        """Link these target rows (instances or primary keys); existing links stay as they are."""
        keys = self._keys(objects)
        if not keys:
            return
        source_key = self._key()  # refuses an unsaved instance
        relation = self.relation
        database = self._write_database(relation.through)
        dialect = database.dialect
        quote = dialect.quote
        columns = [relation.source_fk, relation.target_fk]
        source, params = dialect.rows_source(
            [fk.kind for fk in columns],
            [[source_key] * len(keys), keys],
            start=1,
        )
        names = ", ".join(quote(fk.column) for fk in columns)
        await database.execute(
            f"INSERT INTO {quote(relation.through._meta.table_name)} ({names}) {source} "
            "ON CONFLICT DO NOTHING",
            params,
            keeps_session=True,
        )
        self._changed()

    async def remove(self, *objects: Any) -> None:
        """Unlink these target rows."""
        keys = self._keys(objects)
        if keys:
            target = self.relation.target_fk.attname
            await self._links().filter(**{f"{target}__in": keys}).delete()
        self._changed()

    async def clear(self) -> None:
        """Unlink every target row."""
        await self._links().delete()
        self._changed()

    async def set(self, objects: Iterable[Any]) -> None:
        """Link exactly these target rows: unlink the others, link the missing ones."""
        wanted = self._keys(objects)
        relation = self.relation
        async with atomic(self._write_database(relation.through)):
            current = await self._links().values_list(relation.target_fk.attname, flat=True)
            stale = set(current) - set(wanted)
            if stale:
                await self.remove(*stale)
            missing = [key for key in dict.fromkeys(wanted) if key not in set(current)]
            if missing:
                await self.add(*missing)
        self._changed()
