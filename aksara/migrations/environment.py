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

from aksara.migrations.autogen import process_operations
from aksara.migrations.project import MigrationRun

__all__ = ["compare_server_default", "run_environment"]


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


def _process(migration: Any, revision: Any, directives: list[Any]) -> None:
    run: MigrationRun = migration.config.attributes["aksara"]
    script = directives[0]
    assert isinstance(script, ops.MigrationScript)
    if run.decisions is None:
        return
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
        "compare_type": True,
        "process_revision_directives": _process,
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
