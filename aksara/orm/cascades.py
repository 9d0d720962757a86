"""The tables a DELETE reaches beyond its own: the database applies ON DELETE CASCADE and
SET NULL itself, so the ORM names those tables for the write notices."""

from __future__ import annotations

from aksara.db.writes import set_cascade_tables
from aksara.orm.field import CASCADE, SET_NULL
from aksara.orm.registry import registry
from aksara.orm.relations.fields import ForeignKey

__all__ = ["cascade_tables"]

_built: tuple[tuple[int, ...], dict[str, frozenset[str]]] = ((), {})


def cascade_tables(table: str) -> frozenset[str]:
    """The tables a delete from *table* may change through foreign keys (transitively)."""
    models = registry.models()
    shape = tuple(map(id, models))  # a model defined again changes it too
    global _built
    if _built[0] != shape:
        _built = (shape, _closure(models))
    return _built[1].get(table, frozenset())


def _closure(models: list[type]) -> dict[str, frozenset[str]]:
    direct: dict[str, set[tuple[str, bool]]] = {}
    for model in models:
        meta = model._meta  # type: ignore[attr-defined]
        for field in meta.fields:
            if isinstance(field, ForeignKey) and field.on_delete in (CASCADE, SET_NULL):
                target = field.related_model._meta.table_name
                deletes = field.on_delete == CASCADE
                direct.setdefault(target, set()).add((meta.table_name, deletes))
    reach: dict[str, frozenset[str]] = {}
    for table in direct:
        seen: set[str] = set()
        todo = [table]
        while todo:
            for child, deletes in direct.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    if deletes:  # SET NULL changes the child's rows but deletes none
                        todo.append(child)
        seen.discard(table)
        reach[table] = frozenset(seen)
    return reach


set_cascade_tables(cascade_tables)
