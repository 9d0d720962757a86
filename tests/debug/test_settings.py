"""Validation of the debugging settings (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import aksara
from aksara import ConfigurationError
from aksara.conf import settings


def slow_handler(query: Any) -> None:
    """A handler named by its dotted path."""


NOT_CALLABLE = 42


@pytest.fixture(autouse=True)
def clean_settings() -> Iterator[None]:
    settings.reset()
    yield
    settings.reset()


def test_defaults() -> None:
    assert settings.N_PLUS_ONE_THRESHOLD == 5
    assert settings.DETECT_N_PLUS_ONE is None
    assert settings.SLOW_QUERY_HANDLER is None
    assert settings.LOG_QUERIES is False
    assert settings.SLOW_QUERY_MS == 200


@pytest.mark.parametrize("value", [2, 3, 100])
def test_threshold_accepts_integers_from_two(value: int) -> None:
    aksara.configure(N_PLUS_ONE_THRESHOLD=value)
    assert value == settings.N_PLUS_ONE_THRESHOLD


@pytest.mark.parametrize("value", [1, 0, -3, 2.5, "5", True, None])
def test_threshold_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigurationError, match="N_PLUS_ONE_THRESHOLD"):
        aksara.configure(N_PLUS_ONE_THRESHOLD=value)
    assert settings.N_PLUS_ONE_THRESHOLD == 5  # nothing was changed


@pytest.mark.parametrize("value", [True, False, None])
def test_detect_n_plus_one_accepts_true_false_none(value: bool | None) -> None:
    aksara.configure(DETECT_N_PLUS_ONE=value)
    assert settings.DETECT_N_PLUS_ONE is value


@pytest.mark.parametrize("value", [1, 0, "yes", "True", [], "auto"])
def test_detect_n_plus_one_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigurationError, match="DETECT_N_PLUS_ONE"):
        aksara.configure(DETECT_N_PLUS_ONE=value)


def test_slow_query_handler_accepts_a_callable_or_a_dotted_path() -> None:
    aksara.configure(SLOW_QUERY_HANDLER=print)
    assert settings.SLOW_QUERY_HANDLER is print
    aksara.configure(SLOW_QUERY_HANDLER=f"{__name__}.slow_handler")
    assert settings.SLOW_QUERY_HANDLER is slow_handler
    aksara.configure(SLOW_QUERY_HANDLER=None)
    assert settings.SLOW_QUERY_HANDLER is None


@pytest.mark.parametrize(
    "value",
    [
        42,
        "slow_handler",  # not dotted
        "no_such_module_xyz.handler",
        f"{__name__}.missing_handler",
        f"{__name__}.NOT_CALLABLE",
        ["a.b"],
    ],
)
def test_slow_query_handler_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigurationError, match="SLOW_QUERY_HANDLER"):
        aksara.configure(SLOW_QUERY_HANDLER=value)
    assert settings.SLOW_QUERY_HANDLER is None


@pytest.mark.parametrize("value", [True, False])
def test_log_queries_accepts_booleans(value: bool) -> None:
    aksara.configure(LOG_QUERIES=value)
    assert settings.LOG_QUERIES is value


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_log_queries_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigurationError, match="LOG_QUERIES"):
        aksara.configure(LOG_QUERIES=value)


@pytest.mark.parametrize("value", [0, 0.5, 200, None])
def test_slow_query_ms_accepts_non_negative_numbers_or_none(value: float | None) -> None:
    aksara.configure(SLOW_QUERY_MS=value)
    assert value == settings.SLOW_QUERY_MS


@pytest.mark.parametrize("value", [-1, "100", True])
def test_slow_query_ms_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigurationError, match="SLOW_QUERY_MS"):
        aksara.configure(SLOW_QUERY_MS=value)


def test_a_misspelt_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigurationError, match="N_PLUS_ONE_THRESHOLD"):
        aksara.configure(N_PLUS_ONE_TRESHOLD=3)
