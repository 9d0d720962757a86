"""SQLAlchemy ``MetaData`` derived from Aksara's models, for Alembic to compare and render.

It describes exactly what :func:`aksara.create_tables` builds (the same names for indexes,
unique and foreign-key constraints, the same types and nullability), so a database made by
either has no difference for Alembic to find. SQLAlchemy never runs Aksara's queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aksara.db.dialects import SQLiteDialect
from aksara.migrations.types import Column
from aksara.orm.fields import PROTECT, ForeignKey
from aksara.orm.options import identifier
from aksara.orm.registry import registry
from aksara.orm.schema import _ordered

if TYPE_CHECKING:
    from aksara.orm.field import Field
    from aksara.orm.models import Model

__all__ = ["column_type", "model_metadata"]


def column_type(field: Field) -> Column:
    """The portable column type of *field*."""
    return Column(field.kind, **field.column_options())


def _column(field: Field) -> sa.Column[Any]:
    if field.kind == "auto":
        return sa.Column(
            field.column,
            column_type(field),
            sa.Identity(always=False),
            primary_key=True,
            autoincrement=True,
            nullable=False,
            info={"aksara_field": field},
        )
    return sa.Column(
        field.column,
        column_type(field),
        primary_key=field.primary_key,
        autoincrement=False,
        nullable=field.null,
        info={"aksara_field": field},
    )


def _table(model: type[Model], metadata: sa.MetaData) -> sa.Table:
    meta = model._meta
    table_name = meta.table_name
    items: list[Any] = [_column(field) for field in meta.fields]
    for field in meta.fields:
        if field.unique and not field.primary_key:
            items.append(sa.UniqueConstraint(field.column, name=meta.unique_constraint_name(field)))
        if isinstance(field, ForeignKey):
            target = field.related_model._meta
            action = "RESTRICT" if field.on_delete == PROTECT else field.on_delete
            items.append(
                sa.ForeignKeyConstraint(
                    [field.column],
                    [f"{target.table_name}.{target.pk.column}"],
                    name=field.constraint_name(),
                    ondelete=action,
                )
            )
    for names in meta.unique_together:
        columns = [meta.get_field(name).column for name in names]
        items.append(
            sa.UniqueConstraint(*columns, name=identifier(table_name, *columns, suffix="key"))
        )
    for index in meta.bind_indexes():
        where: dict[str, Any] = {}
        if index.condition:
            condition = sa.text(index.condition)
            where = {"postgresql_where": condition, "sqlite_where": condition}
        items.append(sa.Index(index.name, *index.columns, unique=index.unique, **where))
    auto = meta.pk.kind == "auto"
    return sa.Table(
        table_name,
        metadata,
        *items,
        sqlite_autoincrement=auto,
        sqlite_strict=bool(SQLiteDialect.table_suffix),
    )


def model_metadata(models: Sequence[type[Model]] | None = None) -> sa.MetaData:
    """The ``MetaData`` of *models* (default: every registered model), join tables included."""
    metadata = sa.MetaData()
    for model in _ordered(models if models is not None else registry.models()):
        _table(model, metadata)
    return metadata
