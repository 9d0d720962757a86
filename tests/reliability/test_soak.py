"""A bounded soak of the blog example: ``aksara serve`` (1 worker) on a seeded SQLite file,
loaded from a second process on 127.0.0.1 (``wrk``, else tests/reliability/soak_client.py)
with as many requests as the worker answers: 0 errors, p99 recorded, the worker's RSS flat
after a warm-up (growth under 10%) and no file descriptor leaked.

The default run soaks 5 s; the ``slow`` group ``AKSARA_SOAK_SECONDS`` (60 by default)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.blog.load import stop, wait_until_ready
from examples.blog.seed import DEMO_PASSWORD
from tests.reliability.helpers import figure
from tests.reliability.servers import free_port

REPO = Path(__file__).resolve().parents[2]
#: Seconds of the slow group's soak (``AKSARA_SOAK_SECONDS``: fewer in CI).
SLOW_SECONDS = float(os.environ.get("AKSARA_SOAK_SECONDS", "60"))
#: Concurrent connections of the load: enough to keep one worker busy all the time.
CONNECTIONS = 16
#: Statuses a request of the load may get (every one of its requests should succeed).
INTENDED = {"200"}


def _seed(directory: Path) -> str:
    """A new SQLite blog in *directory* (its migrations, 200 posts); its URL."""
    url = f"sqlite:///{directory / 'blog.sqlite3'}"
    code = f"import asyncio; from examples.blog.serve import prepare; asyncio.run(prepare({url!r}, posts=200))"  # fmt: skip
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300)
    return url


def _serve(url: str, directory: Path, port: int) -> subprocess.Popen[bytes]:
    settings = {"DATABASE_URL": url, "SECRET_KEY": "soak-test-secret-key-0123456789abcdefghij"}
    (directory / "soak_settings.py").write_text(f"AKSARA = {settings!r}\n")
    env = {**os.environ, "AKSARA_SETTINGS_MODULE": "soak_settings", "BLOG_ANON_RATE": "off"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(directory)])
    with (directory / "server.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "aksara.cli", "serve", "examples.blog.app:app",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--log-level", "warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _worker(pid: int) -> int:
    """The process serving requests: *pid* itself (one worker runs in the main process), or
    its one child if uvicorn spawned one."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if len(children) == 1 else pid


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settled_fds(pid: int, ceiling: int) -> int:
    """The worker's open descriptors once the closed connections are gone (waits up to 10 s
    for the count to come back to *ceiling*; a leak stays above it)."""
    deadline = time.monotonic() + 10
    count = _fds(pid)
    while count > ceiling and time.monotonic() < deadline:
        time.sleep(0.1)
        count = _fds(pid)
    return count


def _idle_fds(pid: int) -> int:
    """The worker's open descriptors once the count holds still for 1 s (the load's
    connections closed), at most 10 s of looking."""
    deadline = time.monotonic() + 10
    counts = [_fds(pid)]
    while time.monotonic() < deadline and (len(counts) < 6 or len(set(counts[-6:])) > 1):
        time.sleep(0.2)
        counts.append(_fds(pid))
    return counts[-1]


def _load(base: str, seconds: float, token: str, log: Path) -> dict[str, Any]:
    """Run the load for *seconds* from a second process; its ``SOAK`` totals."""
    if shutil.which("wrk"):
        command = [
            "wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{max(1, round(seconds))}s",
            "--timeout", "30s", "-s", str(REPO / "tests/reliability/soak.lua"), base, "--", token,
        ]  # fmt: skip
    else:
        command = [sys.executable, "-m", "tests.reliability.soak_client", base, str(seconds), token, str(CONNECTIONS)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=seconds + 120)
    log.write_text(done.stdout + done.stderr)
    line = next((row for row in done.stdout.splitlines() if row.startswith("SOAK ")), None)
    assert done.returncode == 0 and line is not None, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(line[5:])
    result["tool"] = Path(command[0]).name if command[0] == "wrk" else "soak_client"
    return result


def soak(directory: Path, seconds: float) -> None:
    """Serve, warm up, soak for *seconds*, and check errors, memory and descriptors."""
    url = _seed(directory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(url, directory, port)
    try:
        wait_until_ready(process, base, directory / "server.log")
        login = httpx.post(
            f"{base}/api/token/",
            json={"email": "user0@example.com", "password": DEMO_PASSWORD},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access"]
        worker = _worker(process.pid)
        warm = _load(base, max(2.0, seconds / 5), token, directory / "warmup.log")
        fds_before = _idle_fds(worker)
        rss_before = _rss_kib(worker)
        result = _load(base, seconds, token, directory / "soak.log")
        rss_after = _rss_kib(worker)
        fds_after = _settled_fds(worker, fds_before)
        assert process.poll() is None, (directory / "server.log").read_text()
    finally:
        stop(process)
    for run in (warm, result):
        unintended = {status: n for status, n in run["statuses"].items() if status not in INTENDED}
        assert unintended == {} and run["socket_errors"] == 0, run
    assert result["requests"] > 0
    growth = (rss_after - rss_before) / rss_before
    figure(
        f"soak {seconds:g} s ({result['tool']}, {CONNECTIONS} connections, 1 worker, SQLite)",
        requests=result["requests"],
        per_second=round(result["requests"] / result["seconds"]),
        errors=0,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        rss_kib=f"{rss_before}->{rss_after} ({growth:+.1%})",
        fds=f"{fds_before}->{fds_after}",
    )
    assert growth < 0.10, (
        f"RSS grew {growth:.1%} after the warm-up: {rss_before} -> {rss_after} KiB"
    )
    assert fds_after <= fds_before, f"file descriptors {fds_before} -> {fds_after}"


@pytest.mark.fault
def test_soak_short(tmp_path: Path) -> None:
    soak(tmp_path, 5)


@pytest.mark.slow  # not `fault`: `pytest -m fault` stays short
def test_soak(tmp_path: Path) -> None:
    soak(tmp_path, SLOW_SECONDS)
