"""The settings of the databases: DATABASE_URL and DATABASE_POOL (the one-database
shorthand), DATABASES, read replicas, routers, and MIGRATIONS."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, cast

from aksara.conf.values import _handler, _number, mask_url
from aksara.exceptions import ConfigurationError, suggest

POOL_DEFAULTS: dict[str, Any] = {
    "min_size": 1,
    "max_size": 10,
    "max_queries": 50_000,
    "max_inactive_connection_lifetime": 300.0,
    "acquire_timeout": 10.0,
    "close_timeout": 10.0,
    "command_timeout": None,
    "statement_cache_size": 1024,
}


def _database_url(value: Any) -> str:
    schemes = ("sqlite://", "postgresql://", "postgres://")
    if not isinstance(value, str) or not value.startswith(schemes):
        raise ConfigurationError(
            f"DATABASE_URL must be a string starting with one of {', '.join(schemes)}; "
            f"got {mask_url(value) if isinstance(value, str) else value!r}. Examples: 'sqlite:///app.sqlite3', 'sqlite:///:memory:', "
            "'postgresql://localhost/myapp'."
        )
    return value


def _database_pool(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"DATABASE_POOL must be a dict, got {type(value).__name__}.")
    pool = dict(POOL_DEFAULTS)
    for key, item in value.items():
        if key not in POOL_DEFAULTS:
            raise ConfigurationError(
                f"Unknown DATABASE_POOL key {key!r}.{suggest(key, POOL_DEFAULTS)} "
                f"Valid keys: {', '.join(sorted(POOL_DEFAULTS))}."
            )
        name = f'DATABASE_POOL["{key}"]'
        if key in ("min_size", "max_queries", "statement_cache_size"):
            pool[key] = _number(name, item, integer=True, minimum=0, optional=False)
        elif key == "max_size":
            pool[key] = _number(name, item, integer=True, minimum=1, optional=False)
        else:
            optional = key in ("command_timeout",)
            pool[key] = _number(name, item, integer=False, minimum=0, optional=optional)
    if pool["min_size"] > pool["max_size"]:
        raise ConfigurationError(
            f'DATABASE_POOL["min_size"] ({pool["min_size"]}) must not exceed '
            f'DATABASE_POOL["max_size"] ({pool["max_size"]}).'
        )
    return pool


#: The keys of the MIGRATIONS setting, with their defaults.
MIGRATIONS_DEFAULTS: dict[str, Any] = {"path": "migrations", "models": []}


def _migrations(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"MIGRATIONS must be a dict such as {{'path': 'migrations', 'models': "
            f"['myapp.models']}}, got {value!r}."
        )
    options = dict(MIGRATIONS_DEFAULTS)
    for key, item in value.items():
        if key not in MIGRATIONS_DEFAULTS:
            raise ConfigurationError(
                f"Unknown MIGRATIONS key {key!r}.{suggest(key, MIGRATIONS_DEFAULTS)} "
                f"Valid keys: {', '.join(sorted(MIGRATIONS_DEFAULTS))}."
            )
        if key == "path" and (not isinstance(item, str | os.PathLike) or not str(item)):
            raise ConfigurationError(f"MIGRATIONS['path'] must be a directory path, got {item!r}.")
        if key == "models":
            if isinstance(item, str):
                item = [item]
            if not isinstance(item, list | tuple) or not all(
                isinstance(name, str) and name for name in item
            ):
                raise ConfigurationError(
                    "MIGRATIONS['models'] must be a list of module names such as "
                    f"['myapp.models'], got {item!r}."
                )
            item = list(item)
        options[key] = str(item) if key == "path" else item
    return options


_DATABASE_KEYS = ("url", "pool", "max_lag", "pgbouncer")


def _databases(value: Any) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or "default" not in value:
        raise ConfigurationError(
            "DATABASES must be a dict of alias -> {'url': ..., 'pool': {...}} with a "
            f"'default' entry, got {value!r}."
        )
    databases: dict[str, dict[str, Any]] = {}
    for alias, entry in value.items():
        label = f"DATABASES[{alias!r}]"
        if not isinstance(alias, str) or not alias:
            raise ConfigurationError(f"DATABASES aliases must be non-empty strings, got {alias!r}.")
        if not isinstance(entry, Mapping) or "url" not in entry:
            raise ConfigurationError(f"{label} must be a dict with a 'url', got {entry!r}.")
        for key in entry:
            if key not in _DATABASE_KEYS:
                raise ConfigurationError(
                    f"Unknown {label} key {key!r}.{suggest(key, _DATABASE_KEYS)} "
                    f"Valid keys: {', '.join(sorted(_DATABASE_KEYS))}."
                )
        try:
            url = _database_url(entry["url"])
            pool = _database_pool(entry.get("pool", {}))
        except ConfigurationError as error:
            raise ConfigurationError(f"{label}: {error}") from None
        max_lag = _number(
            f'{label}["max_lag"]', entry.get("max_lag"), integer=False, minimum=0, optional=True
        )
        pgbouncer = entry.get("pgbouncer", False)
        if not isinstance(pgbouncer, bool):
            raise ConfigurationError(
                f'{label}["pgbouncer"] must be True or False, got {pgbouncer!r}.'
            )
        if pgbouncer and url.startswith("sqlite"):
            raise ConfigurationError(f'{label}["pgbouncer"] applies to PostgreSQL URLs only.')
        databases[alias] = {"url": url, "pool": pool, "max_lag": max_lag, "pgbouncer": pgbouncer}
    return databases


def _aliases(key: str) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigurationError(f"{key} must be a list of database aliases, got {value!r}.")
        for item in value:
            if not isinstance(item, str) or not item:
                raise ConfigurationError(f"{key} must hold database aliases, got {item!r}.")
        return list(value)

    return check


def _routers(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigurationError(
            f"DATABASE_ROUTERS must be a list of routers (objects or dotted paths), got {value!r}."
        )
    routers: list[Any] = []
    for item in value:
        router = _handler(item) if isinstance(item, str) else item
        if not (hasattr(router, "db_for_read") or hasattr(router, "db_for_write")):
            raise ConfigurationError(
                f"DATABASE_ROUTERS entry {item!r} has neither db_for_read() nor db_for_write()."
            )
        routers.append(router)
    return routers


def _sticky_seconds(value: Any) -> float | None:
    return cast(
        "float | None",
        _number("REPLICA_STICKY_SECONDS", value, integer=False, minimum=0, optional=True),
    )


def _check_interval(value: Any) -> float:
    return cast(
        "float",
        _number("REPLICA_CHECK_INTERVAL", value, integer=False, minimum=0.01, optional=False),
    )


def _refuse_both(values: Mapping[str, Any], origin: str) -> None:
    """DATABASES and its one-database shorthand cannot both be given."""
    if values.get("DATABASES") is not None:
        both = [key for key in ("DATABASE_URL", "DATABASE_POOL") if key in values]
        if both:
            raise ConfigurationError(
                f"{origin} sets both DATABASES and {' and '.join(both)}: DATABASE_URL / "
                'DATABASE_POOL are the shorthand for DATABASES["default"]. Set one or the other.'
            )


#: The validator of each setting of this concern, called with the value given.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "DATABASE_URL": _database_url,
    "DATABASE_POOL": _database_pool,
    "MIGRATIONS": _migrations,
    "DATABASES": _databases,
    "READ_REPLICAS": _aliases("READ_REPLICAS"),
    "DATABASE_ROUTERS": _routers,
    "REPLICA_STICKY_SECONDS": _sticky_seconds,
    "REPLICA_CHECK_INTERVAL": _check_interval,
}

#: The value of each setting of this concern when the settings module does not set it.
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///aksara.sqlite3",
    "DATABASE_POOL": dict(POOL_DEFAULTS),
    # Where `aksara makemigrations` writes revisions, and the modules defining the models.
    "MIGRATIONS": dict(MIGRATIONS_DEFAULTS),
    # None: DATABASE_URL / DATABASE_POOL are the one "default" database; else alias -> entry.
    "DATABASES": None,
    # Aliases of DATABASES whose reads the ORM spreads over, round robin (writes: default).
    "READ_REPLICAS": [],
    # Objects (or dotted paths) with db_for_read(model, **hints) / db_for_write: an alias.
    "DATABASE_ROUTERS": [],
    # After a write, the task's reads stay on the primary this long (None: to its end).
    "REPLICA_STICKY_SECONDS": None,
    # Seconds between two health (up, lag) checks of each replica, in the background.
    "REPLICA_CHECK_INTERVAL": 5.0,
}
