"""The database layer: pools, the one execute path, query events and transactions."""

from aksara.db.backends.base import PoolStatus
from aksara.db.connections import connect, disconnect, get_database
from aksara.db.database import Database
from aksara.db.events import QueryEvent, listen
from aksara.db.stats import QueryStats
from aksara.db.transaction import atomic, in_atomic_block, on_commit

__all__ = [
    "Database",
    "PoolStatus",
    "QueryEvent",
    "QueryStats",
    "atomic",
    "connect",
    "disconnect",
    "get_database",
    "in_atomic_block",
    "listen",
    "on_commit",
]
