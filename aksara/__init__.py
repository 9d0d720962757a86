"""Aksara: an async framework for fast REST APIs on relational databases."""

import typing

from aksara.app import Aksara
from aksara.conf import configure, settings
from aksara.db import atomic, connect, disconnect, get_database
from aksara.exceptions import (
    AksaraError,
    ConfigurationError,
    DatabaseError,
    DeferredFieldError,
    FieldError,
    IntegrityError,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    PoolTimeoutError,
    ProtectedError,
    QueryLimitError,
    QueryTimeoutError,
    ValidationError,
)
from aksara.orm import (
    Avg,
    Count,
    F,
    Index,
    Max,
    Min,
    Model,
    Prefetch,
    Q,
    Sum,
    create_tables,
    drop_tables,
    fields,
)

__version__ = "0.1.0"


async def migrate(target: str = "heads", **options: typing.Any) -> list[str]:
    """Apply the project's migrations up to *target* (:func:`aksara.migrations.migrate`);
    Alembic and SQLAlchemy are imported on the first call, not with Aksara."""
    from aksara.migrations import migrate as apply

    return await apply(target, **options)


__all__ = [
    "Aksara",
    "AksaraError",
    "Avg",
    "ConfigurationError",
    "Count",
    "DatabaseError",
    "DeferredFieldError",
    "F",
    "FieldError",
    "Index",
    "IntegrityError",
    "Max",
    "Min",
    "Model",
    "MultipleObjectsReturned",
    "ObjectDoesNotExist",
    "PoolTimeoutError",
    "Prefetch",
    "ProtectedError",
    "Q",
    "QueryLimitError",
    "QueryTimeoutError",
    "Sum",
    "ValidationError",
    "atomic",
    "configure",
    "connect",
    "create_tables",
    "disconnect",
    "drop_tables",
    "fields",
    "get_database",
    "migrate",
    "settings",
]
