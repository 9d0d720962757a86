"""The body of every migrations folder's ``env.py``: configures Alembic for Aksara's models.

Online, it runs on the connection the command opened (one transaction per revision, SQLite
in batch mode); offline (``sqlmigrate``) it writes the SQL of the revisions instead.
"""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.operations import ops
from alembic.script import ScriptDirectory

from aksara.migrations.autogen import process_operations
from aksara.migrations.project import MigrationRun
from aksara.migrations.snapshot import head_snapshot, portable, render_snapshot
from aksara.migrations.types import Column
from aksara.orm.options import identifier

__all__ = ["compare_server_default", "compare_type", "run_environment"]


def compare_server_default(
    migration: Any,
    inspected: sa.Column[Any],
    declared: sa.Column[Any],
    inspected_default: Any,
    declared_default: Any,
    rendered: Any,
) -> bool | None:
    """SQLite has no identity columns: its ``AUTOINCREMENT`` key is the same thing."""
    if isinstance(declared_default, sa.Identity):
        return False
    return None


def compare_type(
    migration: Any,
    inspected: sa.Column[Any],
    declared: sa.Column[Any],
    inspected_type: Any,
    declared_type: Any,
) -> bool | None:
    """On SQLite a String's length and an Integer's range live in CHECK constraints, not in
    the type: a column whose CHECKs differ from its field's has changed type."""
    if migration.dialect.name != "sqlite" or not isinstance(declared_type, Column):
        return None
    table = declared.table.name
    cache = migration.opts.setdefault("aksara_checks", {})
    if table not in cache:
        inspector = sa.inspect(migration.bind)
        cache[table] = {
            str(check["name"]): " ".join(str(check["sqltext"]).split())
            for check in inspector.get_check_constraints(table)
        }
    found = cache[table]
    for suffix, sql in declared_type.checks(declared.name):
        if found.get(identifier(table, declared.name, suffix=suffix)) != sql:
            return True
    for suffix in ("max_length", "range"):
        name = identifier(table, declared.name, suffix=suffix)
        if name in found and all(suffix != own for own, _ in declared_type.checks(declared.name)):
            return True
    return None


def _process(migration: Any, revision: Any, directives: list[Any]) -> None:
    run: MigrationRun = migration.config.attributes["aksara"]
    script = directives[0]
    assert isinstance(script, ops.MigrationScript)
    if run.decisions is None:
        return
    run.decisions.dialect = migration.dialect
    upgrade = script.upgrade_ops
    assert isinstance(upgrade, ops.UpgradeOps)
    portable(upgrade, head_snapshot(ScriptDirectory.from_config(migration.config)))
    process_operations(script, run.decisions, run.metadata.tables)
    upgrade = script.upgrade_ops
    if not run.decisions.empty and isinstance(upgrade, ops.UpgradeOps) and upgrade.is_empty():
        directives[:] = []  # nothing changed: no revision


def run_environment() -> None:
    """Configure Alembic for the command in progress and run its migrations."""
    config = context.config
    run: MigrationRun = config.attributes["aksara"]
    common: dict[str, Any] = {
        "target_metadata": run.metadata,
        "transaction_per_migration": True,
        "user_module_prefix": "aksara_types.",
        "render_as_batch": run.dialect == "sqlite",
        "compare_type": compare_type,
        "process_revision_directives": _process,
        "template_args": {"aksara_schema": render_snapshot(run.metadata)},
    }
    if context.is_offline_mode():
        buffer = io.StringIO()
        context.configure(
            dialect_name=run.dialect, literal_binds=True, output_buffer=buffer, **common
        )
        with context.begin_transaction():
            context.run_migrations()
        run.sql.append(buffer.getvalue())
        return
    context.configure(
        connection=run.connection,
        compare_server_default=compare_server_default if run.dialect == "sqlite" else True,
        **common,
    )
    with context.begin_transaction():
        context.run_migrations()
