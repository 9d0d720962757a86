"""Schema: CREATE / DROP of the models' tables, constraints and indexes, in dependency order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from aksara.db.connections import get_database
from aksara.db.database import Database
from aksara.db.transaction import atomic
from aksara.exceptions import FieldError
from aksara.orm.fields import PROTECT, ForeignKey
from aksara.orm.options import identifier
from aksara.orm.registry import registry

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model

__all__ = ["create_tables", "drop_tables", "schema_sql"]


def _ordered(models: Iterable[type[Model]]) -> list[type[Model]]:
    """Models with every foreign-key target before the models pointing at it."""
    pending = [model for model in models if not model._meta.abstract]
    chosen = set(pending)
    ordered: list[type[Model]] = []
    placed: set[type[Model]] = set()
    while pending:
        progress = False
        for model in list(pending):
            targets = {fk.related_model for fk in model._meta.foreign_keys} - {model}
            if all(target in placed or target not in chosen for target in targets):
                ordered.append(model)
                placed.add(model)
                pending.remove(model)
                progress = True
        if not progress:
            names = ", ".join(model.__name__ for model in pending)
            raise FieldError(
                f"Foreign keys form a cycle between {names}; Aksara cannot order them."
            )
    return ordered


def _table_sql(model: type[Model], dialect: Dialect) -> list[str]:
    meta = model._meta
    quote = dialect.quote
    table = meta.table_name
    lines = []
    constraints = []
    for field in meta.fields:
        column = quote(field.column)
        if field.kind == "auto":
            lines.append(f"{column} {dialect.auto_pk_column()}")
            continue
        options = field.column_options()
        limit = dialect.max_decimal_digits
        if field.kind == "decimal" and limit is not None and options["max_digits"] > limit:
            raise FieldError(
                f"{field.label}: {dialect.name} stores a Decimal exactly up to {limit} digits "
                f"(a scaled 64-bit integer), and this one has max_digits="
                f"{options['max_digits']}. Lower max_digits to {limit}, or use PostgreSQL."
            )
        definition = f"{column} {dialect.column_type(field.kind, options)}"
        definition += " NULL" if field.null else " NOT NULL"
        if field.primary_key:
            definition += " PRIMARY KEY"
        lines.append(definition)
        if field.unique and not field.primary_key:
            name = quote(meta.unique_constraint_name(field))
            constraints.append(f"CONSTRAINT {name} UNIQUE ({column})")
        max_length = getattr(field, "max_length", None)
        if max_length is not None:
            check = dialect.length_check(column, max_length)
            if check is not None:
                name = quote(identifier(table, field.column, suffix="max_length"))
                constraints.append(f"CONSTRAINT {name} CHECK ({check})")
        check = dialect.range_check(column, field.kind, options)
        if check is not None:
            name = quote(identifier(table, field.column, suffix="range"))
            constraints.append(f"CONSTRAINT {name} CHECK ({check})")
        if isinstance(field, ForeignKey):
            target = field.related_model._meta
            action = "RESTRICT" if field.on_delete == PROTECT else field.on_delete
            constraints.append(
                f"CONSTRAINT {quote(field.constraint_name())} FOREIGN KEY ({column}) "
                f"REFERENCES {quote(target.table_name)} ({quote(target.pk.column)}) "
                f"ON DELETE {action}"
            )
    for names in meta.unique_together:
        together = [meta.get_field(name).column for name in names]
        constraint = quote(identifier(table, *together, suffix="key"))
        constraints.append(
            f"CONSTRAINT {constraint} UNIQUE ({', '.join(quote(c) for c in together)})"
        )
    body = ",\n    ".join(lines + constraints)
    statements = [
        f"CREATE TABLE IF NOT EXISTS {quote(table)} (\n    {body}\n){dialect.table_suffix}"
    ]
    for index in meta.bind_indexes():
        assert index.name is not None
        columns = ", ".join(quote(column) for column in index.columns)
        unique = "UNIQUE " if index.unique else ""
        where = f" WHERE {index.condition}" if index.condition else ""
        statements.append(
            f"CREATE {unique}INDEX IF NOT EXISTS {quote(index.name)} ON {quote(table)} "
            f"({columns}){where}"
        )
    return statements


def schema_sql(
    models: Sequence[type[Model]] | None = None, *, dialect: Dialect | None = None
) -> list[str]:
    """The statements :func:`create_tables` runs, for review or migrations."""
    dialect = dialect or get_database().dialect
    statements: list[str] = []
    for model in _ordered(models if models is not None else registry.models()):
        statements.extend(_table_sql(model, dialect))
    return statements


async def create_tables(
    models: Sequence[type[Model]] | None = None, *, database: Database | None = None
) -> None:
    """Create the tables, constraints and indexes of *models* (default: every model).

    Idempotent: what exists already is left as it is.
    """
    database = database or get_database()
    statements = schema_sql(models, dialect=database.dialect)
    async with atomic(database):
        for statement in statements:
            await database.execute(statement, keeps_session=True)


async def drop_tables(
    models: Sequence[type[Model]] | None = None, *, database: Database | None = None
) -> None:
    """Drop the tables of *models* (default: every model); missing tables are no error."""
    database = database or get_database()
    dialect = database.dialect
    ordered = _ordered(models if models is not None else registry.models())
    async with atomic(database):
        for model in reversed(ordered):
            table = dialect.quote(model._meta.table_name)
            await database.execute(
                f"DROP TABLE IF EXISTS {table}{dialect.drop_table_suffix}", keeps_session=True
            )
