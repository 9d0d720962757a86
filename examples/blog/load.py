"""``make load``: serve the seeded blog with ``aksara serve`` on a free port of 127.0.0.1,
run the guide's locustfile headless against it for a bounded time, and write locust's CSV
files and a summary (requests/s, p50/p95/p99, failures) into ``load-results/``.

python -m examples.blog.load [--seconds 20] [--users 20] [--spawn-rate 20] [--workers 1]

Without ``DATABASE_URL`` the blog is seeded anew in ``load-results/blog.sqlite3``; with it,
that database is used as it is (``--seed`` makes its blog tables anew, dropping them). The
server is always stopped; the exit status is 1 when a request failed or none was made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import aksara
from aksara.conf import mask_url
from aksara.exceptions import AksaraError
from examples.blog.models import Post
from examples.blog.seed import GUIDE_SLUG
from examples.blog.serve import prepare
from examples.blog.summary import summarize

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
#: Longest wait for the server to answer, and for it (or locust) to stop.
READY_SECONDS = 60.0
STOP_SECONDS = 15.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _has_seed(url: str) -> bool:
    try:
        database = await aksara.connect(url)
    except Exception as error:
        await aksara.disconnect()
        raise SystemExit(f"Cannot connect to {mask_url(url)}: {error}") from None
    try:
        return bool(await Post.objects.filter(slug=GUIDE_SLUG).exists())
    except AksaraError:  # no blog tables
        return False
    finally:
        await database.close()
        await aksara.disconnect()


def prepare_database(url: str | None, output: Path, *, posts: int, seed: bool) -> str:
    """The URL the server will use: a new seeded SQLite file in *output* without *url*;
    *url* itself when it holds the seed (or, with *seed*, after seeding it anew)."""
    if url is None:
        database = output / "blog.sqlite3"
        for leftover in output.glob("blog.sqlite3*"):
            leftover.unlink()
        url = f"sqlite:///{database}"
        seed = True
    if seed:
        count = asyncio.run(prepare(url, posts=posts))
        print(f"Seeded {count} posts at {mask_url(url)}.", flush=True)
    elif not asyncio.run(_has_seed(url)):
        raise SystemExit(
            f"{mask_url(url)} holds no seeded blog (no post {GUIDE_SLUG!r}): pass "
            "--seed to make its blog tables anew (they are dropped), or unset DATABASE_URL."
        )
    return url


def start_server(url: str, output: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``aksara serve examples.blog.app:app`` on 127.0.0.1:*port*, on the database *url*."""
    (output / "load_settings.py").write_text(f"AKSARA = {{'DATABASE_URL': {url!r}}}\n")
    env = dict(os.environ)
    env["AKSARA_SETTINGS_MODULE"] = "load_settings"
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), str(output), env.get("PYTHONPATH")])
    )
    command = [
        *(sys.executable, "-m", "aksara.cli", "serve", "examples.blog.app:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning"),
    ]
    with (output / "server.log").open("wb") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Return once the server answers; SystemExit with its log when it dies or hangs."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/api/posts/?page_size=1", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"The server did not answer in {READY_SECONDS:.0f} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL if it takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_locust(arguments: argparse.Namespace, base: str, output: Path) -> int:
    """Locust headless for ``--seconds``; its CSV files go to *output*; its exit status."""
    command = [
        *(sys.executable, "-m", "locust", "-f", str(arguments.locustfile), "--headless"),
        *("--host", base, "--users", str(arguments.users)),
        *("--spawn-rate", str(arguments.spawn_rate), "--run-time", f"{arguments.seconds}s"),
        *("--csv", str(output / "locust"), "--json-file", str(output / "locust")),
        *("--only-summary", "--stop-timeout", "5"),
        *("--loglevel", "WARNING"),
    ]
    with (output / "locust.log").open("wb") as log:
        try:
            return subprocess.run(
                command,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=arguments.seconds + READY_SECONDS,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return 1


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(env("LOAD_SECONDS", "20")))
    parser.add_argument("--users", type=int, default=int(env("LOAD_USERS", "20")))
    parser.add_argument("--spawn-rate", type=float, default=float(env("LOAD_SPAWN_RATE", "20")))
    parser.add_argument("--workers", type=int, default=int(env("LOAD_WORKERS", "1")))
    parser.add_argument("--posts", type=int, default=1_000, help="posts to seed")
    parser.add_argument("--database-url", default=env("DATABASE_URL") or None)
    parser.add_argument("--seed", action="store_true", help="seed --database-url anew")
    parser.add_argument("--output", type=Path, default=REPO / "load-results")
    parser.add_argument("--locustfile", type=Path, default=LOCUSTFILE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.seconds < 1 or arguments.users < 1 or arguments.workers < 1:
        raise SystemExit("--seconds, --users and --workers take 1 or more.")
    output: Path = arguments.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    for previous in output.glob("locust*"):
        previous.unlink()  # a run that fails early must not show the last one's figures
    url = prepare_database(
        arguments.database_url, output, posts=arguments.posts, seed=arguments.seed
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(url, output, port, arguments.workers)
    try:
        wait_until_ready(process, base, output / "server.log")
        print(
            f"locust: {arguments.users} users on {base} for {arguments.seconds} s "
            f"({arguments.workers} worker(s))...",
            flush=True,
        )
        status = run_locust(arguments, base, output)
    finally:
        stop(process)
    summary = summarize(output / "locust.json", base=base, seconds=arguments.seconds)
    (output / "summary.txt").write_text(summary.text + "\n")
    (output / "summary.json").write_text(summary.json)
    print(summary.text)
    if status != 0 or summary.failures or not summary.requests:
        print(f"Load test failed: see {output / 'locust.log'}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
