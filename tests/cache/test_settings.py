"""The CACHE setting: the guide's form is accepted, defaults are filled in, and every
mistake names the valid choices."""

from __future__ import annotations

from typing import Any

import pytest

import aksara
from aksara.conf import CACHE_DEFAULTS, settings
from aksara.exceptions import ConfigurationError


def test_the_guide_s_redis_pool_setting_is_accepted_with_defaults_filled_in() -> None:
    aksara.configure(
        CACHE={"default": {"backend": "redis", "url": "redis://localhost:6379/0", "pool_size": 10}}
    )
    assert settings.CACHE == {
        "default": {
            "backend": "redis",
            "url": "redis://localhost:6379/0",
            "pool_size": 10,
            "key_prefix": "aksara",
            "timeout_ms": 100.0,
            "default_ttl": None,
        }
    }


def test_the_default_is_a_memory_cache_and_the_backend_defaults_to_memory() -> None:
    assert {"default": {"backend": "memory", **CACHE_DEFAULTS["memory"]}} == settings.CACHE
    aksara.configure(CACHE={"default": {}, "other": {"max_entries": 5, "key_prefix": "o"}})
    assert settings.CACHE["other"] == {
        "backend": "memory",
        "key_prefix": "o",
        "max_entries": 5,
        "default_ttl": None,
    }


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        ({"default": {"backend": "memcached"}}, "must be one of memory, redis; got 'memcached'"),
        (
            {"default": {"backend": "redis", "pool_sise": 3}},
            "Unknown CACHE['default'] key 'pool_sise' for the redis backend. Did you mean "
            "'pool_size'? Valid keys: backend, default_ttl, key_prefix, pool_size, timeout_ms, url.",
        ),
        (
            {"default": {"backend": "memory", "url": "redis://x"}},
            "key 'url' for the memory backend. Valid keys: backend, default_ttl, key_prefix, max_entries.",
        ),
        ({"other": {}}, "holding at least 'default'"),
        ([("default", {})], "CACHE must be a dict"),
        ({"default": "memory"}, "CACHE['default'] must be a dict, got str."),
        (
            {"default": {"backend": "redis", "url": "http://user:secret@host"}},
            "must be a string starting with one of redis://, rediss://, unix://; "
            "got http://user:***@host",
        ),
        ({"default": {"backend": "redis", "pool_size": 0}}, "pool_size'] must be an integer >= 1"),
        ({"default": {"backend": "redis", "timeout_ms": "5"}}, "timeout_ms'] must be a number"),
        ({"default": {"max_entries": 1.5}}, "max_entries'] must be an integer >= 1, got 1.5"),
        ({"default": {"key_prefix": ""}}, "key_prefix'] must be a non-empty string"),
        ({"default": {"default_ttl": -1}}, "default_ttl'] must be a number >= 0"),
    ],
)
def test_mistakes_are_refused_with_the_valid_choices(cache: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        aksara.configure(CACHE=cache)
    assert message in str(info.value)
    assert "secret" not in str(info.value)
