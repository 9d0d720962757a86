"""Keys of @cached calls: equal arguments give one key however they are passed, unequal ones
never share a key, templates and callables name entries, and an argument that cannot be
encoded is an error at call time telling to pass key=."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any

import pytest

from aksara.cache.keys import CacheKeyError, KeyMaker


class Color(enum.Enum):
    RED = 1
    BLUE = 2


async def listing(author: int, page: int = 1, *, published: bool = True) -> None: ...


async def plain(a: Any, b: Any = None) -> None: ...


class Service:
    async def method(self, post_id: int) -> None: ...


def test_positional_keyword_and_default_spellings_share_one_key() -> None:
    keys = KeyMaker(listing, None)
    spellings = [
        keys((3,), {}),
        keys((3, 1), {}),
        keys((), {"author": 3}),
        keys((3,), {"page": 1, "published": True}),
        keys((), {"published": True, "page": 1, "author": 3}),
    ]
    assert len(set(spellings)) == 1
    assert keys((3, 2), {}) != spellings[0]
    assert keys((3,), {"published": False}) != spellings[0]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (1, "1"),
        (1, 1.0),
        (1, True),
        (0, None),
        ("a,b", ("a", "b")),
        ((1, 2), [1, 2]),
        (b"x", "x"),
        ({"a": 1}, {"a": "1"}),
        (Color.RED, 1),
        (decimal.Decimal("1.0"), 1.0),
        (datetime.date(2024, 1, 2), "2024-01-02"),
    ],
)
def test_unequal_arguments_never_share_a_key(first: Any, second: Any) -> None:
    keys = KeyMaker(plain, None)
    assert keys((first,), {}) != keys((second,), {})


def test_dicts_and_sets_are_keyed_whatever_their_order() -> None:
    keys = KeyMaker(plain, None)
    assert keys(({"a": 1, "b": 2},), {}) == keys(({"b": 2, "a": 1},), {})
    assert keys(({3, 1, 2},), {}) == keys(({1, 2, 3},), {})


def test_value_types_encode_and_long_keys_are_hashed() -> None:
    keys = KeyMaker(plain, None)
    value = (uuid.UUID(int=5), datetime.datetime(2024, 1, 1, 12), decimal.Decimal("2.50"))
    assert keys((value,), {}) == keys((value,), {})
    long_key = keys(("x" * 500,), {})
    assert len(long_key) == 32
    assert long_key != keys(("x" * 501,), {})


def test_the_receiver_of_a_method_is_left_out() -> None:
    keys = KeyMaker(Service.method, None)
    assert keys((Service(), 7), {}) == keys((Service(), 7), {})
    assert keys((Service(), 7), {}) != keys((Service(), 8), {})


def test_an_unencodable_argument_asks_for_key() -> None:
    keys = KeyMaker(plain, None)
    with pytest.raises(CacheKeyError, match=r"pass key=") as error:
        keys((object(),), {})
    assert "tests.cache.test_keys.plain" in str(error.value)
    with pytest.raises(CacheKeyError, match="pass key="):
        keys(([1, {"a": object()}],), {})


def test_templates_and_callables_name_the_entry() -> None:
    assert KeyMaker(listing, "posts:{author}:{page}")((3,), {}) == "posts:3:1"
    assert KeyMaker(Service.method, "post:{self.__class__.__name__}:{post_id}")(
        (Service(), 9), {}
    ) == ("post:Service:9")
    by_callable = KeyMaker(listing, lambda author, page=1, **_: f"a{author}p{page}")
    assert by_callable((3,), {"page": 4}) == "a3p4"
    with pytest.raises(TypeError, match="key= takes"):
        KeyMaker(listing, 5)  # type: ignore[arg-type]


def test_missing_arguments_raise_as_a_call_would() -> None:
    keys = KeyMaker(listing, None)
    with pytest.raises(TypeError, match="author"):
        keys((), {})
