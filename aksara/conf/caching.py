"""The settings of the caches (CACHE, one dict of options per alias and backend) and of the
throttles that count requests in them (THROTTLES, THROTTLE_RATES, THROTTLE_CACHE)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aksara.conf.values import _number, mask_url
from aksara.exceptions import ConfigurationError, suggest

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


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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


def _cache(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping) or "default" not in value:
        raise ConfigurationError(
            "CACHE must be a dict of cache aliases holding at least 'default', e.g. "
            f"{{'default': {{'backend': 'memory'}}}}; got {value!r}."
        )
    return {str(alias): _cache_alias(str(alias), options) for alias, options in value.items()}


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


#: The validator of each setting of this concern, called with the value given.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "CACHE": _cache,
    "THROTTLES": _throttles,
    "THROTTLE_RATES": _throttle_rates,
    "THROTTLE_CACHE": _throttle_cache,
}

#: The value of each setting of this concern when the settings module does not set it.
DEFAULTS: dict[str, Any] = {
    # Per process, so nothing needs Redis to run; see aksara.cache.
    "CACHE": {"default": {"backend": "memory", **CACHE_DEFAULTS["memory"]}},
    # The throttles of every viewset without throttle_classes (see aksara.api.throttling).
    "THROTTLES": (),
    # Each throttle scope's rate: {"anon": "100/min", "user": "1000/hour", "<scope>": ...}.
    "THROTTLE_RATES": {},
    # The cache alias holding throttle counters (Redis: shared by every worker and machine).
    "THROTTLE_CACHE": "default",
}
