"""Query logging and slow-query alerts, applied by the database to every statement it runs.

``LOG_QUERIES`` (or ``DEBUG``) sends each statement to the ``aksara.db`` logger at DEBUG
with its duration and parameters, values of secret-looking columns masked. A statement
slower than ``SLOW_QUERY_MS`` is logged at WARNING on ``aksara.db.slow`` with the line of
application code that ran it, and passed to ``SLOW_QUERY_HANDLER`` when one is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = ["SlowQuery", "find_caller", "log_query", "mask_params", "report_slow"]

query_logger = logging.getLogger("aksara.db")
slow_logger = logging.getLogger("aksara.db.slow")

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIPPED: tuple[str, ...] = (_PACKAGE + os.sep, os.path.dirname(asyncio.__file__ or "") + os.sep)
_SECRET = re.compile(r"pass(word|wd)?|secret|token|api_?key|auth|credential|private|salt|ssn", re.I)
_PLACEHOLDER = re.compile(r"\$(\d+)|\?")
_COMPARED = re.compile(r'"(\w+)"\s*(?:=|<>|!=|<=|>=|<|>|LIKE|ILIKE|IN\s*\()\s*(?:\$(\d+)|\?)', re.I)
_INSERT = re.compile(r'INSERT\s+INTO\s+"?\w+"?\s*\(([^)]*)\)', re.I)
MASK = "***"


def find_caller() -> tuple[str, int, str] | None:
    """(file, line, function) of the innermost frame outside Aksara and asyncio."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_SKIPPED) and not filename.startswith("<"):
            return filename, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


def _secret_positions(sql: str, count: int) -> set[int]:
    positions: set[int] = set()
    numbered = "$" in sql
    if numbered:
        for match in _COMPARED.finditer(sql):
            if _SECRET.search(match.group(1)) and match.group(2):
                positions.add(int(match.group(2)) - 1)
    else:
        marks = [m.start() for m in _PLACEHOLDER.finditer(sql)]
        for match in _COMPARED.finditer(sql):
            if _SECRET.search(match.group(1)):
                end = match.end() - 1
                if end in marks:
                    positions.add(marks.index(end))
    insert = _INSERT.search(sql)
    if insert:
        columns = [c.strip().strip('"') for c in insert.group(1).split(",")]
        for index in range(count):
            if _SECRET.search(columns[index % len(columns)]):
                positions.add(index)
    return positions


def mask_params(sql: str, params: Sequence[Any]) -> list[Any]:
    """*params* with the values bound to secret-looking columns replaced by ``***``."""
    if not params:
        return []
    positions = _secret_positions(sql, len(params))
    return [MASK if index in positions else value for index, value in enumerate(params)]


def log_query(sql: str, params: Sequence[Any], duration: float, rows: int) -> None:
    """Log one statement at DEBUG on ``aksara.db``."""
    if query_logger.isEnabledFor(logging.DEBUG):
        query_logger.debug(
            "(%.2f ms, %d rows) %s; params=%r", duration, rows, sql, mask_params(sql, params)
        )


@dataclass(frozen=True, slots=True)
class SlowQuery:
    """A statement that ran longer than ``SLOW_QUERY_MS``."""

    sql: str
    params: list[Any]
    duration: float
    database: str
    caller: tuple[str, int, str] | None


def report_slow(
    sql: str,
    params: Sequence[Any],
    duration: float,
    database: str,
    handler: Callable[[SlowQuery], Any] | None,
) -> None:
    """Warn about a slow statement and pass it to *handler*."""
    caller = find_caller()
    where = f" at {caller[0]}:{caller[1]} in {caller[2]}" if caller else ""
    slow_logger.warning("Slow query (%.1f ms)%s: %s", duration, where, sql)
    if handler is not None:
        try:
            handler(SlowQuery(sql, mask_params(sql, params), duration, database, caller))
        except Exception:
            slow_logger.exception("SLOW_QUERY_HANDLER failed")
