"""The README's first command, for real: ``python -m examples.blog.serve`` seeds a SQLite
file and serves the blog API with uvicorn; requests go over 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
#: Longest wait for the server to seed its file and answer.
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            client.get("/api/tags/")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer in {READY_SECONDS} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_example_serves_its_api_over_http(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "blog.sqlite3"
    log = tmp_path / "server.log"
    env = {key: value for key, value in os.environ.items() if key != "AKSARA_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "examples.blog.serve", "--port", str(port)),
                *("--database-url", f"sqlite:///{database}", "--posts", "60"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until_ready(client, process, log)
            listing = client.get("/api/posts/", params={"page_size": 5})
            detail = client.get("/api/posts/abc-123/")
            narrow = client.get("/api/posts/", params={"fields": "id,slug"})
            missing = client.get("/api/posts/no-such-post/")
            redirect = client.get("/api/posts")
            # The demo password the server prints logs a seeded user in.
            password = log.read_text().split("password '", 1)[1].split("'", 1)[0]
            tokens = client.post(
                "/api/token/", json={"email": "user0@example.com", "password": password}
            )
            me = client.get(
                "/api/users/me/", headers={"Authorization": f"Bearer {tokens.json()['access']}"}
            )
    finally:
        stop(process)
    assert listing.status_code == 200
    assert listing.json()["count"] == 61
    assert len(listing.json()["results"]) == 5
    assert listing.json()["next"] == f"{base}/api/posts/?page_size=5&page=2"
    assert detail.status_code == 200
    assert detail.json()["title"] == "Performance"
    assert detail.json()["author_name"] == "User 0"
    assert {tuple(post) for post in narrow.json()["results"]} == {("id", "slug")}
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
    assert redirect.status_code in (301, 307, 308)
    assert tokens.status_code == 200, tokens.text
    assert me.json()["email"] == "user0@example.com"
    printed = log.read_text()
    assert f"{base}/api/posts/abc-123/" in printed
    assert "Seeded 61 posts" in printed
    assert database.stat().st_size > 0
