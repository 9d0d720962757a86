"""Settings: validation of every key, the settings module, configure() and reset()."""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import aksara
from aksara.conf import POOL_DEFAULTS, settings
from aksara.exceptions import ConfigurationError


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from, and leaves behind, settings with no module and no override."""
    monkeypatch.delenv("AKSARA_SETTINGS_MODULE", raising=False)
    settings.reset()
    yield
    settings.reset()


@pytest.fixture
def settings_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A fresh, importable module name (and its file path) in a directory on sys.path."""
    name = f"aksara_test_settings_{uuid.uuid4().hex[:10]}"
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, tmp_path / f"{name}.py"
    sys.modules.pop(name, None)


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_setting_names_the_valid_ones_and_suggests_a_close_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        aksara.configure(DATABSE_URL="sqlite:///:memory:")
    message = str(info.value)
    assert "'DATABSE_URL'" in message
    assert "Did you mean 'DATABASE_URL'?" in message
    for valid in ("DATABASE_URL", "DATABASE_POOL", "DEBUG", "SLOW_QUERY_MS"):
        assert valid in message


def test_unknown_setting_without_a_close_match_has_no_suggestion() -> None:
    with pytest.raises(ConfigurationError) as info:
        aksara.configure(ZZZ=1)
    assert "Did you mean" not in str(info.value)
    assert "DATABASE_URL" in str(info.value)


def test_reading_an_unknown_setting_fails_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'DEBUG'"):
        _ = settings.DEBGU


def test_failed_configure_changes_nothing() -> None:
    with pytest.raises(ConfigurationError):
        aksara.configure(DEBUG=True, DATABSE_URL="sqlite:///:memory:")
    assert settings.DEBUG is False


# --- DATABASE_POOL ----------------------------------------------------------------------


def test_unknown_pool_key_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError) as info:
        aksara.configure(DATABASE_POOL={"max_sise": 3})
    message = str(info.value)
    assert "'max_sise'" in message
    assert "Did you mean 'max_size'?" in message
    for key in POOL_DEFAULTS:
        assert key in message


@pytest.mark.parametrize(
    ("pool", "fragment"),
    [
        ({"max_size": -1}, 'DATABASE_POOL["max_size"]'),
        ({"max_size": 0}, 'DATABASE_POOL["max_size"]'),
        ({"max_size": 2.5}, 'DATABASE_POOL["max_size"]'),
        ({"max_size": True}, 'DATABASE_POOL["max_size"]'),
        ({"min_size": -1}, 'DATABASE_POOL["min_size"]'),
        ({"min_size": 5, "max_size": 2}, "must not exceed"),
        ({"acquire_timeout": "5"}, 'DATABASE_POOL["acquire_timeout"]'),
        ({"acquire_timeout": -0.1}, 'DATABASE_POOL["acquire_timeout"]'),
        ({"acquire_timeout": None}, 'DATABASE_POOL["acquire_timeout"]'),
        ({"command_timeout": "30"}, 'DATABASE_POOL["command_timeout"]'),
        ({"max_queries": -5}, 'DATABASE_POOL["max_queries"]'),
        ({"statement_cache_size": "big"}, 'DATABASE_POOL["statement_cache_size"]'),
        ({"max_inactive_connection_lifetime": [1]}, "max_inactive_connection_lifetime"),
    ],
)
def test_bad_pool_values_are_refused(pool: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        aksara.configure(DATABASE_POOL=pool)
    assert fragment in str(info.value)
    assert settings.DATABASE_POOL == POOL_DEFAULTS  # nothing was applied


@pytest.mark.parametrize("value", [math.nan, -math.inf])
def test_nan_and_negative_infinity_timeouts_are_refused(value: float) -> None:
    with pytest.raises(ConfigurationError, match="acquire_timeout"):
        aksara.configure(DATABASE_POOL={"acquire_timeout": value})


def test_pool_must_be_a_mapping() -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_POOL must be a dict"):
        aksara.configure(DATABASE_POOL=[("max_size", 3)])


def test_pool_keys_merge_with_the_defaults() -> None:
    aksara.configure(DATABASE_POOL={"max_size": 3, "command_timeout": 2.5})
    pool = settings.DATABASE_POOL
    assert pool["max_size"] == 3
    assert pool["command_timeout"] == 2.5
    assert pool["min_size"] == POOL_DEFAULTS["min_size"]
    assert set(pool) == set(POOL_DEFAULTS)


def test_command_timeout_may_be_none() -> None:
    aksara.configure(DATABASE_POOL={"command_timeout": None, "min_size": 0, "max_queries": 0})
    assert settings.DATABASE_POOL["command_timeout"] is None
    assert settings.DATABASE_POOL["min_size"] == 0


# --- other keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["mysql://localhost/app", "sqlite:/relative.db", "localhost/app", "", 42, None],
)
def test_bad_database_url_is_refused(url: object) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        aksara.configure(DATABASE_URL=url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative.sqlite3",
        "sqlite:////tmp/absolute.sqlite3",
        "sqlite:///:memory:",
        "postgresql://localhost/app",
        "postgres://user@localhost:5433/app",
    ],
)
def test_good_database_urls_are_accepted(url: str) -> None:
    aksara.configure(DATABASE_URL=url)
    assert url == settings.DATABASE_URL


