"""Generated row builders: names quoted safely, source visible to tracebacks and pdb."""

from __future__ import annotations

import inspect
import traceback
from typing import Any

import pytest

from aksara.orm.rows import make_builder


class Sneaky(str):
    """A str whose repr would close the quote and run code if the generator used it."""

    def __repr__(self) -> str:
        return "'x': __import__('os').getpid(), 'y'"


def test_names_are_quoted_by_str_repr_whatever_their_class() -> None:
    build = make_builder((Sneaky("title"),), {}, "dict")
    assert build([("hello",)]) == [{"title": "hello"}]


def test_generated_source_is_shown_by_inspect_and_tracebacks() -> None:
    def refuse(value: Any) -> Any:
        raise ValueError(f"bad value {value!r}")

    build = make_builder(("a", "b"), {1: refuse}, "tuple")
    source = inspect.getsource(build)
    assert source.startswith("def build(rows):")
    assert "c1(r[1])" in source
    with pytest.raises(ValueError) as caught:
        build([(1, 2)])
    frames = traceback.extract_tb(caught.value.__traceback__)
    generated = [frame for frame in frames if frame.filename.startswith("<aksara rows")]
    assert generated, [frame.filename for frame in frames]
    assert "c1(r[1])" in (generated[0].line or "")


def test_the_same_source_is_registered_once() -> None:
    first = make_builder(("a",), {}, "flat")
    second = make_builder(("a",), {}, "flat")
    assert first.__code__.co_filename == second.__code__.co_filename
    other = make_builder(("b",), {}, "dict")
    assert other.__code__.co_filename != first.__code__.co_filename
