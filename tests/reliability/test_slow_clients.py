"""Slow-loris clients on a served socket (``aksara serve``, uvicorn with httptools): a body
trickled byte by byte is cut off by ``BODY_TIMEOUT`` with a 408; a request head trickled
byte by byte is not bounded by uvicorn (no header timeout), but it holds one connection and
nothing else: every other client is served meanwhile (see RELIABILITY.md)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

import aksara
from aksara.exceptions import ConfigurationError
from examples.blog.app import app as example_app
from tests.reliability.helpers import figure
from tests.reliability.servers import free_port

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[2]
#: The served app's BODY_TIMEOUT (seconds), short so the test stays short.
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The blog example served by ``aksara serve`` (1 worker) with a 1 s ``BODY_TIMEOUT``."""
    directory = tmp_path_factory.mktemp("slow_clients")
    settings = {
        "DATABASE_URL": f"sqlite:///{directory / 'blog.sqlite3'}",
        "SECRET_KEY": "slow-client-tests-secret-key-0123456789abcdef",
        "BODY_TIMEOUT": TIMEOUT,
    }
    (directory / "slow_settings.py").write_text(f"AKSARA = {settings!r}\n")
    env = {**os.environ, "AKSARA_SETTINGS_MODULE": "slow_settings"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(directory)])
    port = free_port()
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "aksara.cli", "serve", "examples.blog.app:app",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--log-level", "warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (directory / "server.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response (Content-Length framed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    return status, await reader.readexactly(length)


async def _trickle_body(port: int, *, chunked: bool) -> tuple[int, dict[str, str], float, int]:
    """POST a login body one byte every 0.2 s; the answer, its delay and the bytes sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"email": "someone@example.com", "password": "x" * 200}).encode()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    writer.write(
        f"POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    await writer.drain()
    started = time.monotonic()
    answer = asyncio.ensure_future(_read_response(reader))
    sent = 0
    try:
        for byte in body:
            if answer.done():
                break
            piece = bytes([byte])
            writer.write(b"1\r\n" + piece + b"\r\n" if chunked else piece)
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.2)
        # A hang detector only: the answer is due after TIMEOUT, long before this.
        status, payload = await asyncio.wait_for(answer, 30)
    finally:
        answer.cancel()
        writer.close()
    return status, json.loads(payload), time.monotonic() - started, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_trickled_body_is_a_408(served: int, chunked: bool) -> None:
    status, body, seconds, sent = await _trickle_body(served, chunked=chunked)
    assert status == 408
    assert body == {"detail": "Request body not received within 1 s."}
    # The body was cut off, not read whole: far fewer bytes went out than it holds.
    assert sent < 200
    figure(f"trickled body ({'chunked' if chunked else 'content-length'})", answered_after_s=f"{seconds:.2f}", bytes_sent=sent)  # fmt: skip


async def test_a_body_sent_in_time_is_read(served: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served}", timeout=30) as http:

        async def pieces() -> AsyncIterator[bytes]:
            for piece in (b'{"email": "nobody', b'@example.com"}'):
                await asyncio.sleep(0.1)
                yield piece

        response = await http.post(
            "/api/token/", content=pieces(), headers={"content-type": "application/json"}
        )
    # Read whole and judged: the password is missing.
    assert response.status_code == 400, response.text
    assert "password" in response.json(), response.text


async def test_others_are_served_while_a_head_trickles(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    head = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    served_meanwhile = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served}", timeout=10) as http:
            for index in range(15):  # 3 s of a byte every 0.2 s
                writer.write(head[index : index + 1])
                await writer.drain()
                response = await http.get("/openapi.json")
                assert response.status_code == 200
                served_meanwhile += 1
                await asyncio.sleep(0.2)
        # uvicorn bounds neither the time to send a request head nor the wait for its
        # first byte: the connection is still open (a proxy in front must bound it).
        still_open = not reader.at_eof()
    finally:
        writer.close()
    assert served_meanwhile == 15
    figure("trickled request head, 3 s", others_served=served_meanwhile, still_open=still_open)


@pytest.mark.parametrize("value", [0, -1, "30", True])
def test_body_timeout_is_validated(value: object) -> None:
    with pytest.raises(ConfigurationError, match="BODY_TIMEOUT"):
        aksara.configure(BODY_TIMEOUT=value)


async def test_the_bound_is_the_setting() -> None:
    async def slow_pieces() -> AsyncIterator[bytes]:
        for piece in (b'{"email": "nobody', b'@example.com"}'):
            await asyncio.sleep(0.3)
            yield piece

    transport = httpx.ASGITransport(app=example_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        aksara.configure(BODY_TIMEOUT=0.2)
        cut = await http.post("/api/token/", content=slow_pieces())
        aksara.configure(BODY_TIMEOUT=None)
        unbounded = await http.post("/api/token/", content=slow_pieces())
    assert cut.status_code == 408
    assert cut.json() == {"detail": "Request body not received within 0.2 s."}
    assert unbounded.status_code == 400
    assert "password" in unbounded.json()
