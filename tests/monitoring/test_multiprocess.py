"""The metrics directory ``aksara serve --workers N`` prepares, and the error for a
directory named after prometheus_client chose its in-memory values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aksara.exceptions import ConfigurationError
from aksara.monitoring import AksaraMetrics, multiprocess_metrics

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def test_a_fresh_directory_per_start_removed_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    with multiprocess_metrics() as path:
        assert os.environ[VARIABLE] == path
        assert Path(path).is_dir() and os.listdir(path) == []
        (Path(path) / "counter_1.db").write_bytes(b"")
    assert not Path(path).exists()
    assert VARIABLE not in os.environ
    with multiprocess_metrics() as again:
        assert again != path


def test_a_directory_named_by_the_operator_is_emptied_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(VARIABLE, str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    with multiprocess_metrics() as path:
        assert path == str(tmp_path)
        assert sorted(os.listdir(path)) == ["notes.txt"]
    assert os.environ[VARIABLE] == str(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_a_directory_set_after_prometheus_client_was_imported_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import prometheus_client  # noqa: F401 - imported before the variable, in memory mode

    monkeypatch.setenv(VARIABLE, str(tmp_path))
    with pytest.raises(ConfigurationError, match="set after prometheus_client was imported"):
        AksaraMetrics()
