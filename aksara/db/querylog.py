"""Query logging and slow-query alerts, applied by the database to every statement it runs.

``LOG_QUERIES`` (or ``DEBUG``) sends each statement to the ``aksara.db`` logger at DEBUG
with its duration and parameters, values of secret-looking columns masked: the ORM records
which parameters those are when it compiles a statement; only SQL it did not compile (raw
statements, bulk writes) is read to find them. A statement
slower than ``SLOW_QUERY_MS`` is logged at WARNING on ``aksara.db.slow`` with the line of
application code that ran it, and passed to ``SLOW_QUERY_HANDLER`` when one is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

__all__ = [
    "MAX_LOGGED_PARAMS",
    "MAX_LOGGED_SQL",
    "SlowQuery",
    "clip",
    "find_caller",
    "is_secret_column",
    "log_query",
    "mask_params",
    "report_slow",
]

query_logger = logging.getLogger("aksara.db")
slow_logger = logging.getLogger("aksara.db.slow")

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIPPED: tuple[str, ...] = (_PACKAGE + os.sep, os.path.dirname(asyncio.__file__ or "") + os.sep)
_SECRET = re.compile(
    r"(?:^|_)(?:pass(?:word|wd|phrase)?|secret|token|api_?key|auth|credentials?|private_?key|"
    r"salt|ssn)(?:_|$)",
    re.I,
)
_MARK = r"(?P<mark>\$(?P<number>\d+)|\?)"
_PLACEHOLDER = re.compile(r"\$(\d+)|\?")
# "col" = ?, LOWER("t"."col") = LOWER(?), "col" = ANY($1), "col" LIKE ? …
_COMPARED = re.compile(
    r'(?:\w+\()?"(?P<column>\w+)"\)?\s*(?:=|<>|!=|<=|>=|<|>|NOT\s+LIKE|LIKE|ILIKE)\s*'
    r"(?:ANY\s*\(|\w+\()?" + _MARK,
    re.I,
)
_IN_LIST = re.compile(r'"(?P<column>\w+)"\)?\s+IN\s*\((?P<marks>[^)]*)\)', re.I)
_INSERT = re.compile(r'INSERT\s+INTO\s+"?\w+"?\s*\(([^)]*)\)', re.I)
# bulk_update: SET "col" = v."c2" over rows given column by column
_FROM_ROWS = re.compile(r'"(?P<column>\w+)"\s*=\s*v\."c(?P<index>\d+)"')
_ROW_WIDTH = re.compile(r'AS "c\d+"|::\w+\[\]')
MASK = "***"
#: Characters of a statement's SQL, and of its parameters' repr, that a log line keeps.
MAX_LOGGED_SQL = 2_000
MAX_LOGGED_PARAMS = 1_000


def clip(text: str, limit: int) -> str:
    """*text*, cut to *limit* characters with a marker saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


def find_caller() -> tuple[str, int, str] | None:
    """(file, line, function) of the innermost frame outside Aksara and asyncio."""
    frame: FrameType | None = sys._getframe(1)
    skipped = _skipped_code
    while frame is not None:
        code = frame.f_code
        skip = skipped.get(code)
        if skip is None:
            filename = code.co_filename
            skip = filename.startswith(_SKIPPED) or filename.startswith("<")
            if len(skipped) < 100_000:
                skipped[code] = skip
        if not skip:
            return code.co_filename, frame.f_lineno, code.co_name
        frame = frame.f_back
    return None


# Whether a code object belongs to Aksara or asyncio, decided once per code object.
_skipped_code: dict[CodeType, bool] = {}


def is_secret_column(column: str) -> bool:
    """True when values of *column* (``password``, ``api_key``…) must not be logged."""
    return _SECRET.search(column) is not None


def _secret_positions(sql: str, count: int) -> set[int] | frozenset[int]:
    positions: set[int] = set()
    marks = [match.start() for match in _PLACEHOLDER.finditer(sql)]

    def position_of(offset: int, number: str | None) -> int | None:
        if number is not None:
            return int(number) - 1
        return marks.index(offset) if offset in marks else None

    for match in _COMPARED.finditer(sql):
        if _SECRET.search(match.group("column")):
            found = position_of(match.start("mark"), match.group("number"))
            if found is not None:
                positions.add(found)
    for match in _IN_LIST.finditer(sql):
        if _SECRET.search(match.group("column")):
            base = match.start("marks")
            for inner in _PLACEHOLDER.finditer(match.group("marks")):
                found = position_of(base + inner.start(), inner.group(1))
                if found is not None:
                    positions.add(found)
    insert = _INSERT.search(sql)
    if insert:
        columns = [c.strip().strip('"') for c in insert.group(1).split(",")]
        for index in range(count):
            if _SECRET.search(columns[index % len(columns)]):
                positions.add(index)
    width = len(_ROW_WIDTH.findall(sql))
    for match in _FROM_ROWS.finditer(sql):
        if _SECRET.search(match.group("column")) and width:
            column = int(match.group("index"))
            if "$" in sql:
                positions.add(column)  # one array parameter per column
            else:
                positions.update(range(column, count, width))
    return positions


def mask_params(
    sql: str, params: Sequence[Any], known: Mapping[str, frozenset[int]] | None = None
) -> list[Any]:
    """*params* with the values bound to secret-looking columns replaced by ``***``.

    *known* maps the SQL of compiled statements to those positions; other SQL is read.
    """
    if not params:
        return []
    recorded = known.get(sql) if known is not None else None
    positions = _secret_positions(sql, len(params)) if recorded is None else recorded
    return [MASK if index in positions else value for index, value in enumerate(params)]


def log_query(
    sql: str,
    params: Sequence[Any],
    duration: float,
    rows: int,
    *,
    error: BaseException | None = None,
    known: Mapping[str, frozenset[int]] | None = None,
) -> None:
    """Log one statement at DEBUG on ``aksara.db`` (a failed one with its error); *known*
    as in :func:`mask_params`."""
    if query_logger.isEnabledFor(logging.DEBUG):
        outcome = f"failed: {error}" if error is not None else f"{max(rows, 0)} rows"
        query_logger.debug(
            "(%.2f ms, %s) %s; params=%s",
            duration,
            outcome,
            clip(sql, MAX_LOGGED_SQL),
            clip(repr(mask_params(sql, params, known)), MAX_LOGGED_PARAMS),
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
    known: Mapping[str, frozenset[int]] | None = None,
) -> None:
    """Warn about a slow statement and pass it to *handler* (its secrets masked, *known* as
    in :func:`mask_params`)."""
    caller = find_caller()
    where = f" at {caller[0]}:{caller[1]} in {caller[2]}" if caller else ""
    slow_logger.warning("Slow query (%.1f ms)%s: %s", duration, where, clip(sql, MAX_LOGGED_SQL))
    if handler is not None:
        try:
            handler(SlowQuery(sql, mask_params(sql, params, known), duration, database, caller))
        except Exception:
            slow_logger.exception("SLOW_QUERY_HANDLER failed")
