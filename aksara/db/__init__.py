"""The database layer: pools, the one execute path, query events and transactions."""

from aksara.db.backends.base import PoolStatus
from aksara.db.connections import (
    Databases,
    connect,
    databases,
    db_for_read,
    db_for_write,
    disconnect,
    get_database,
    replica_monitor,
)
from aksara.db.database import Database
from aksara.db.events import QueryEvent, listen
from aksara.db.replicas import ReplicaMonitor, ReplicaStatus
from aksara.db.routing import mark_written
from aksara.db.stats import QueryStats
from aksara.db.transaction import atomic, in_atomic_block, on_commit

__all__ = [
    "Database",
    "Databases",
    "PoolStatus",
    "QueryEvent",
    "QueryStats",
    "ReplicaMonitor",
    "ReplicaStatus",
    "atomic",
    "connect",
    "databases",
    "db_for_read",
    "db_for_write",
    "disconnect",
    "get_database",
    "in_atomic_block",
    "listen",
    "mark_written",
    "on_commit",
    "replica_monitor",
]
