"""A PostgreSQL primary and its streaming replica of the tests' own: ``initdb``, a base
backup with ``pg_basebackup -R``, both started with ``pg_ctl`` on free ports in a temporary
folder (run as the ``postgres`` user when the tests run as root), stopped and deleted after."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "ClusterError", "pg_binaries", "pgbouncer", "streaming_cluster"]

_SEARCH = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/lib/postgresql/16/bin")


class ClusterError(RuntimeError):
    """The primary or the replica could not be set up."""


def pg_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and pg_basebackup, or None."""
    for folder in _SEARCH:
        path = Path(folder)
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup")):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """The running pair: their folders, ports and URLs; :meth:`pg_ctl` stops and starts."""

    bin: Path
    base: Path
    primary_port: int
    replica_port: int
    as_postgres: bool

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"

    def run(self, *args: str, timeout: float = 60.0) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.base
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed: {done.stdout}\n{done.stderr}")
        return done.stdout

    def pg_ctl(self, which: str, action: str) -> None:
        """``pg_ctl start`` / ``stop`` of ``"primary"`` or ``"replica"``, waiting for it."""
        folder = self.base / which
        extra = ["-m", "fast"] if action == "stop" else ["-l", str(self.base / f"{which}.log")]
        self.run("pg_ctl", "-D", str(folder), "-w", "-t", "30", action, *extra)


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("\n" + "\n".join(lines) + "\n")


@contextmanager
def streaming_cluster() -> Iterator[Cluster]:
    """Start a primary and its replica; always stop them and delete their folder."""
    binaries = pg_binaries()
    if binaries is None:
        raise ClusterError(f"initdb, pg_ctl and pg_basebackup not found in {', '.join(_SEARCH)}")
    as_postgres = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="aksara-replicas-"))
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
    cluster = Cluster(binaries, base, _free_port(), _free_port(), as_postgres)
    started: list[str] = []
    try:
        primary = base / "primary"
        cluster.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
        common = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{base}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 40",
            "shared_buffers = 16MB",
        ]
        _append(
            primary / "postgresql.conf",
            [
                *common,
                f"port = {cluster.primary_port}",
                "wal_level = replica",
                "max_wal_senders = 4",
                "hot_standby = on",
            ],
        )
        cluster.pg_ctl("primary", "start")
        started.append("primary")
        replica = base / "replica"
        cluster.run(
            "pg_basebackup",
            "-h", "127.0.0.1",
            "-p", str(cluster.primary_port),
            "-U", "postgres",
            "-D", str(replica),
            "-R",
            "-X", "stream",
            "--no-sync",
        )  # fmt: skip
        _append(replica / "postgresql.conf", [f"port = {cluster.replica_port}"])
        cluster.pg_ctl("replica", "start")
        started.append("replica")
        yield cluster
    finally:
        for which in reversed(started):
            with contextlib.suppress(ClusterError):  # stopped by the test already
                cluster.run("pg_ctl", "-D", str(base / which), "-w", "stop", "-m", "immediate")
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def pgbouncer(cluster: Cluster, *, pool_size: int = 1) -> Iterator[int]:
    """A PgBouncer in transaction mode in front of *cluster*'s primary (database
    ``postgres``, *pool_size* server connections), on a free port; stopped after."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise ClusterError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    folder = Path(tempfile.mkdtemp(prefix="aksara-pgbouncer-"))
    port = _free_port()
    pidfile = folder / "pgbouncer.pid"
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"postgres = host=127.0.0.1 port={cluster.primary_port} dbname=postgres",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {folder / 'userlist.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "max_client_conn = 100",
                f"logfile = {folder / 'pgbouncer.log'}",
                f"pidfile = {pidfile}",
                "",
            ]
        )
    )
    if cluster.as_postgres:
        shutil.chown(folder, "postgres", "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres", "postgres")
    command = [binary, "-d", "-q", str(folder / "pgbouncer.ini")]
    if cluster.as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise ClusterError(f"pgbouncer did not start: {done.stdout}\n{done.stderr}")
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise ClusterError(f"pgbouncer did not listen on port {port}")
        yield port
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)
