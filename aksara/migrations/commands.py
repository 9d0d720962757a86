"""The migration commands, from Python: ``makemigrations``, ``migrate``, ``showmigrations``,
``sqlmigrate`` and the ``--check`` of CI. ``aksara.cli`` only parses their arguments."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.migration import MigrationContext
from alembic.script import Script
from alembic.util import exc as alembic_errors
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import DBAPIError

from aksara.conf import settings
from aksara.db.connections import get_database
from aksara.db.database import Database
from aksara.db.url import parse_url
from aksara.migrations.autogen import Decisions
from aksara.migrations.connection import migration_connection
from aksara.migrations.errors import MigrationError
from aksara.migrations.metadata import model_metadata
from aksara.migrations.project import (
    MigrationRun,
    alembic_config,
    ensure_folder,
    script_directory,
)
from aksara.orm.models import Model
from aksara.orm.registry import registry

__all__ = [
    "MigrationState",
    "check_migrations",
    "make_migrations",
    "migrate",
    "show_migrations",
    "sql_migrate",
]


@dataclass(frozen=True, slots=True)
class MigrationState:
    """One revision of the folder and whether the database has it applied."""

    revision: str
    message: str
    applied: bool
    down_revision: str | None


def _folder(path: str | Path | None) -> Path:
    return Path(path if path is not None else settings.MIGRATIONS["path"])


def project_models(modules: Sequence[str | type[Model]] | None = None) -> list[type[Model]]:
    """The models migrations manage: those defined in *modules* (names, imported here when
    no model of theirs is registered yet; model classes are taken as they are, with their
    join tables), by default ``MIGRATIONS["models"]``, or every registered model."""
    names = list(modules) if modules is not None else list(settings.MIGRATIONS["models"])
    known = [model for model in registry.models() if not model._meta.abstract]
    if not names:
        if not known:
            raise MigrationError(
                "No models are defined: name the modules defining your Model subclasses in "
                "MIGRATIONS['models'] (or --models myapp.models)."
            )
        return known
    classes: list[type[Model]] = [name for name in names if not isinstance(name, str)]
    prefixes = [name for name in names if isinstance(name, str)]
    for name in prefixes:
        if not any(_within(model, name) for model in known):
            importlib.import_module(name)
    chosen = []
    for model in registry.models():
        if model._meta.abstract:
            continue
        through = any(
            relation.through is model
            for owner in classes
            for relation in owner._meta.many_relations.values()
        )
        if model in classes or through or any(_within(model, name) for name in prefixes):
            chosen.append(model)
    if not chosen:
        raise MigrationError(
            f"{', '.join(map(str, names))} define no models: name the modules defining your "
            "Model subclasses in MIGRATIONS['models'] (or --models)."
        )
    return chosen


def _within(model: type[Model], module: str) -> bool:
    return model.__module__ == module or model.__module__.startswith(module + ".")


def _run(
    database: Database, models: Sequence[str | type[Model]] | None, **options: Any
) -> MigrationRun:
    metadata = model_metadata(project_models(models))
    return MigrationRun(metadata, parse_url(database.url).backend, database=database, **options)


async def _on_connection(
    database: Database, run: MigrationRun, work: Callable[[], Any], *, lock: bool = False
) -> Any:
    async with migration_connection(database.url, lock=lock) as runner:

        def call(connection: SAConnection) -> Any:
            run.connection = connection
            try:
                return work()
            except alembic_errors.CommandError as error:
                raise MigrationError(str(error)) from error
            except DBAPIError as error:
                raise MigrationError(
                    f"The database refused a statement: {error.orig}. The revision it belongs "
                    "to was rolled back; the database is at the revision before it. "
                    f"(Statement: {error.statement})"
                ) from error

        return await runner.run(call)


async def make_migrations(
    message: str = "",
    *,
    empty: bool = False,
    renames: Sequence[str] = (),
    allow_drop: bool = False,
    prompt: Callable[[str], bool] | None = None,
    concurrently: bool = False,
    path: str | Path | None = None,
    models: Sequence[str | type[Model]] | None = None,
    database: Database | None = None,
) -> Path | None:
    """Write a revision for the difference between the models and the database (which must
    have every revision applied); return its file, or None when nothing changed.

    The folder is created on first use. ``renames`` (``table.old:new``) and ``prompt``
    decide drop + add pairs that may be renames; without either, they are refused.
    """
    database = database or get_database()
    folder = ensure_folder(_folder(path))
    decisions = Decisions(list(renames), allow_drop, prompt, concurrently, empty)
    run = _run(database, models, decisions=decisions)
    config = alembic_config(folder, run)
    text = message or ("empty" if empty else "auto")

    def write() -> Any:
        return command.revision(config, message=text, autogenerate=not empty)

    script = await _on_connection(database, run, write)
    if isinstance(script, list):
        script = script[0] if script else None
    return Path(script.path) if isinstance(script, Script) else None


async def check_migrations(
    *,
    path: str | Path | None = None,
    models: Sequence[str | type[Model]] | None = None,
    database: Database | None = None,
) -> list[str]:
    """The differences between the models and the migrations, as applied to the database
    (which must be up to date); an empty list when they agree."""
    database = database or get_database()
    run = _run(database, models)
    config = alembic_config(_folder(path), run)

    def check() -> list[str]:
        try:
            command.check(config)
        except alembic_errors.AutogenerateDiffsDetected as error:
            return [_describe(diff) for diff in error.diffs]
        return []

    found: list[str] = await _on_connection(database, run, check)
    return found


def _describe(diff: Any) -> str:
    """One line for one of Alembic's differences: ``add_column mt_notes.title`` and so on."""
    if isinstance(diff, list):
        return "; ".join(_describe(item) for item in diff)
    action, *rest = diff
    if action.startswith("modify_"):
        table, column = rest[1], rest[2]
        return f"{action} {table}.{column}: {rest[4]!r} -> {rest[5]!r}"
    names = []
    for item in rest:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if isinstance(item, str):
            names.append(item)
        elif name is not None:
            names.append(f"{table}.{name}" if table and table != name else str(name))
    return f"{action} {' '.join(names)}".strip()


