"""SQLite table rebuilds (Alembic's batch mode) that keep what Aksara's tables have.

Alembic rebuilds a SQLite table from its reflection under a temporary name, then renames it.
Reflection keeps the named CHECK constraints but not the table's ``STRICT`` and
``AUTOINCREMENT``, and a CHECK of a dropped or retyped column would stay. Just before the
new table is created, this puts the two options back and keeps only the CHECKs of columns
still there whose type did not change (changed and added columns bring their own).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from aksara.migrations.types import Column
from aksara.orm.options import identifier

__all__ = ["MIGRATION_FLAG", "TEMPORARY_PREFIX", "install"]

#: Alembic's name for the table being rebuilt: ``_alembic_tmp_<table>``.
TEMPORARY_PREFIX = "_alembic_tmp_"
#: Key of ``Connection.info`` set on the connections Aksara migrates with.
MIGRATION_FLAG = "aksara_migration"
_SUFFIXES = ("max_length", "range")
_STRICT = re.compile(r"\)\s*STRICT\s*$", re.IGNORECASE)
_installed = False


def _before_create(table: sa.Table, connection: Any, **kw: Any) -> None:
    if not table.name.startswith(TEMPORARY_PREFIX) or connection.dialect.name != "sqlite":
        return
    if not connection.info.get(MIGRATION_FLAG):
        return
    name = table.name[len(TEMPORARY_PREFIX) :]
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).scalar()
    if sql:
        options = table.dialect_options["sqlite"]
        if _STRICT.search(sql):
            options["strict"] = True
        if "AUTOINCREMENT" in sql.upper():
            options["autoincrement"] = True
    kept: set[str] = set()
    for column in table.columns:
        if not isinstance(column.type, Column):  # unchanged: its reflected CHECKs stay
            kept.update(identifier(name, column.name, suffix=suffix) for suffix in _SUFFIXES)
    for constraint in list(table.constraints):
        if not isinstance(constraint, sa.CheckConstraint) or constraint._type_bound:
            continue
        label = str(constraint.name or "")
        if label.endswith(_SUFFIXES) and label not in kept:
            table.constraints.discard(constraint)


def install() -> None:
    """Listen for table creations (once per process); only Aksara's migrations are touched."""
    global _installed
    if not _installed:
        event.listen(sa.Table, "before_create", _before_create)
        _installed = True
