"""Metrics across worker processes: the directory ``aksara serve --workers N`` prepares
for prometheus_client's multiprocess mode, and the per-worker upkeep of the gauges.

prometheus_client chooses where its values live when it is first imported, so the
directory is named in the environment before uvicorn spawns the workers; each worker
imports it fresh and writes its figures there. A worker that ends (or dies) has its live
gauges removed with ``multiprocess.mark_process_dead``: by itself at shutdown, by the
server's watcher thread when it was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator

from aksara.monitoring.metrics import get_metrics, is_multiprocess

__all__ = ["REFRESH_SECONDS", "collecting_metrics", "mark_dead_workers", "multiprocess_metrics"]

_log = logging.getLogger("aksara.monitoring")

#: How often a serving process brings its pool gauges and cache counters up to date.
REFRESH_SECONDS = 1.0
#: How often the server looks for dead workers' live gauges.
WATCH_SECONDS = 2.0

_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


@contextlib.contextmanager
def multiprocess_metrics(directory: str | None = None) -> Iterator[str]:
    """Name a metrics directory in ``PROMETHEUS_MULTIPROC_DIR`` for the workers to come and
    watch it for dead workers; yield its path. The directory is *directory*, else the
    variable's, emptied of a previous run's files, else a fresh temporary one removed
    at the end."""
    previous = os.environ.get(_VARIABLE)
    path = directory or previous
    created = path is None
    if path is None:
        path = tempfile.mkdtemp(prefix="aksara-metrics-")
    else:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    os.environ[_VARIABLE] = path
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(path, stop), name="aksara-metrics-watcher", daemon=True
    )
    watcher.start()
    try:
        yield path
    finally:
        stop.set()
        watcher.join()
        if previous is None:
            os.environ.pop(_VARIABLE, None)
        else:
            os.environ[_VARIABLE] = previous
        if created:
            shutil.rmtree(path, ignore_errors=True)


def _watch(path: str, stop: threading.Event) -> None:
    while not stop.wait(WATCH_SECONDS):
        mark_dead_workers(path)


def mark_dead_workers(path: str) -> list[int]:
    """Remove the live gauges of the processes that wrote to *path* and are gone; return
    their ids."""
    from prometheus_client import multiprocess

    dead: list[int] = []
    for name in os.listdir(path) if os.path.isdir(path) else ():
        found = _LIVE_GAUGE.match(name)
        if found is None:
            continue
        pid = int(found[1])
        if pid not in dead and not _is_alive(pid):
            multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
            dead.append(pid)
    return dead


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.asynccontextmanager
async def collecting_metrics(interval: float = REFRESH_SECONDS) -> AsyncIterator[None]:
    """While a serving process runs: hand its requests' tallies to prometheus_client and
    refresh its pool gauges and cache counters every *interval* seconds; at the end, flush
    them a last time and, in multiprocess mode, mark the process dead."""
    metrics = get_metrics()

    async def refresh_forever() -> None:
        while True:
            try:
                metrics.refresh()
            except Exception:  # a gauge is not worth a dead process; say so and go on
                _log.exception("Refreshing the metrics failed")
            await asyncio.sleep(interval)

    task = asyncio.create_task(refresh_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        metrics.flush()  # the last requests' figures
        if is_multiprocess():
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
