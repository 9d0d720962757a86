"""``aksara serve module:app``: a bad target is one line and exit status 2 before uvicorn
starts; the real command serves over 127.0.0.1 and, on SIGTERM, finishes the request in
flight and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from aksara.cli import main
from tests.test_cli import in_project, one_error_line
from tests.test_example_server import REPO, free_port, stop, wait_until_ready

__all__ = ["in_project"]

#: Longest wait for the server to exit once SIGTERM is sent.
EXIT_SECONDS = 10.0


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("examples.blog.app", "takes module:app (e.g. myapp.main:app), got 'examples.blog.app'"),
        (":app", "takes module:app"),
        ("examples.blog.app:", "takes module:app"),
        ("no_such_module:app", "No module named 'no_such_module'"),
        (
            "examples.blog.app:nope",
            "examples.blog.app has no attribute 'nope'. ASGI apps there: app",
        ),
        ("examples.blog.app:router", "examples.blog.app:router is a Router, not an ASGI app"),
        ("examples.blog.app:Aksara", "is a type, not an ASGI app"),
    ],
)
def test_a_bad_target_is_one_line_and_status_2(
    target: str, fragment: str, in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", target, "--port", "1"]) == 2
    captured = capsys.readouterr()
    assert fragment in one_error_line(captured.err)
    assert "Uvicorn" not in captured.out + captured.err


def test_a_module_failing_to_import_is_status_2(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_project / "broken_app.py").write_text("import no_such_dependency\napp = None\n")
    assert main(["serve", "broken_app:app"]) == 2
    assert "it imports 'no_such_dependency'" in one_error_line(capsys.readouterr().err)


def test_reload_runs_one_worker(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "examples.blog.app:app", "--reload", "--workers", "4"]) == 1
    assert "--reload runs one worker" in one_error_line(capsys.readouterr().err)


def seeded_project(tmp_path: Path) -> dict[str, str]:
    """A seeded SQLite blog in *tmp_path*, its settings module there; the server's env."""
    url = f"sqlite:///{tmp_path / 'blog.sqlite3'}"
    secret = "serve-test-secret-key-0123456789-abcdefghij"  # the example signs tokens
    (tmp_path / "settings.py").write_text(
        f"AKSARA = {{'DATABASE_URL': {url!r}, 'SECRET_KEY': {secret!r}}}\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "AKSARA_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    seed = f"import asyncio; from examples.blog.serve import prepare; asyncio.run(prepare({url!r}, posts=4))"
    subprocess.run([sys.executable, "-c", seed], cwd=tmp_path, env=env, check=True, timeout=30)
    return env


def serve(target: str, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``aksara serve target --workers 1`` on a free port; the process and its address."""
    port = free_port()
    with (tmp_path / "server.log").open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aksara.cli",
                "serve",
                target,
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def test_serves_the_blog_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    process, base = serve("examples.blog.app:app", tmp_path, seeded_project(tmp_path))
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until_ready(client, process, tmp_path / "server.log")
            detail = client.get("/api/posts/abc-123/")
            listing = client.get("/api/posts/", params={"page_size": 2})
        process.send_signal(signal.SIGTERM)
        assert process.wait(EXIT_SECONDS) == 0
    finally:
        stop(process)
    assert detail.status_code == 200
    assert detail.json()["title"] == "Performance"
    assert listing.json()["count"] == 5
    log = (tmp_path / "server.log").read_text()
    assert "Application shutdown complete" in log


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    from tests.serve_app import SLOW_SECONDS

    process, base = serve("tests.serve_app:app", tmp_path, seeded_project(tmp_path))
    answers: list[httpx.Response | BaseException] = []

    def request_slowly() -> None:
        try:
            with httpx.Client(base_url=base, timeout=SLOW_SECONDS + 10) as client:
                answers.append(client.get("/slow/"))
        except BaseException as error:  # the assertion below shows it
            answers.append(error)

    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until_ready(client, process, tmp_path / "server.log")
        request = threading.Thread(target=request_slowly)
        request.start()
        time.sleep(SLOW_SECONDS / 3)  # the request is in the handler's sleep by now
        assert not answers
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status = process.wait(EXIT_SECONDS)
        exited = time.monotonic() - sent
        request.join(EXIT_SECONDS)
    finally:
        stop(process)
    assert status == 0
    assert exited < SLOW_SECONDS + 5
    assert len(answers) == 1, answers
    answer = answers[0]
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 200
    assert answer.json() == {"before": 5, "after": 5}
    log = (tmp_path / "server.log").read_text()
    assert "Application shutdown complete" in log


def test_workers_must_be_one_or_more(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "examples.blog.app:app", "--workers", "0"]) == 1
    assert "--workers takes a number of processes, 1 or more, got 0" in one_error_line(
        capsys.readouterr().err
    )
