"""SQL dialects: the one place, with the driver backends, where databases differ."""

from aksara.db.dialects.base import Dialect
from aksara.db.dialects.postgres import PostgresDialect
from aksara.db.dialects.sqlite import SQLiteDialect

__all__ = ["Dialect", "PostgresDialect", "SQLiteDialect"]
