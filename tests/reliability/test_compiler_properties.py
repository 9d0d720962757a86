"""Property tests of the query compiler: any filter built from the lookups (exact, iexact,
contains, icontains, startswith, in, gt/gte/lt/lte, isnull, range) and Q's ``&``, ``|``
and ``~`` returns exactly the rows a Python comprehension over the same rows returns, on
SQLite and PostgreSQL.

Hypothesis draws the filters (derandomized, a fixed number of examples); the queries run in
the test's event loop afterwards, and a mismatch names the filter that caused it. Strings
hold LIKE's wildcards and its escape character, so a pattern that is not escaped shows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aksara import Q
from aksara.db import Database
from tests.models import Kitchen

EXAMPLES = 200
ALPHABET = "aAbB%_\\ "
LABELS = ["a", "A", "ab", "a%b", "a_b", "%", "_", "\\", "a\\b", "Ba", "aB%", ""]
NOTES: list[str | None] = [None, "b", "B_", "%a", "a b", "\\%"]
#: Pieces of the stored strings and their other cases, so most filters match some rows.
SNIPPETS = sorted(
    {
        case(text[start:end])
        for text in [*LABELS, *(note for note in NOTES if note is not None)]
        for start in range(len(text) + 1)
        for end in range(start, len(text) + 1)
        for case in (str, str.upper, str.lower, str.swapcase)
    }
)
TEXTS = st.one_of(st.sampled_from(SNIPPETS), st.text(alphabet=ALPHABET, max_size=4))
NUMBERS = st.integers(min_value=-3, max_value=3)


@dataclass(frozen=True)
class Filter:
    """A Q and the Python predicate it must agree with."""

    q: Q
    test: Callable[[Kitchen], bool]
    text: str


def _lower(value: str) -> str:
    return value.lower()


def _text_filter(draw: st.DrawFn) -> Filter:
    field = draw(st.sampled_from(["label", "notes"]))
    lookup = draw(st.sampled_from(["exact", "iexact", "contains", "icontains", "startswith"]))
    value = draw(TEXTS)
    tests: dict[str, Callable[[str, str], bool]] = {
        "exact": lambda row, wanted: row == wanted,
        "iexact": lambda row, wanted: _lower(row) == _lower(wanted),
        "contains": lambda row, wanted: wanted in row,
        "icontains": lambda row, wanted: _lower(wanted) in _lower(row),
        "startswith": lambda row, wanted: row.startswith(wanted),
    }
    check = tests[lookup]

    def test(row: Kitchen) -> bool:
        current = getattr(row, field)
        return current is not None and check(current, value)

    return Filter(Q(**{f"{field}__{lookup}": value}), test, f"{field}__{lookup}={value!r}")


def _number_filter(draw: st.DrawFn) -> Filter:
    field = draw(st.sampled_from(["small", "big"]))
    lookup = draw(st.sampled_from(["exact", "gt", "gte", "lt", "lte", "in", "range"]))
    value: Any
    if lookup == "in":
        value = draw(st.lists(NUMBERS, max_size=4))
    elif lookup == "range":
        value = tuple(sorted(draw(st.tuples(NUMBERS, NUMBERS))))
    else:
        value = draw(NUMBERS)
    tests: dict[str, Callable[[int, Any], bool]] = {
        "exact": lambda row, wanted: row == wanted,
        "gt": lambda row, wanted: row > wanted,
        "gte": lambda row, wanted: row >= wanted,
        "lt": lambda row, wanted: row < wanted,
        "lte": lambda row, wanted: row <= wanted,
        "in": lambda row, wanted: row in wanted,
        "range": lambda row, wanted: wanted[0] <= row <= wanted[1],
    }
    check = tests[lookup]

    def test(row: Kitchen) -> bool:
        current = getattr(row, field)
        return current is not None and check(current, value)

    return Filter(Q(**{f"{field}__{lookup}": value}), test, f"{field}__{lookup}={value!r}")


def _null_filter(draw: st.DrawFn) -> Filter:
    field = draw(st.sampled_from(["notes", "big"]))
    value = draw(st.booleans())

    def test(row: Kitchen) -> bool:
        return (getattr(row, field) is None) == value

    return Filter(Q(**{f"{field}__isnull": value}), test, f"{field}__isnull={value}")


@st.composite
def _leaf(draw: st.DrawFn) -> Filter:
    kind = draw(st.sampled_from([_text_filter, _number_filter, _null_filter]))
    return kind(draw)


def _combine(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    def both(pair: tuple[Filter, Filter]) -> Filter:
        a, b = pair
        return Filter(a.q & b.q, lambda row: a.test(row) and b.test(row), f"({a.text} & {b.text})")

    def either(pair: tuple[Filter, Filter]) -> Filter:
        a, b = pair
        return Filter(a.q | b.q, lambda row: a.test(row) or b.test(row), f"({a.text} | {b.text})")

    def negated(a: Filter) -> Filter:
        return Filter(~a.q, lambda row: not a.test(row), f"~{a.text}")

    return st.one_of(
        st.tuples(children, children).map(both),
        st.tuples(children, children).map(either),
        children.map(negated),
    )


FILTERS = st.recursive(_leaf(), _combine, max_leaves=6)


def _draw_filters() -> list[Filter]:
    drawn: list[Filter] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(FILTERS)
    def collect(candidate: Filter) -> None:
        drawn.append(candidate)

    collect()
    return drawn


def _rows() -> list[Kitchen]:
    """Every pairing of a few labels, notes and numbers, NULLs included."""
    numbers: list[int | None] = [None, -2, 0, 1, 3]
    rows = []
    for index, (label, note, big) in enumerate(itertools.product(LABELS, NOTES, numbers)):
        rows.append(Kitchen(label=label, notes=note, small=index % 7 - 3, big=big))
    return rows


async def test_filters_agree_with_python(db: Database) -> None:
    await Kitchen.objects.bulk_create(_rows())
    rows = await Kitchen.objects.all()
    assert len(rows) == 12 * 6 * 5
    mismatches = []
    for candidate in _draw_filters():
        expected = sorted(row.id for row in rows if candidate.test(row))
        got = sorted(await Kitchen.objects.filter(candidate.q).values_list("id", flat=True))
        if got != expected:
            extra = sorted(set(got) - set(expected))[:3]
            missing = sorted(set(expected) - set(got))[:3]
            mismatches.append(f"{candidate.text}: extra ids {extra}, missing ids {missing}")
    assert not mismatches, f"{len(mismatches)} of {EXAMPLES} filters disagree:\n" + "\n".join(
        mismatches[:15]
    )
