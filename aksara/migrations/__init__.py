"""Schema migrations on Alembic: revisions made from the models, applied with a lock.

``aksara makemigrations`` / ``aksara migrate`` on the command line; from Python
:func:`make_migrations`, :func:`migrate`, :func:`show_migrations`, :func:`sql_migrate`,
:func:`check_migrations`. A revision moves data with :func:`run_data`.
"""

from aksara.migrations.commands import (
    MigrationState,
    check_migrations,
    make_migrations,
    migrate,
    show_migrations,
    sql_migrate,
)
from aksara.migrations.data import DataContext, run_data
from aksara.migrations.errors import MigrationError, UnsafeMigrationError
from aksara.migrations.metadata import model_metadata

__all__ = [
    "DataContext",
    "MigrationError",
    "MigrationState",
    "UnsafeMigrationError",
    "check_migrations",
    "make_migrations",
    "migrate",
    "model_metadata",
    "run_data",
    "show_migrations",
    "sql_migrate",
]
