"""A project's migrations folder: created on first use, with the Alembic environment that
Aksara writes (``env.py`` calls :func:`aksara.migrations.environment.run_environment`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from aksara.migrations.errors import MigrationError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from aksara.db.database import Database
    from aksara.migrations.autogen import Decisions

__all__ = ["MigrationRun", "alembic_config", "ensure_folder", "script_directory"]

ENV_PY = '''"""Alembic's environment for this project's migrations, written by Aksara.

Leave it as it is: `aksara makemigrations` / `aksara migrate` configure everything.
"""

from aksara.migrations.environment import run_environment

run_environment()
'''

SCRIPT_TEMPLATE = '''"""${message}

Revision ID: ${up_revision}
Revises: ${(down_revision or "nothing: the first revision") | comma,n}
Create Date: ${create_date}

A data step runs Aksara queries in this revision's transaction:
    from aksara.migrations import run_data
    run_data(fill)  # in upgrade(), with `async def fill(ctx): await ctx.execute(...)`
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aksara.migrations import ops as aksara_ops
from aksara.migrations import types as aksara_types
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

#: The models' columns after this revision: Aksara writes the next revision from them.
${aksara_schema}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

README = """Schema migrations of this project, made by `aksara makemigrations` (Alembic revisions).
Apply them with `aksara migrate`; list them with `aksara showmigrations`.
"""


@dataclass
class MigrationRun:
    """What one command hands to the environment: the models' metadata, the database, the
    options of the run, and what it collects (the SQL of ``sqlmigrate``)."""

    metadata: sa.MetaData
    dialect: str
    database: Database | None = None
    decisions: Decisions | None = None
    allow_drop: bool = False
    connection: Any = None
    sql: list[str] = field(default_factory=list)


def ensure_folder(path: str | Path) -> Path:
    """Create the migrations folder at *path* (env.py, template, versions/) if missing."""
    folder = Path(path)
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    for name, text in (("env.py", ENV_PY), ("script.py.mako", SCRIPT_TEMPLATE), ("README", README)):
        target = folder / name
        if not target.exists():
            target.write_text(text)
    return folder


def alembic_config(path: str | Path, run: MigrationRun) -> Config:
    """An Alembic ``Config`` for the folder at *path*, carrying *run* to the environment."""
    folder = Path(path)
    if not (folder / "env.py").exists():
        raise MigrationError(
            f"No migrations folder at {folder.resolve()}: run `aksara makemigrations` to "
            "create it with the first revision, or set MIGRATIONS['path'] (--path)."
        )
    config = Config(cmd_opts=argparse.Namespace(quiet=True))  # Aksara reports, not Alembic
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(folder / "versions"))
    config.attributes["aksara"] = run
    return config


def script_directory(path: str | Path) -> ScriptDirectory:
    """The revisions of the folder at *path*."""
    config = Config()
    config.set_main_option("script_location", str(path))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(Path(path) / "versions"))
    return ScriptDirectory.from_config(config)
