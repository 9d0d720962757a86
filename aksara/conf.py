"""Settings: the ``AKSARA`` dict of a settings module, overridable with :func:`configure`.

The module is named by the ``AKSARA_SETTINGS_MODULE`` environment variable; without it a
module named ``settings`` is used when one can be imported. Every key is validated when it
is read or configured, so a misspelt key or a bad value fails at once with the valid names.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from aksara.exceptions import ConfigurationError, suggest

__all__ = [
    "CACHE_BACKENDS",
    "CACHE_DEFAULTS",
    "COMPRESSION_DEFAULTS",
    "HEALTH_DEFAULTS",
    "METRICS_DEFAULTS",
    "MIGRATIONS_DEFAULTS",
    "PASSWORD_HASHER_DEFAULTS",
    "POOL_DEFAULTS",
    "RELATION_LOADING_MODES",
    "SESSION_DEFAULTS",
    "TOKEN_ALGORITHMS",
    "TOKEN_DEFAULTS",
    "Settings",
    "configure",
    "mask_url",
    "settings",
]

#: ``lazy``: ``await obj.relation`` queries for that object; ``peers``: the first such await
#: loads the relation for every object fetched by the same query; ``raise``: lazy loads fail.
RELATION_LOADING_MODES = ("lazy", "peers", "raise")

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


#: The keys each cache backend takes, with their defaults (``backend`` itself aside).
CACHE_DEFAULTS: dict[str, dict[str, Any]] = {
    "memory": {"key_prefix": "aksara", "max_entries": 10_000, "default_ttl": None},
    "redis": {
        "url": "redis://localhost:6379/0",
        "pool_size": 10,
        "key_prefix": "aksara",
        "timeout_ms": 100.0,
        "default_ttl": None,
    },
}
CACHE_BACKENDS = tuple(CACHE_DEFAULTS)

_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Return *url* with its password (``user:***@``, ``?password=***``) hidden, for messages.

    Every message and log line that shows a database URL goes through this.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    # The last "@" ends the credentials even when the password holds an unescaped "@" or "/";
    # when the query holds one instead, more is hidden than needed, never less.
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.partition(':')[0]}:***@{host}"
    return scheme + separator + _PASSWORD_PARAMETER.sub(r"\1***", rest)


def _number(key: str, value: Any, *, integer: bool, minimum: float, optional: bool) -> Any:
    if value is None and optional:
        return None
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= minimum:  # type: ignore[operator]
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"{key} must be {kind} >= {minimum}, got {value!r}.")
    return value


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


def _cache_alias(alias: str, value: Any) -> dict[str, Any]:
    name = f"CACHE[{alias!r}]"
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a dict, got {type(value).__name__}.")
    backend = value.get("backend", "memory")
    if backend not in CACHE_DEFAULTS:
        raise ConfigurationError(
            f"{name}['backend'] must be one of {', '.join(CACHE_BACKENDS)}; got {backend!r}."
        )
    options: dict[str, Any] = {"backend": backend, **CACHE_DEFAULTS[backend]}
    for key, item in value.items():
        if key == "backend":
            continue
        if key not in options:
            valid = sorted(options)
            raise ConfigurationError(
                f"Unknown {name} key {key!r} for the {backend} backend.{suggest(key, valid)} "
                f"Valid keys: {', '.join(valid)}."
            )
        label = f"{name}[{key!r}]"
        if key == "url":
            if not isinstance(item, str) or not item.startswith(_REDIS_SCHEMES):
                shown = mask_url(item) if isinstance(item, str) else repr(item)
                raise ConfigurationError(
                    f"{label} must be a string starting with one of {', '.join(_REDIS_SCHEMES)}; "
                    f"got {shown}. Example: 'redis://localhost:6379/0'."
                )
        elif key == "key_prefix":
            # Without a prefix, clear() could not tell this cache's keys from anyone else's.
            if not isinstance(item, str) or not item:
                raise ConfigurationError(f"{label} must be a non-empty string, got {item!r}.")
        elif key in ("pool_size", "max_entries"):
            item = _number(label, item, integer=True, minimum=1, optional=False)
        elif key == "timeout_ms":
            item = _number(label, item, integer=False, minimum=1, optional=False)
        else:
            item = _number(label, item, integer=False, minimum=0, optional=True)
        options[key] = item
    return options


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _cache(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping) or "default" not in value:
        raise ConfigurationError(
            "CACHE must be a dict of cache aliases holding at least 'default', e.g. "
            f"{{'default': {{'backend': 'memory'}}}}; got {value!r}."
        )
    return {str(alias): _cache_alias(str(alias), options) for alias, options in value.items()}


def _boolean(key: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigurationError(f"{key} must be True or False, got {value!r}.")
        return value

    return check


def _slow_query_ms(value: Any) -> float | None:
    result: float | None = _number("SLOW_QUERY_MS", value, integer=False, minimum=0, optional=True)
    return result


def _relation_loading(value: Any) -> str:
    if value not in RELATION_LOADING_MODES:
        raise ConfigurationError(
            f"RELATION_LOADING must be one of {', '.join(RELATION_LOADING_MODES)}; got {value!r}."
        )
    return str(value)


def _handler(value: Any) -> Callable[..., Any] | None:
    if value is None:
        return None
    if callable(value):
        given: Callable[..., Any] = value
        return given
    if isinstance(value, str) and "." in value:
        module_name, _, attribute = value.rpartition(".")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"SLOW_QUERY_HANDLER {value!r} cannot be imported: {error}"
            ) from None
        if callable(found):
            handler: Callable[..., Any] = found
            return handler
    raise ConfigurationError(
        f"SLOW_QUERY_HANDLER must be a callable or a dotted path to one, got {value!r}."
    )


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


def _max_body_bytes(value: Any) -> int:
    result: int = _number("MAX_BODY_BYTES", value, integer=True, minimum=0, optional=False)
    return result


def _max_queries(value: Any) -> int | None:
    result: int | None = _number(
        "MAX_QUERIES_PER_REQUEST", value, integer=True, minimum=0, optional=True
    )
    return result


def _optional_boolean(key: str) -> Callable[[Any], bool | None]:
    def check(value: Any) -> bool | None:
        if value is not None and not isinstance(value, bool):
            raise ConfigurationError(f"{key} must be True, False or None, got {value!r}.")
        return value

    return check


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


TOKEN_DEFAULTS: dict[str, Any] = {
    "algorithm": "HS256",
    "signing_key": None,
    "verifying_key": None,
    "access_ttl": 300,
    "refresh_ttl": 86_400,
    "keywords": ("Bearer", "Token"),
    "issuer": None,
    "audience": None,
    "leeway": 0,
}
TOKEN_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "EdDSA")
SESSION_DEFAULTS: dict[str, Any] = {
    "cookie_name": "aksara_session",
    "max_age": 14 * 86_400,
    "secure": False,
    "samesite": "lax",
    "csrf_cookie_name": "csrftoken",
    "csrf_header_name": "X-CSRFToken",
    "trusted_origins": (),
}
PASSWORD_HASHER_DEFAULTS: dict[str, Any] = {"time_cost": 3, "memory_cost": 65_536, "parallelism": 4}


def _options(key: str, defaults: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{key} must be a dict with keys among {sorted(defaults)}.")
    options = dict(defaults)
    for name, given in value.items():
        if name not in defaults:
            raise ConfigurationError(
                f"Unknown {key} key {name!r}.{suggest(name, defaults)} "
                f"Valid keys: {', '.join(sorted(defaults))}."
            )
        options[name] = given
    return options


def _secret_key(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) < 32):
        raise ConfigurationError(
            "SECRET_KEY must be a string of at least 32 characters (for example "
            "secrets.token_urlsafe(50)), or None."
        )
    return value


def _user_model(value: Any) -> Any:
    if value is not None and not isinstance(value, (str, type)):
        raise ConfigurationError(
            f"USER_MODEL must be a model class, a dotted path such as 'app.models.User' or "
            f"None, got {value!r}."
        )
    return value


def _classes(key: str) -> Callable[[Any], list[Any]]:
    def check(value: Any) -> list[Any]:
        if isinstance(value, (str, type)) or not isinstance(value, (list, tuple)):
            raise ConfigurationError(f"{key} must be a list of classes or dotted paths.")
        for item in value:
            if not (isinstance(item, str) or callable(item)):
                raise ConfigurationError(
                    f"{key} holds {item!r}: give classes or dotted paths to them."
                )
        return list(value)

    return check


def _token(value: Any) -> dict[str, Any]:
    options = _options("TOKEN", TOKEN_DEFAULTS, value)
    if options["algorithm"] not in TOKEN_ALGORITHMS:
        raise ConfigurationError(
            f"TOKEN['algorithm'] must be one of {', '.join(TOKEN_ALGORITHMS)}; "
            f"got {options['algorithm']!r}."
        )
    if not options["algorithm"].startswith("HS") and not options["verifying_key"]:
        raise ConfigurationError(
            f"TOKEN['algorithm'] {options['algorithm']} needs TOKEN['verifying_key'] (the "
            "public key, PEM) and, to issue tokens, TOKEN['signing_key'] (the private key)."
        )
    for name in ("access_ttl", "refresh_ttl"):
        _number(f"TOKEN['{name}']", options[name], integer=False, minimum=1, optional=False)
    _number("TOKEN['leeway']", options["leeway"], integer=False, minimum=0, optional=False)
    keywords = options["keywords"]
    if isinstance(keywords, str) or not keywords or not all(isinstance(k, str) for k in keywords):
        raise ConfigurationError("TOKEN['keywords'] must be a non-empty list of strings.")
    options["keywords"] = tuple(keywords)
    return options


def _session(value: Any) -> dict[str, Any]:
    options = _options("SESSION", SESSION_DEFAULTS, value)
    if options["samesite"] not in ("lax", "strict", "none"):
        raise ConfigurationError("SESSION['samesite'] must be 'lax', 'strict' or 'none'.")
    _number("SESSION['max_age']", options["max_age"], integer=True, minimum=1, optional=False)
    options["trusted_origins"] = tuple(options["trusted_origins"])
    return options


def _password_hasher(value: Any) -> dict[str, Any]:
    options = _options("PASSWORD_HASHER", PASSWORD_HASHER_DEFAULTS, value)
    for name, given in options.items():
        _number(f"PASSWORD_HASHER['{name}']", given, integer=True, minimum=1, optional=False)
    return options


_THROTTLE_RATE = re.compile(r"^\s*[1-9]\d*\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$")
_THROTTLE_RATE_FORM = (
    '"<requests>/<period>" with a period of s, sec, second, m, min, minute, h, hour, d or day '
    '(e.g. "100/min", "10/s", "1000/hour", "5000/day"), or None for no limit'
)


def _throttles(value: Any) -> tuple[Any, ...]:
    # Imported when first used (aksara.api.throttling): conf sits below the api layer.
    items = value if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(item, (type, str)) for item in items):
        raise ConfigurationError(
            "THROTTLES must be a list of throttle classes or dotted paths to them, e.g. "
            f"['aksara.api.throttling.AnonRateThrottle']; got {value!r}."
        )
    return tuple(items)


def _throttle_rates(value: Any) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f'THROTTLE_RATES must be a dict of scope -> rate, e.g. {{"anon": "100/min"}}; '
            f"got {value!r}."
        )
    for scope, rate in value.items():
        if not isinstance(scope, str) or not (
            rate is None or (isinstance(rate, str) and _THROTTLE_RATE.match(rate))
        ):
            raise ConfigurationError(
                f"THROTTLE_RATES[{scope!r}] is {rate!r}: write it as {_THROTTLE_RATE_FORM}."
            )
    return dict(value)


def _throttle_cache(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            f"THROTTLE_CACHE must be the alias of a cache in the CACHE setting, got {value!r}."
        )
    return value


def _num_proxies(value: Any) -> int:
    result: int = _number("NUM_PROXIES", value, integer=True, minimum=0, optional=False)
    return result


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


def _retry_after(value: Any) -> int:
    result: int = _number("RETRY_AFTER", value, integer=True, minimum=0, optional=False)
    return result


def _body_timeout(value: Any) -> float | None:
    result: float | None = _number("BODY_TIMEOUT", value, integer=False, minimum=0, optional=True)
    if result == 0:
        raise ConfigurationError("BODY_TIMEOUT must be a number of seconds > 0 or None, got 0.")
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


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "DATABASE_URL": _database_url,
    "DATABASE_POOL": _database_pool,
    "DEBUG": _boolean("DEBUG"),
    "SLOW_QUERY_MS": _slow_query_ms,
    "RELATION_LOADING": _relation_loading,
    "LOG_QUERIES": _boolean("LOG_QUERIES"),
    "SLOW_QUERY_HANDLER": _handler,
    "N_PLUS_ONE_THRESHOLD": _threshold,
    "DETECT_N_PLUS_ONE": _optional_boolean("DETECT_N_PLUS_ONE"),
    "MAX_RELATION_DEPTH": _relation_depth,
    "SQL_CACHE_SIZE": _sql_cache_size,
    "MAX_BODY_BYTES": _max_body_bytes,
    "CACHE": _cache,
    "MAX_QUERIES_PER_REQUEST": _max_queries,
    "COMPRESSION": _compression,
    "SERVER_TIMING": _optional_boolean("SERVER_TIMING"),
    "ACCESS_LOG": _boolean("ACCESS_LOG"),
    "MIGRATIONS": _migrations,
    "METRICS": _metrics,
    "SLOW_REQUEST_MS": _slow_request_ms,
    "SECRET_KEY": _secret_key,
    "USER_MODEL": _user_model,
    "AUTHENTICATION": _classes("AUTHENTICATION"),
    "PERMISSIONS": _classes("PERMISSIONS"),
    "TOKEN": _token,
    "SESSION": _session,
    "PASSWORD_HASHER": _password_hasher,
    "THROTTLES": _throttles,
    "THROTTLE_RATES": _throttle_rates,
    "THROTTLE_CACHE": _throttle_cache,
    "NUM_PROXIES": _num_proxies,
    "DATABASES": _databases,
    "READ_REPLICAS": _aliases("READ_REPLICAS"),
    "DATABASE_ROUTERS": _routers,
    "REPLICA_STICKY_SECONDS": _sticky_seconds,
    "REPLICA_CHECK_INTERVAL": _check_interval,
    "RETRY_AFTER": _retry_after,
    "MAX_QUERY_PARAMS": _max_query_params,
    "HEALTH": _health,
    "BODY_TIMEOUT": _body_timeout,
}

_DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///aksara.sqlite3",
    "DATABASE_POOL": dict(POOL_DEFAULTS),
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
    # The largest request body an API endpoint reads (1 MiB); a larger one is a 413.
    "MAX_BODY_BYTES": 1024 * 1024,
    # The queries one API request may run (None: no budget); see aksara.api.budget.
    "MAX_QUERIES_PER_REQUEST": None,
    # Per process, so nothing needs Redis to run; see aksara.cache.
    "CACHE": {"default": {"backend": "memory", **CACHE_DEFAULTS["memory"]}},
    # None: responses are not compressed (a proxy in front often does it); a dict turns on
    # gzip, and brotli for clients that accept it (see aksara.middleware.compression).
    "COMPRESSION": None,
    # None: follow DEBUG. The Server-Timing header and the access log line.
    "SERVER_TIMING": None,
    # One line per request on the "aksara.access" logger (also on with SERVER_TIMING).
    "ACCESS_LOG": False,
    # Where `aksara makemigrations` writes revisions, and the modules defining the models.
    "MIGRATIONS": dict(MIGRATIONS_DEFAULTS),
    # None: no /metrics endpoint. A dict serves Prometheus metrics, to a bearer token or the
    # allowed networks (loopback alone when neither is given); see aksara.monitoring.
    "METRICS": None,
    # None: off. A request slower than this (ms) logs its query profile on
    # "aksara.slow_requests".
    "SLOW_REQUEST_MS": None,
    # Signs tokens and session cookies (None: refused unless DEBUG, then one per process).
    "SECRET_KEY": None,
    # The user model (None: the one concrete subclass of aksara.auth.AbstractBaseUser).
    "USER_MODEL": None,
    # Authentication classes of viewsets that name none ([]: every request is anonymous).
    "AUTHENTICATION": [],
    # Permission classes of viewsets that name none.
    "PERMISSIONS": ["aksara.api.permissions.AllowAny"],
    # JWT: algorithm, keys, lifetimes in seconds, Authorization keywords (aksara.api.tokens).
    "TOKEN": dict(TOKEN_DEFAULTS),
    # The signed session cookie and its CSRF check (aksara.api.authentication).
    "SESSION": dict(SESSION_DEFAULTS),
    # argon2id parameters (RFC 9106's second recommendation by default).
    "PASSWORD_HASHER": dict(PASSWORD_HASHER_DEFAULTS),
    # The throttles of every viewset without throttle_classes (see aksara.api.throttling).
    "THROTTLES": (),
    # Each throttle scope's rate: {"anon": "100/min", "user": "1000/hour", "<scope>": ...}.
    "THROTTLE_RATES": {},
    # The cache alias holding throttle counters (Redis: shared by every worker and machine).
    "THROTTLE_CACHE": "default",
    # Proxies in front of the app that append to X-Forwarded-For (0: the socket's peer is
    # the client address throttles count by).
    "NUM_PROXIES": 0,
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
    # Seconds a 503 (database unreachable, pool exhausted) asks clients to wait (Retry-After).
    "RETRY_AFTER": 1,
    # Query-string parameters one API request may carry; more is a 400 (as Django's 1,000).
    "MAX_QUERY_PARAMS": 1000,
    # Liveness and readiness probes, answered before any middleware, auth or metrics (None:
    # off); see aksara.monitoring.health.
    "HEALTH": dict(HEALTH_DEFAULTS),
    # Seconds a client has to send a whole request body (None: no bound); slower is a 408.
    "BODY_TIMEOUT": 30.0,
}


def _validate(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    _refuse_both(values, origin)
    clean: dict[str, Any] = {}
    for key, value in values.items():
        validator = _VALIDATORS.get(key)
        if validator is None:
            raise ConfigurationError(
                f"Unknown setting {key!r} in {origin}.{suggest(key, _VALIDATORS)} "
                f"Valid settings: {', '.join(sorted(_VALIDATORS))}."
            )
        clean[key] = validator(value)
    return clean


def _refuse_both(values: Mapping[str, Any], origin: str) -> None:
    """DATABASES and its one-database shorthand cannot both be given."""
    if values.get("DATABASES") is not None:
        both = [key for key in ("DATABASE_URL", "DATABASE_POOL") if key in values]
        if both:
            raise ConfigurationError(
                f"{origin} sets both DATABASES and {' and '.join(both)}: DATABASE_URL / "
                'DATABASE_POOL are the shorthand for DATABASES["default"]. Set one or the other.'
            )


class Settings:
    """The process's settings, loaded lazily from the settings module on first read."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._overrides: dict[str, Any] = {}

    def _load(self) -> dict[str, Any]:
        values = dict(_DEFAULTS)
        module_name = os.environ.get("AKSARA_SETTINGS_MODULE")
        if module_name:
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                raise ConfigurationError(
                    f"AKSARA_SETTINGS_MODULE names {module_name!r}, which cannot be imported: "
                    f"{error}"
                ) from error
        else:
            try:
                module = importlib.import_module("settings")
            except ModuleNotFoundError as error:
                if error.name != "settings":
                    raise
                module = None
        if module is not None:
            declared = getattr(module, "AKSARA", None)
            if declared is not None:
                if not isinstance(declared, Mapping):
                    raise ConfigurationError(f"{module.__name__}.AKSARA must be a dict.")
                values.update(_validate(declared, f"{module.__name__}.AKSARA"))
        values.update(self._overrides)
        return values

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not loaded yet: after the first read every setting is a
        # plain instance attribute, so hot paths read them at attribute speed.
        if name.startswith("_"):
            raise AttributeError(name)
        if self._values is None:
            self._values = self._load()
            vars(self).update(self._values)
        try:
            return self._values[name]
        except KeyError:
            raise ConfigurationError(
                f"Unknown setting {name!r}.{suggest(name, _VALIDATORS)} "
                f"Valid settings: {', '.join(sorted(_VALIDATORS))}."
            ) from None

    def configure(self, **keys: Any) -> None:
        """Override settings in code; the values are validated like the settings module's."""
        clean = _validate(keys, "configure()")
        if clean.get("DATABASES") is not None:
            # DATABASES replaces an earlier configure()'s shorthand.
            for key in ("DATABASE_URL", "DATABASE_POOL"):
                self._overrides.pop(key, None)
                if self._values is not None:
                    self._values[key] = vars(self)[key] = _DEFAULTS[key]
        elif ("DATABASE_URL" in clean or "DATABASE_POOL" in clean) and "DATABASES" not in clean:
            current = self._overrides.get("DATABASES")
            if current is None and self._values is not None:
                current = self._values.get("DATABASES")
            if current is not None:
                raise ConfigurationError(
                    "configure() sets DATABASE_URL / DATABASE_POOL while DATABASES is in "
                    'force: set DATABASES["default"] instead (or DATABASES=None first).'
                )
        self._overrides.update(clean)
        if self._values is not None:
            self._values.update(clean)
            vars(self).update(clean)

    def reset(self) -> None:
        """Forget overrides and reload from the settings module on next read."""
        self._overrides.clear()
        if self._values is not None:
            for name in self._values:
                vars(self).pop(name, None)
        self._values = None

    def as_dict(self) -> dict[str, Any]:
        """Return a copy of every setting in force."""
        if self._values is None:
            self._values = self._load()
        return dict(self._values)


settings = Settings()


def configure(**keys: Any) -> None:
    """Override settings in code, e.g. ``configure(DATABASE_URL="sqlite:///:memory:")``."""
    settings.configure(**keys)
