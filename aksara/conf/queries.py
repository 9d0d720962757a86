"""The settings of the ORM's queries and their diagnostics: DEBUG, RELATION_LOADING, the slow
query log, the N+1 detector, relation depth and the compiled statement cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aksara.conf.values import _boolean, _handler, _number, _optional_boolean
from aksara.exceptions import ConfigurationError

#: ``lazy``: ``await obj.relation`` queries for that object; ``peers``: the first such await
#: loads the relation for every object fetched by the same query; ``raise``: lazy loads fail.
RELATION_LOADING_MODES = ("lazy", "peers", "raise")


def _slow_query_ms(value: Any) -> float | None:
    result: float | None = _number("SLOW_QUERY_MS", value, integer=False, minimum=0, optional=True)
    return result


def _relation_loading(value: Any) -> str:
    if value not in RELATION_LOADING_MODES:
        raise ConfigurationError(
            f"RELATION_LOADING must be one of {', '.join(RELATION_LOADING_MODES)}; got {value!r}."
        )
    return str(value)


def _threshold(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigurationError(f"N_PLUS_ONE_THRESHOLD must be an integer >= 2, got {value!r}.")
    return value


def _relation_depth(value: Any) -> int:
    result: int = _number("MAX_RELATION_DEPTH", value, integer=True, minimum=1, optional=False)
    return result


def _sql_cache_size(value: Any) -> int:
    result: int = _number("SQL_CACHE_SIZE", value, integer=True, minimum=1, optional=False)
    return result


#: The validator of each setting of this concern, called with the value given.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "DEBUG": _boolean("DEBUG"),
    "SLOW_QUERY_MS": _slow_query_ms,
    "RELATION_LOADING": _relation_loading,
    "LOG_QUERIES": _boolean("LOG_QUERIES"),
    "SLOW_QUERY_HANDLER": _handler,
    "N_PLUS_ONE_THRESHOLD": _threshold,
    "DETECT_N_PLUS_ONE": _optional_boolean("DETECT_N_PLUS_ONE"),
    "MAX_RELATION_DEPTH": _relation_depth,
    "SQL_CACHE_SIZE": _sql_cache_size,
}

#: The value of each setting of this concern when the settings module does not set it.
DEFAULTS: dict[str, Any] = {
    "DEBUG": False,
    "SLOW_QUERY_MS": 200.0,
    "RELATION_LOADING": "lazy",
    "LOG_QUERIES": False,
    "SLOW_QUERY_HANDLER": None,
    "N_PLUS_ONE_THRESHOLD": 5,
    # None: follow DEBUG (on in development, off in production).
    "DETECT_N_PLUS_ONE": None,
    # Relations one field path may follow (author__posts__comments is 2): each is a join.
    "MAX_RELATION_DEPTH": 10,
    # Compiled statements (one per query shape) each database keeps, least recently used
    # dropped first. Unrelated to DATABASE_POOL["statement_cache_size"], the driver's
    # prepared statements per connection.
    "SQL_CACHE_SIZE": 4096,
}
