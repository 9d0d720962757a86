"""The tables a statement reads and writes, told from its SQL text.

The ORM quotes every table it names, so its statements (compiled selects, counts, prefetch
and relation loads, subqueries, bulk and M2M writes) are told exactly. Raw SQL is told when
it is simple: a bare table name after ``INSERT INTO``, ``UPDATE``, ``DELETE FROM`` or
``TRUNCATE``; any other source that cannot be vouched for (an unquoted name, a function, a
comma-separated FROM list) makes the statement ``unknown``. Results are kept per SQL text,
so a statement is parsed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["StatementTables", "statement_tables"]


@dataclass(slots=True, frozen=True)
class StatementTables:
    """What a statement touches: ``reads`` and ``writes`` (table names), whether it
    ``deletes`` rows (foreign keys may change other tables), and whether some source
    (``unknown``) or written table (``unknown_write``) could not be told."""

    reads: frozenset[str]
    writes: frozenset[str]
    unknown: bool = False
    unknown_write: bool = False
    deletes: bool = False


# A keyword after which a table (or a subquery, or a function) is named.
_SOURCE = re.compile(r"\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+", re.IGNORECASE)
_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
_BARE = re.compile(r"([A-Za-z_][A-Za-z0-9_$]*)")
# After a table: an optional alias, then what may follow a table reference.
_ALIAS = re.compile(
    r'\s*(?:AS\s+)?(?:"(?:[^"]|"")+"|(?!(?:ON|WHERE|SET|USING)\b)[A-Za-z_]\w*)?\s*', re.I
)
# Functions the ORM selects from that read parameters, not tables.
_ROW_FUNCTIONS = frozenset(("unnest", "json_each", "jsonb_array_elements", "generate_series"))
# Statements that change data; their target is the table after their keyword.
_WRITES = {"INSERT": "INTO", "REPLACE": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}
_TRUNCATE = re.compile(r"\s*TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?", re.IGNORECASE)
_HEAD = re.compile(r"\s*([A-Za-z]+)")
_MAY_WRITE = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE|DROP|ALTER|REPLACE|COPY)\b", re.IGNORECASE
)
_MEMO_SIZE = 8192
_memo: dict[str, StatementTables] = {}

_NOTHING = StatementTables(frozenset(), frozenset())


def statement_tables(sql: str) -> StatementTables:
    """Return the tables *sql* reads and writes (parsed once per SQL text)."""
    found = _memo.get(sql)
    if found is None:
        found = _parse(sql)
        if len(_memo) >= _MEMO_SIZE:
            # Raw SQL with inlined values would grow it forever: drop the oldest half.
            for key in list(_memo)[: _MEMO_SIZE // 2]:
                del _memo[key]
        _memo[sql] = found
    return found


def _parse(sql: str) -> StatementTables:
    head_match = _HEAD.match(sql)
    head = head_match.group(1).upper() if head_match else ""
    if head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"):
        return _NOTHING
    if head == "TRUNCATE":
        return _truncated(sql)
    target_keyword = _WRITES.get(head)
    reads: set[str] = set()
    writes: set[str] = set()
    unknown = False
    target_done = False
    position = 0
    while True:
        match = _SOURCE.search(sql, position)
        if match is None:
            break
        keyword = match.group(1).upper()
        position = match.end()
        if keyword == "TABLE":
            continue  # CREATE TABLE, ALTER TABLE...: DDL, not a read
        if keyword == "UPDATE" and head != "UPDATE":
            continue  # FOR UPDATE, ON CONFLICT DO UPDATE
        if keyword == "INTO" and head not in ("INSERT", "REPLACE"):
            continue  # SELECT ... INTO is caught below as a possible write
        is_target = not target_done and keyword == target_keyword
        name, end = _table_at(sql, position, bare_ok=is_target)
        if name is None:
            if end < 0:
                unknown = True
            continue  # a subquery, or a function of parameters
        if is_target:
            writes.add(name)
            target_done = True
            continue
        reads.add(name)
        if keyword == "FROM" and _ALIAS.match(sql, end) and _after_alias(sql, end) == ",":
            unknown = True  # FROM a, b: the next source is not after a keyword
    unknown_write = False
    if target_keyword is None:
        unknown_write = head not in ("SELECT", "VALUES", "EXPLAIN", "SHOW") and bool(
            _MAY_WRITE.search(sql)
        )
        if head in ("WITH", "SELECT") and re.search(r"\bINTO\b", sql, re.IGNORECASE):
            unknown_write = True
    elif not target_done:
        unknown_write = True
    deletes = head == "DELETE"
    return StatementTables(frozenset(reads), frozenset(writes), unknown, unknown_write, deletes)


def _truncated(sql: str) -> StatementTables:
    """``TRUNCATE [TABLE] a, b``: every name listed, or unknown."""
    match = _TRUNCATE.match(sql)
    position = match.end() if match else len(sql)
    writes: set[str] = set()
    while True:
        name, end = _table_at(sql, position, bare_ok=True)
        if name is None:
            return StatementTables(frozenset(), frozenset(), unknown_write=True)
        writes.add(name)
        rest = sql[end:].lstrip()
        if not rest.startswith(","):
            return StatementTables(frozenset(), frozenset(writes), deletes=True)
        position = len(sql) - len(rest[1:].lstrip())


def _table_at(sql: str, position: int, *, bare_ok: bool) -> tuple[str | None, int]:
    """The table named at *position*: (name, end); (None, end) for a subquery or a
    parameter function; (None, -1) when what is there cannot be told."""
    char = sql[position : position + 1]
    if char == "(":
        return None, position
    if char == '"':
        match = _QUOTED.match(sql, position)
        if match is None:
            return None, -1
        end = match.end()
        if sql[end : end + 1] == ".":
            return None, -1  # schema-qualified: not a name the ORM writes
        return match.group(1).replace('""', '"'), end
    match = _BARE.match(sql, position)
    if match is None:
        return None, -1
    name, end = match.group(1), match.end()
    rest = sql[end:].lstrip()[:1]
    if rest == "(" and name.lower() in _ROW_FUNCTIONS:
        return None, end
    if bare_ok and rest != ".":
        return name, end  # INSERT INTO t (columns): a target is never a function
    return None, -1


def _after_alias(sql: str, end: int) -> str:
    match = _ALIAS.match(sql, end)
    stop = match.end() if match else end
    return sql[stop : stop + 1]
