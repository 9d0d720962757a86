"""Metrics across worker processes: ``aksara serve --workers 2`` with METRICS on gives the
workers one metrics directory, so a scrape of either reports every request of both (once
each has handed its figures over: every second); a
killed worker's live gauges are dropped; the directory goes when the server stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from aksara.monitoring import mark_dead_workers
from tests.monitoring.helpers import value
from tests.test_example_server import REPO, free_port, stop

#: Longest wait for the workers to start, answer, or report.
WAIT_SECONDS = 60.0
#: Most requests sent while looking for both workers (new connection each time).
MAX_REQUESTS = 400
POOL_MAX_SIZE = 3
REQUESTS = {"method": "GET", "route": "/worker/", "status": "200"}


def wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {WAIT_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    (tmp_path / "settings.py").write_text(
        "AKSARA = {\n"
        f"    'DATABASE_URL': {'sqlite:///' + str(tmp_path / 'app.sqlite3')!r},\n"
        f"    'DATABASE_POOL': {{'min_size': 1, 'max_size': {POOL_MAX_SIZE}}},\n"
        "    'METRICS': {},\n"
        "}\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AKSARA_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "aksara.cli", "serve", "tests.monitoring.workers_app:app"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", "2", "--log-level", "warning"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        stop(process)


def answered(base: str, path: str) -> httpx.Response | None:
    """One request on a connection of its own (so the workers share them), or None."""
    try:
        return httpx.get(base + path, timeout=10)
    except httpx.TransportError:
        return None


def scrape(base: str) -> str:
    response = httpx.get(base + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def test_two_workers_report_one_set_of_figures(
    server: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, base, log = server
    wait_for(lambda: answered(base, "/ready/") is not None, "the server answering", log)
    pids: set[int] = set()
    directories: set[str] = set()
    sent = 0
    while len(pids) < 2 and sent < MAX_REQUESTS:
        response = answered(base, "/worker/")
        assert response is not None and response.status_code == 200, log.read_text()
        sent += 1
        pids.add(response.json()["pid"])
        directories.add(response.json()["directory"])
    assert len(pids) == 2, f"one worker answered all {sent} requests:\n{log.read_text()}"
    (directory,) = directories
    assert directory and Path(directory).is_dir()

    # Each worker hands its figures over every second: then every scrape, whichever
    # worker serves it, counts the requests of both.
    wait_for(
        lambda: value(scrape(base), "aksara_http_requests_total", **REQUESTS) == sent,
        f"{sent} requests counted",
        log,
    )
    for _ in range(6):
        assert value(scrape(base), "aksara_http_requests_total", **REQUESTS) == sent
    # Each worker's pool figures are summed: both pools, open since startup.
    wait_for(
        lambda: (
            value(scrape(base), "aksara_db_pool_max_size", database="sqlite", alias="default")
            == 2 * POOL_MAX_SIZE
        ),
        "both workers' pool gauges",
        log,
    )

    # A worker killed outright: the server starts another, and the dead one's live gauges
    # go (its counters stay: they counted requests that were answered).
    victim = sorted(pids)[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: (
            not any(
                name.endswith(f"_{victim}.db") and "live" in name for name in os.listdir(directory)
            )
        ),
        "the dead worker's gauges removed",
        log,
    )
    wait_for(
        lambda: (
            value(scrape(base), "aksara_db_pool_max_size", database="sqlite", alias="default")
            == 2 * POOL_MAX_SIZE
        ),
        "the restarted worker's pool gauges",
        log,
    )
    assert value(scrape(base), "aksara_http_requests_total", **REQUESTS) == sent

    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT_SECONDS) == 0, log.read_text()
    assert not Path(directory).exists()


def test_mark_dead_workers_keeps_the_living(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(finished.stdout)
    alive = os.getpid()
    for pid in (dead, alive):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    assert mark_dead_workers(str(tmp_path)) == [dead]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"counter_{dead}.db", f"counter_{alive}.db", f"gauge_livesum_{alive}.db"]
    )
