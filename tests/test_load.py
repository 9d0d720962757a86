"""The guide's load test for real: the locustfile against the served blog for a few seconds,
and ``make load``'s driver (``python -m examples.blog.load``), its files and its exit status."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from examples.blog.seed import GUIDE_SLUG
from tests.test_example_server import REPO, stop, wait_until_ready
from tests.test_serve import EXIT_SECONDS, seeded_project, serve

LOCUSTFILE = REPO / "examples" / "blog" / "locustfile.py"


def run_locust(base: str, prefix: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The locustfile headless against *base* for 3 s; CSV files and final JSON at *prefix*."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"),
            *("--host", base, "--users", "4", "--spawn-rate", "4", "--run-time", "3s"),
            *("--csv", str(prefix), "--json-file", str(prefix), "--stop-timeout", "5"),
        ],
        cwd=prefix.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_locustfile_reads_the_seeds_guide_post() -> None:
    # Read, not imported: importing locust would monkeypatch this process with gevent.
    found = re.search(r'^GUIDE_SLUG = "([^"]+)"$', LOCUSTFILE.read_text(), re.MULTILINE)
    assert found is not None and found[1] == GUIDE_SLUG


def test_the_locustfile_loads_the_served_example_without_a_failure(tmp_path: Path) -> None:
    env = seeded_project(tmp_path)
    process, base = serve("examples.blog.app:app", tmp_path, env)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until_ready(client, process, tmp_path / "server.log")
        result = run_locust(base, tmp_path / "locust", env)
        process.send_signal(signal.SIGTERM)
        assert process.wait(EXIT_SECONDS) == 0
    finally:
        stop(process)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = {entry["name"]: entry for entry in json.loads((tmp_path / "locust.json").read_text())}
    assert set(entries) == {"/api/posts/", "/api/posts/<slug>/", "/api/posts/?fields=slug (start)"}
    for entry in entries.values():
        assert entry["num_requests"] > 0 and entry["num_failures"] == 0, entry
    assert (tmp_path / "locust_stats.csv").exists()


def port_is_open(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


def run_driver(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return subprocess.run(
        [
            *(sys.executable, "-m", "examples.blog.load", "--seconds", "3", "--users", "4"),
            *("--posts", "20", "--output", str(tmp_path / "results"), *arguments),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_loads_driver_writes_the_csv_and_a_summary_and_stops_the_server(
    tmp_path: Path,
) -> None:
    result = run_driver(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    results = tmp_path / "results"
    summary = json.loads((results / "summary.json").read_text())
    total = summary["total"]
    assert total["requests"] > 0 and total["failures"] == 0
    assert total["requests"] == sum(row["requests"] for row in summary["endpoints"])
    assert 0 < total["p50"] <= total["p95"] <= total["p99"]
    assert total["rps"] > 0
    assert not port_is_open(summary["base"])  # the server was stopped
    text = (results / "summary.txt").read_text()
    assert f"{total['requests']} requests, 0 failures" in text
    assert "GET /api/posts/<slug>/" in result.stdout
    for name in ("locust_stats.csv", "locust_failures.csv", "server.log", "blog.sqlite3"):
        assert (results / name).exists(), name


def test_a_run_with_failures_exits_1_and_still_stops_the_server(tmp_path: Path) -> None:
    missing = tmp_path / "missing.py"
    missing.write_text(
        "from locust import HttpUser, task\n\n\n"
        "class Lost(HttpUser):\n"
        "    @task\n"
        "    def nowhere(self):\n"
        "        self.client.get('/api/nowhere/')\n"
    )
    result = run_driver(tmp_path, "--locustfile", str(missing))
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary["total"]["failures"] == summary["total"]["requests"] > 0
    assert "Load test failed" in result.stderr
    assert not port_is_open(summary["base"])


def test_a_database_without_the_seed_is_refused(tmp_path: Path) -> None:
    result = run_driver(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert result.returncode == 1
    assert "holds no seeded blog (no post 'abc-123'): pass --seed" in result.stderr


@pytest.mark.parametrize("option", ["--seconds", "--users", "--workers"])
def test_counts_must_be_positive(tmp_path: Path, option: str) -> None:
    result = run_driver(tmp_path, option, "0")
    assert result.returncode == 1
    assert "take 1 or more" in result.stderr
