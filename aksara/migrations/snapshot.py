"""The models' columns as each revision leaves them, kept in the revision file.

Alembic describes the database's side of a change by reflection, whose types are the
database's own (``TEXT`` on SQLite for a String, a Date, a UUID...). A revision made that way
would only be right for the database it was made on. Each revision therefore records the
portable type of every column (``aksara_schema``), and the next revision takes the types of
what it changes, drops or restores from there: one revision file serves both databases.
"""

from __future__ import annotations

import pprint
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from alembic.script import ScriptDirectory

from aksara.migrations.types import Column

__all__ = ["Snapshot", "head_snapshot", "portable", "render_snapshot"]

#: table -> column -> (kind, options)
Snapshot = dict[str, dict[str, tuple[str, dict[str, Any]]]]

_CHECK_SUFFIXES = ("_max_length", "_range")


def render_snapshot(metadata: sa.MetaData) -> str:
    """The ``aksara_schema = {...}`` assignment of a revision for *metadata*."""
    snapshot: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for table in metadata.sorted_tables:
        columns = {}
        for column in table.columns:
            if isinstance(column.type, Column):
                options = {
                    k: v for k, v in column.type.options.items() if column.type.kind != "integer"
                }
                columns[column.name] = (column.type.kind, options)
        snapshot[table.name] = columns
    return "aksara_schema = " + pprint.pformat(snapshot, width=96, sort_dicts=True)


def head_snapshot(scripts: ScriptDirectory) -> Snapshot | None:
    """The columns as the head revision leaves them; None before the first revision."""
    heads = scripts.get_heads()
    if len(heads) != 1:
        return None
    script = scripts.get_revision(heads[0])
    found = getattr(script.module, "aksara_schema", None) if script is not None else None
    return found if isinstance(found, dict) else None


def _type(snapshot: Snapshot | None, table: str, column: str) -> Column | None:
    found = (snapshot or {}).get(table, {}).get(column)
    return None if found is None else Column(found[0], **found[1])


def _column(column: sa.Column[Any], kind: Column) -> sa.Column[Any]:
    extra: list[Any] = [sa.Identity(always=False)] if kind.kind == "auto" else []
    return sa.Column(
        column.name,
        kind,
        *extra,
        primary_key=column.primary_key,
        nullable=column.nullable,
        autoincrement=kind.kind == "auto",
    )


def _table(create: ops.CreateTableOp, snapshot: Snapshot | None) -> None:
    items: list[Any] = []
    auto = False
    for item in create.columns:
        if isinstance(item, sa.Column):
            kind = _type(snapshot, create.table_name, item.name)
            if kind is not None:
                auto = auto or kind.kind == "auto"
                item = _column(item, kind)
        elif isinstance(item, sa.CheckConstraint) and str(item.name or "").endswith(
            _CHECK_SUFFIXES
        ):
            continue  # the column types bring these
        items.append(item)
    create.columns = items
    if auto:
        create.kw["sqlite_autoincrement"] = True
    create.kw["sqlite_strict"] = True


def portable(upgrade: ops.UpgradeOps, snapshot: Snapshot | None) -> None:
    """Give the database's side of *upgrade*'s changes the recorded portable types."""
    for operation in upgrade.ops:
        if isinstance(operation, ops.DropTableOp) and operation._reverse is not None:
            _table(operation._reverse, snapshot)
        if not isinstance(operation, ops.ModifyTableOps):
            continue
        table = operation.table_name
        for inner in operation.ops:
            if isinstance(inner, ops.AlterColumnOp):
                inner.kw.pop("autoincrement", None)  # MySQL's alone: a warning elsewhere
                kind = _type(snapshot, table, inner.column_name)
                if kind is not None:
                    inner.existing_type = kind
            elif isinstance(inner, ops.DropColumnOp) and inner._reverse is not None:
                kind = _type(snapshot, table, inner.column_name)
                if kind is not None:
                    inner._reverse.column = _column(inner._reverse.column, kind)
