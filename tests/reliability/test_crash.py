"""A worker killed with SIGKILL in the middle of requests (on a served uvicorn): every write
whose response arrived is in the database, and no transaction is left half written."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aksara.db import Database
from examples.blog.models import User
from tests.reliability.crash_app import BATCH_ROWS
from tests.reliability.servers import free_port

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[2]


def _start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AKSARA_SETTINGS_MODULE": "tests.reliability.crash_settings"}
    env["AKSARA_CRASH_DATABASE"] = url
    env["PYTHONPATH"] = str(REPO)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.reliability.crash_app:app",
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process


def _text(log: Path) -> str:
    return log.read_text()


async def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    process = _start(url, port, log)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(300):
            assert process.poll() is None, _text(log)
            try:
                ready = await http.post("/commit/ready")
                assert ready.status_code == 201, _text(log)
                return process
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError(f"the server never answered:\n{_text(log)}")


async def test_sigkill_mid_request_loses_no_commit_and_leaves_no_half(
    fresh_db: Database, tmp_path: Path
) -> None:
    port = free_port()
    process = await _serve(fresh_db.url, port, tmp_path / "server.log")
    confirmed: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def writer(worker: int) -> None:
                for count in range(10_000):
                    name = f"w{worker}-{count}"
                    try:
                        response = await http.post(f"/commit/{name}")
                    except httpx.TransportError:
                        return  # killed: this write may or may not have landed
                    assert response.status_code == 201
                    confirmed.append(name)

            async def batcher() -> None:
                for count in range(10_000):
                    try:
                        await http.post(f"/batch/b{count}")
                    except httpx.TransportError:
                        return

            tasks = [asyncio.create_task(writer(n)) for n in range(4)]
            tasks.append(asyncio.create_task(batcher()))
            await asyncio.sleep(1.2)  # a batch is mid-transaction most of the time
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            await asyncio.gather(*tasks)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == -signal.SIGKILL
    if fresh_db.name == "postgresql":
        # The server ends the dead client's sessions (rolling back) once it sees the socket close.
        for _ in range(100):
            open_sessions = await fresh_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
            if not open_sessions:
                break
            await asyncio.sleep(0.05)
    else:
        assert await fresh_db.fetchval("PRAGMA integrity_check") == "ok"
    names = set(await User.objects.values_list("name", flat=True))
    missing = [name for name in confirmed if name not in names]
    assert confirmed and not missing
    batches: dict[str, int] = {}
    for user in await User.objects.filter(name__startswith="b"):
        batches[user.name] = batches.get(user.name, 0) + 1
    assert all(count == BATCH_ROWS for count in batches.values()), batches
    print(
        f"\n[figure] SIGKILL ({fresh_db.name}): confirmed={len(confirmed)}, "
        f"whole_batches={len(batches)}, partial=0"
    )
