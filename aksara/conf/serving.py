"""The settings of serving requests: body size and query budgets, COMPRESSION,
SERVER_TIMING, ACCESS_LOG, the slow request log, the METRICS endpoint, RETRY_AFTER,
MAX_QUERY_PARAMS, the HEALTH probes, BODY_TIMEOUT and MAX_HEADER_BYTES."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from aksara.conf.values import _boolean, _number, _optional_boolean
from aksara.exceptions import ConfigurationError, suggest


def _max_body_bytes(value: Any) -> int:
    result: int = _number("MAX_BODY_BYTES", value, integer=True, minimum=0, optional=False)
    return result


def _max_queries(value: Any) -> int | None:
    result: int | None = _number(
        "MAX_QUERIES_PER_REQUEST", value, integer=True, minimum=0, optional=True
    )
    return result


COMPRESSION_DEFAULTS: dict[str, Any] = {"minimum_size": 500, "level": 6, "brotli": True}


def _compression(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"COMPRESSION must be None or a dict such as {COMPRESSION_DEFAULTS!r}, got {value!r}."
        )
    options = dict(COMPRESSION_DEFAULTS)
    for key, item in value.items():
        if key not in COMPRESSION_DEFAULTS:
            raise ConfigurationError(
                f"Unknown COMPRESSION key {key!r}.{suggest(key, COMPRESSION_DEFAULTS)} "
                f"Valid keys: {', '.join(sorted(COMPRESSION_DEFAULTS))}."
            )
        label = f"COMPRESSION[{key!r}]"
        if key == "brotli":
            item = _boolean(label)(item)
        elif key == "level":
            item = _number(label, item, integer=True, minimum=1, optional=False)
            if item > 9:
                raise ConfigurationError(f"{label} must be an integer from 1 to 9, got {item!r}.")
        else:
            item = _number(label, item, integer=True, minimum=0, optional=False)
        options[key] = item
    return options


#: The keys of the METRICS setting; with neither a token nor networks only loopback may scrape.
METRICS_DEFAULTS: dict[str, Any] = {"path": "/metrics", "token": None, "allowed_networks": None}
_LOOPBACK_NETWORKS = ["127.0.0.1/32", "::1/128"]


def _metrics(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "METRICS must be None or a dict such as "
            f"{{'path': '/metrics', 'token': '...', 'allowed_networks': ['10.0.0.0/8']}}, "
            f"got {value!r}."
        )
    options = dict(METRICS_DEFAULTS)
    for key, item in value.items():
        if key not in METRICS_DEFAULTS:
            raise ConfigurationError(
                f"Unknown METRICS key {key!r}.{suggest(key, METRICS_DEFAULTS)} "
                f"Valid keys: {', '.join(sorted(METRICS_DEFAULTS))}."
            )
        options[key] = item
    path = options["path"]
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError(
            f"METRICS['path'] must be a path such as '/metrics', got {path!r}."
        )
    token = options["token"]
    if token is not None and (not isinstance(token, str) or not token):
        raise ConfigurationError(
            f"METRICS['token'] must be None or a non-empty string, got {token!r}."
        )
    networks = options["allowed_networks"]
    if networks is None:
        networks = [] if token is not None else list(_LOOPBACK_NETWORKS)
    if isinstance(networks, str) or not isinstance(networks, (list, tuple)):
        raise ConfigurationError(
            f"METRICS['allowed_networks'] must be a list of networks such as ['10.0.0.0/8'], "
            f"got {networks!r}."
        )
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"METRICS['allowed_networks'] holds {network!r}, which is not a network such "
                "as '10.0.0.0/8' or '::1/128'."
            ) from None
    options["allowed_networks"] = [str(network) for network in networks]
    return options


def _slow_request_ms(value: Any) -> float | None:
    result: float | None = _number(
        "SLOW_REQUEST_MS", value, integer=False, minimum=0, optional=True
    )
    return result


def _retry_after(value: Any) -> int:
    result: int = _number("RETRY_AFTER", value, integer=True, minimum=0, optional=False)
    return result


def _body_timeout(value: Any) -> float | None:
    result: float | None = _number("BODY_TIMEOUT", value, integer=False, minimum=0, optional=True)
    if result == 0:
        raise ConfigurationError("BODY_TIMEOUT must be a number of seconds > 0 or None, got 0.")
    return result


def _max_header_bytes(value: Any) -> int | None:
    result: int | None = _number(
        "MAX_HEADER_BYTES", value, integer=True, minimum=1024, optional=True
    )
    return result


def _max_query_params(value: Any) -> int:
    result: int = _number("MAX_QUERY_PARAMS", value, integer=True, minimum=1, optional=False)
    return result


#: The keys of the HEALTH setting: the two probe paths (None turns one off) and the seconds
#: each readiness check may take.
HEALTH_DEFAULTS: dict[str, Any] = {"liveness": "/healthz", "readiness": "/readyz", "timeout": 2.0}


def _health(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "HEALTH must be None or a dict such as "
            "{'liveness': '/healthz', 'readiness': '/readyz', 'timeout': 2.0}, "
            f"got {value!r}."
        )
    options = dict(HEALTH_DEFAULTS)
    for key, item in value.items():
        if key not in HEALTH_DEFAULTS:
            raise ConfigurationError(
                f"Unknown HEALTH key {key!r}.{suggest(key, HEALTH_DEFAULTS)} "
                f"Valid keys: {', '.join(sorted(HEALTH_DEFAULTS))}."
            )
        options[key] = item
    for key in ("liveness", "readiness"):
        path = options[key]
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ConfigurationError(
                f"HEALTH[{key!r}] must be None or a path such as "
                f"{HEALTH_DEFAULTS[key]!r}, got {path!r}."
            )
    if options["liveness"] is not None and options["liveness"] == options["readiness"]:
        raise ConfigurationError(
            f"HEALTH['liveness'] and HEALTH['readiness'] are both {options['liveness']!r}: "
            "give them different paths."
        )
    options["timeout"] = float(
        _number(
            "HEALTH['timeout']", options["timeout"], integer=False, minimum=0.001, optional=False
        )
    )
    return options


#: The validator of each setting of this concern, called with the value given.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "MAX_BODY_BYTES": _max_body_bytes,
    "MAX_QUERIES_PER_REQUEST": _max_queries,
    "COMPRESSION": _compression,
    "SERVER_TIMING": _optional_boolean("SERVER_TIMING"),
    "ACCESS_LOG": _boolean("ACCESS_LOG"),
    "METRICS": _metrics,
    "SLOW_REQUEST_MS": _slow_request_ms,
    "RETRY_AFTER": _retry_after,
    "MAX_QUERY_PARAMS": _max_query_params,
    "HEALTH": _health,
    "BODY_TIMEOUT": _body_timeout,
    "MAX_HEADER_BYTES": _max_header_bytes,
}

#: The value of each setting of this concern when the settings module does not set it.
DEFAULTS: dict[str, Any] = {
    # The largest request body an API endpoint reads (1 MiB); a larger one is a 413.
    "MAX_BODY_BYTES": 1024 * 1024,
    # The queries one API request may run (None: no budget); see aksara.api.budget.
    "MAX_QUERIES_PER_REQUEST": None,
    # None: responses are not compressed (a proxy in front often does it); a dict turns on
    # gzip, and brotli for clients that accept it (see aksara.middleware.compression).
    "COMPRESSION": None,
    # None: follow DEBUG. The Server-Timing header and the access log line.
    "SERVER_TIMING": None,
    # One line per request on the "aksara.access" logger (also on with SERVER_TIMING).
    "ACCESS_LOG": False,
    # None: no /metrics endpoint. A dict serves Prometheus metrics, to a bearer token or the
    # allowed networks (loopback alone when neither is given); see aksara.monitoring.
    "METRICS": None,
    # None: off. A request slower than this (ms) logs its query profile on
    # "aksara.slow_requests".
    "SLOW_REQUEST_MS": None,
    # Seconds a 503 (database unreachable, pool exhausted) asks clients to wait (Retry-After).
    "RETRY_AFTER": 1,
    # Query-string parameters one API request may carry; more is a 400 (as Django's 1,000).
    "MAX_QUERY_PARAMS": 1000,
    # Liveness and readiness probes, answered before any middleware, auth or metrics (None:
    # off); see aksara.monitoring.health.
    "HEALTH": dict(HEALTH_DEFAULTS),
    # Seconds a client has to send a whole request body (None: no bound); slower is a 408.
    "BODY_TIMEOUT": 30.0,
    # The bytes of names and values all request headers may take (None: no bound); more is a
    # 431. uvicorn's httptools parser sets no such bound of its own.
    "MAX_HEADER_BYTES": 32 * 1024,
}