def test_malformed_sqlite_url_is_refused_when_the_database_is_built() -> None:
    from aksara.db import Database

    aksara.configure(DATABASE_URL="sqlite://no-third-slash.db")
    with pytest.raises(ConfigurationError, match="sqlite:///"):
        Database(settings.DATABASE_URL, settings.DATABASE_POOL)


@pytest.mark.parametrize(
    ("key", "value"),
    [("DEBUG", 1), ("DEBUG", "yes"), ("SLOW_QUERY_MS", -1), ("SLOW_QUERY_MS", "fast")],
)
def test_bad_scalar_values_are_refused(key: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=key):
        aksara.configure(**{key: value})


def test_defaults() -> None:
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.DEBUG is False
    assert settings.DATABASE_POOL == POOL_DEFAULTS
    assert settings.as_dict()["DATABASE_POOL"] == POOL_DEFAULTS


def test_reset_forgets_overrides() -> None:
    default_url = settings.DATABASE_URL
    aksara.configure(DATABASE_URL="postgresql://localhost/other", DEBUG=True)
    assert settings.DATABASE_URL == "postgresql://localhost/other"
    assert settings.DEBUG is True
    settings.reset()
    assert default_url == settings.DATABASE_URL
    assert settings.DEBUG is False


def test_as_dict_is_a_copy() -> None:
    values = settings.as_dict()
    values["DEBUG"] = True
    assert settings.DEBUG is False


# --- the settings module -------------------------------------------------------------------


def test_settings_module_is_loaded(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text(
        "AKSARA = {\n"
        "    'DATABASE_URL': 'postgresql://db.example/app',\n"
        "    'DATABASE_POOL': {'max_size': 7, 'acquire_timeout': 1.5},\n"
        "    'DEBUG': True,\n"
        "}\n"
    )
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    assert settings.DATABASE_URL == "postgresql://db.example/app"
    assert settings.DEBUG is True
    assert settings.DATABASE_POOL["max_size"] == 7
    assert settings.DATABASE_POOL["acquire_timeout"] == 1.5
    assert settings.DATABASE_POOL["min_size"] == POOL_DEFAULTS["min_size"]


def test_configure_overrides_the_module_until_reset(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("AKSARA = {'DATABASE_URL': 'postgresql://db.example/app'}\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    assert settings.DATABASE_URL == "postgresql://db.example/app"
    aksara.configure(DATABASE_URL="sqlite:///:memory:")
    assert settings.DATABASE_URL == "sqlite:///:memory:"
    settings.reset()
    assert settings.DATABASE_URL == "postgresql://db.example/app"


def test_configure_before_the_first_read_still_wins_over_the_module(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("AKSARA = {'DEBUG': True, 'SLOW_QUERY_MS': 5}\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    aksara.configure(DEBUG=False)  # before anything was read
    assert settings.DEBUG is False
    assert settings.SLOW_QUERY_MS == 5


def test_misspelt_key_in_the_settings_module_fails_clearly(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("AKSARA = {'DATABASE_ULR': 'sqlite:///:memory:'}\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    with pytest.raises(ConfigurationError) as info:
        _ = settings.DATABASE_URL
    message = str(info.value)
    assert "'DATABASE_ULR'" in message
    assert f"{name}.AKSARA" in message
    assert "Did you mean 'DATABASE_URL'?" in message


def test_bad_value_in_the_settings_module_fails_clearly(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("AKSARA = {'DATABASE_POOL': {'max_size': 0}}\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    with pytest.raises(ConfigurationError, match=r'DATABASE_POOL\["max_size"\]'):
        _ = settings.DATABASE_POOL


def test_settings_module_aksara_must_be_a_dict(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("AKSARA = ['DATABASE_URL']\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    with pytest.raises(ConfigurationError, match=f"{name}.AKSARA must be a dict"):
        _ = settings.DEBUG


def test_settings_module_without_aksara_keeps_the_defaults(
    settings_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = settings_module
    path.write_text("OTHER_FRAMEWORK = {'DEBUG': True}\n")
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", name)
    settings.reset()
    assert settings.DEBUG is False


def test_missing_settings_module_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKSARA_SETTINGS_MODULE", "no_such_module_for_aksara_tests")
    settings.reset()
    with pytest.raises(ConfigurationError) as info:
        _ = settings.DATABASE_URL
    assert "AKSARA_SETTINGS_MODULE" in str(info.value)
    assert "no_such_module_for_aksara_tests" in str(info.value)


def test_module_named_settings_is_used_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.py").write_text("AKSARA = {'DEBUG': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "settings", raising=False)
    try:
        settings.reset()
        assert settings.DEBUG is True
    finally:
        sys.modules.pop("settings", None)
