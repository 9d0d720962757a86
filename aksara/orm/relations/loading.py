"""How an unloaded relation loads: the lazy / peers / raise decision, and peers loading.

A QuerySet's result in mode ``"peers"`` (or any mode set on the QuerySet) shares one
:class:`Peers`: the first ``await`` of a relation on one row loads it for every row of the
result, and concurrent awaits of the same relation share that one load. Counts of to-many
relations (``await post.comments.count()``) load the same way, grouped in one query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Iterator
from typing import TYPE_CHECKING, Any

from aksara.conf import settings
from aksara.exceptions import AksaraError
from aksara.orm.relations.kinds import MISSING, ForwardRelation, Relation, ReverseOneRelation

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = [
    "Peers",
    "RelationNotLoadedError",
    "join_peers",
    "load_one",
    "peers_for",
    "remember_database",
]


class RelationNotLoadedError(AksaraError, AttributeError):
    """A relation was used as an instance before it was loaded."""


class Peers:
    """The rows of one query result, loading their relations together in *mode*."""

    __slots__ = ("_counts", "_loads", "mode", "rows")

    def __init__(self, mode: str, rows: list[Model]) -> None:
        self.mode = mode
        self.rows = rows
        self._loads: dict[Hashable, asyncio.Future[None]] = {}
        self._counts: dict[str, dict[Any, int]] = {}

    async def load(self, relation: Relation) -> None:
        """Load *relation* for every row that lacks it, in one load shared by every
        concurrent caller."""
        await self._shared(relation.name, lambda: self._load_lacking(relation))

    async def _load_lacking(self, relation: Relation) -> None:
        lacking = [row for row in self.rows if relation.needs_load(row)]
        if lacking:
            await relation.load(lacking)

    async def count(self, relation: Relation, instance: Model) -> int | None:
        """How many rows *relation* has for *instance*, counted for every row in one grouped
        query (shared like :meth:`load`); None when *instance* is not one of the rows."""
        counts = self._counts.setdefault(relation.name, {})
        key = instance.pk
        if key not in counts:
            await self._shared(("count", relation.name), lambda: self._count_lacking(relation))
        return counts.get(key)

    async def _count_lacking(self, relation: Relation) -> None:
        counts = self._counts.setdefault(relation.name, {})
        keys = list({row.pk for row in self.rows} - counts.keys() - {None})
        if keys:
            counts.update(await relation.count(keys, self.rows[0]))

    def forget_count(self, relation: Relation, instance: Model) -> None:
        """Drop the count of *relation* for *instance* (its rows changed)."""
        counts = self._counts.get(relation.name)
        if counts is not None:
            counts.pop(instance.pk, None)

    async def _shared(self, key: Hashable, start: Callable[[], Coroutine[Any, Any, None]]) -> None:
        load = self._loads.get(key)
        if load is None:
            # A task of its own: a waiter that is cancelled leaves the load to the others.
            load = asyncio.ensure_future(start())
            self._loads[key] = load
            load.add_done_callback(lambda done: self._finished(key, done))
        await asyncio.shield(load)

    def _finished(self, key: Hashable, load: asyncio.Future[None]) -> None:
        # A finished load leaves its results on the rows; a failed one is retried by the
        # next caller. Every waiter got the error; this marks it seen when none is left.
        if self._loads.get(key) is load:
            del self._loads[key]
        if not load.cancelled():
            load.exception()

    def __repr__(self) -> str:
        return f"<Peers {self.mode} of {len(self.rows)} rows>"


def _joined(rows: list[Model], related: tuple[str, ...]) -> Iterator[list[Model]]:
    """The distinct rows joined to *rows* at each level of the ``select_related`` paths."""
    levels = dict.fromkeys(
        "__".join(parts[:depth])
        for parts in (path.split("__") for path in related)
        for depth in range(1, len(parts) + 1)
    )
    for path in levels:
        joined: dict[int, Model] = {}
        for row in rows:
            value: Any = row
            for name in path.split("__"):
                value = value.__dict__.get(name)
                if value is None:
                    break
            if value is not None:
                joined[id(value)] = value
        if joined:
            yield list(joined.values())


def remember_database(rows: list[Model], alias: str, related: tuple[str, ...] = ()) -> None:
    """Note on *rows* (and the rows joined to them at *related*) the database they came from."""
    for row in rows:
        row._db = alias
    for joined in _joined(rows, related) if related else ():
        for row in joined:
            row._db = alias


def join_peers(rows: list[Model], mode: str, related: tuple[str, ...] = ()) -> None:
    """Make *rows* (one query's result) peers whose relations load in *mode*; so are the
    rows joined at each ``select_related`` path in *related* (``post``, ``post__author``)."""
    peers = Peers(mode, rows)
    for row in rows:
        row._peers = peers
    if not related:
        return
    for joined in _joined(rows, related):
        join_peers(joined, mode)


def peers_for(instance: Model, relation: Relation) -> Peers | None:
    """The one lazy / peers / raise decision for an unloaded *relation* of *instance*: the
    peers to load it over, None to load it for *instance* alone; raises when refused."""
    peers = instance._peers
    mode = settings.RELATION_LOADING if peers is None else peers.mode
    if mode == "raise":
        model = type(instance).__name__
        raise RelationNotLoadedError(
            f"{model}.{relation.name} was not loaded and relation loading is 'raise'. Load it "
            f"in the query with {relation.eager_load()}."
        )
    return peers if mode == "peers" else None


async def load_one(relation: ForwardRelation | ReverseOneRelation, instance: Model) -> Any:
    """Load a to-one *relation* of *instance* as :func:`peers_for` decides; return it."""
    peers = peers_for(instance, relation)
    if peers is not None:
        await peers.load(relation)
        value = relation.loaded(instance)
        if value is not MISSING:
            return value
    return await relation.fetch(instance)
