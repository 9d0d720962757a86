"""Write notices: after a statement that changed rows commits, the tables it wrote are
announced to the hooks registered here (the cache's table versions). Inside ``atomic()``
they wait for the outermost commit; a rolled-back write announces nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

__all__ = [
    "EVERY_TABLE",
    "WriteHook",
    "add_write_hook",
    "announce_writes",
    "deleted_tables",
    "remove_write_hook",
    "set_cascade_tables",
    "write_hooks",
]

#: Stands for every table, in the set of a write whose tables could not be told.
EVERY_TABLE = "*"

#: Called with the tables a committed write changed (EVERY_TABLE among them when unknown).
WriteHook = Callable[[frozenset[str]], Awaitable[None]]

logger = logging.getLogger("aksara.db.writes")

_hooks: list[WriteHook] = []
# table -> the tables its deletes change through foreign keys (set by the ORM).
_cascades: list[Callable[[str], frozenset[str]]] = []


def set_cascade_tables(function: Callable[[str], frozenset[str]]) -> None:
    """Name the tables a DELETE from a table also changes (ON DELETE CASCADE / SET NULL)."""
    _cascades[:] = [function]


def deleted_tables(tables: frozenset[str]) -> frozenset[str]:
    """*tables* and those their deletes reach through foreign keys."""
    if not _cascades:
        return tables
    reach = _cascades[0]
    return tables.union(*(reach(table) for table in tables))


def add_write_hook(hook: WriteHook) -> None:
    """Announce every committed write of this process to *hook* (once per hook)."""
    if hook not in _hooks:
        _hooks.append(hook)


def remove_write_hook(hook: WriteHook) -> None:
    """Stop announcing writes to *hook*."""
    if hook in _hooks:
        _hooks.remove(hook)


def write_hooks() -> tuple[WriteHook, ...]:
    """The hooks that committed writes are announced to."""
    return tuple(_hooks)


async def announce_writes(tables: frozenset[str]) -> None:
    """Run every hook for *tables*; a failing hook is logged, never raised: the write
    it announces has already committed."""
    for hook in tuple(_hooks):
        try:
            await hook(tables)
        except Exception:
            logger.exception("Announcing a write to %r failed", hook)