def _direction(config: Any, connection: SAConnection, target: str) -> str:
    if target in ("zero", "base"):
        return "downgrade"
    scripts = script_directory(config.get_main_option("script_location"))
    current = MigrationContext.configure(connection).get_current_heads()
    if not current or target in ("head", "heads"):
        return "upgrade"
    try:
        wanted = scripts.get_revision(target)
    except alembic_errors.CommandError as error:
        raise MigrationError(f"No revision {target!r} in the migrations folder: {error}") from error
    below = {
        revision.revision
        for head in current
        for revision in scripts.iterate_revisions(head, "base")
        if revision is not None
    }
    return "downgrade" if wanted.revision in below and wanted.revision not in current else "upgrade"


async def migrate(
    target: str = "heads",
    *,
    allow_drop: bool = False,
    path: str | Path | None = None,
    models: Sequence[str | type[Model]] | None = None,
    database: Database | None = None,
) -> list[str]:
    """Apply the revisions up to *target* (default: all), or go back down to it (``zero``:
    before the first); return the revisions the database is at afterwards.

    On PostgreSQL an advisory lock makes concurrent runs wait, so each revision runs once;
    each revision runs in its own transaction, so a failed one leaves the previous state.
    """
    database = database or get_database()
    run = _run(database, models, allow_drop=allow_drop)
    config = alembic_config(_folder(path), run)

    def apply() -> list[str]:
        connection = run.connection
        direction = _direction(config, connection, target)
        if connection.in_transaction():
            connection.commit()
        if direction == "downgrade":
            command.downgrade(config, "base" if target == "zero" else target)
        else:
            command.upgrade(config, target)
        if connection.in_transaction():
            connection.commit()
        return list(MigrationContext.configure(connection).get_current_heads())

    heads: list[str] = await _on_connection(database, run, apply, lock=True)
    return heads


async def show_migrations(
    *, path: str | Path | None = None, database: Database | None = None
) -> list[MigrationState]:
    """Every revision of the folder, oldest first, with whether the database has it."""
    database = database or get_database()
    folder = _folder(path)
    alembic_config(folder, MigrationRun(model_metadata([]), ""))  # the folder must exist
    scripts = script_directory(folder)

    def read(connection: SAConnection) -> set[str]:
        heads = MigrationContext.configure(connection).get_current_heads()
        applied = set()
        for head in heads:
            for revision in scripts.iterate_revisions(head, "base"):
                if revision is not None:
                    applied.add(revision.revision)
        return applied

    async with migration_connection(database.url) as runner:
        applied = await runner.run(read)
    revisions = list(scripts.walk_revisions())
    revisions.reverse()
    return [
        MigrationState(
            script.revision,
            script.doc or "",
            script.revision in applied,
            script.down_revision if isinstance(script.down_revision, str | None) else None,
        )
        for script in revisions
    ]


def sql_migrate(
    revision: str,
    *,
    dialect: str | None = None,
    downgrade: bool = False,
    path: str | Path | None = None,
) -> str:
    """The SQL of *revision* (from its parent; ``downgrade``: back to its parent) for
    *dialect* (default: DATABASE_URL's), without connecting to a database."""
    folder = _folder(path)
    name = dialect or parse_url(settings.DATABASE_URL).backend
    run = MigrationRun(model_metadata([]), name)
    config = alembic_config(folder, run)
    scripts = script_directory(folder)
    try:
        script = scripts.get_revision(revision)
    except alembic_errors.CommandError as error:
        raise MigrationError(str(error)) from error
    if script is None:
        raise MigrationError(f"No revision {revision!r} in {folder}.")
    parent = script.down_revision if isinstance(script.down_revision, str) else None
    span = (
        f"{script.revision}:{parent or 'base'}"
        if downgrade
        else f"{parent or 'base'}:{script.revision}"
    )
    try:
        if downgrade:
            command.downgrade(config, span, sql=True)
        else:
            command.upgrade(config, span, sql=True)
    except alembic_errors.CommandError as error:
        if name == "sqlite" and "live database" in str(error):
            raise MigrationError(
                f"Revision {script.revision} rebuilds a SQLite table, which reads the table "
                "from the database; sqlmigrate connects to none. Show it with --dialect "
                "postgresql, or apply it to a copy of the database."
            ) from error
        raise MigrationError(str(error)) from error
    return "".join(run.sql)
