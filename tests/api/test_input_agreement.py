"""The fast path (msgspec decoding into a Struct plus generated code) and the checking path
agree: random bodies never pass the fast path where the checking path refuses them, both
give the same data when they pass, and well-typed bodies get the same verdict from both."""

from __future__ import annotations

import decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aksara.api import serializers
from aksara.api.serializers.checks import CHECKING_DECODER
from aksara.api.serializers.input import FAIL, compile_input
from tests.api.input_models import Topic, Writer


class Inner(serializers.Serializer):
    name = serializers.String(max_length=5)
    rank = serializers.Integer(required=False, min_value=1)


class Body(serializers.Serializer):
    title = serializers.String(max_length=8, min_length=2)
    note = serializers.String(required=False, allow_null=True, max_length=4)
    email = serializers.Email(required=False, max_length=12)
    count = serializers.Integer(min_value=-5, max_value=5, required=False)
    ratio = serializers.Float(min_value=0, max_value=1, required=False)
    price = serializers.Decimal(max_digits=4, decimal_places=2, required=False)
    flag = serializers.Boolean(required=False)
    when = serializers.DateTime(required=False)
    day = serializers.Date(required=False)
    token = serializers.UUID(required=False)
    data = serializers.JSON(required=False)
    kind = serializers.Choice(["a", "b", 3], required=False)
    labels = serializers.List(serializers.String(max_length=2), required=False, max_length=3)
    inner = Inner(required=False)
    items = Inner(many=True, required=False)
    level = serializers.Integer(default=1)
    owner = serializers.PrimaryKeyRelated(Writer, required=False)
    topics = serializers.PrimaryKeyRelated(Topic, many=True, required=False)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
word = st.text("ab @.x\t", max_size=10)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=6,
)
number_text = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["1e5", "1.", ".5", "+1", "0.10", "-0", " 1", "1_0", "NaN", "Infinity"]),
)
moment = st.sampled_from(
    [
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00Z",
        "2024-01-01 00:00:00+05:30",
        "2024-01-01t00:00:00.123456z",
        "2024-01-01T00:00",
        "2024-13-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59Z",
        "2024-01-01",
        "yesterday",
    ]
)
uuid_text = st.one_of(
    st.uuids().map(str), st.uuids().map(lambda u: u.hex), st.uuids().map(lambda u: f"{{{u}}}")
)
anything = st.one_of(json_leaf, word, number_text, st.lists(word, max_size=2))
inner = st.fixed_dictionaries(
    {}, optional={"name": st.text("ab", max_size=7), "rank": st.integers(-2, 3), "x": anything}
)

#: For each field: well-typed values (the JSON type the fast path decodes), valid or not.
TYPED: dict[str, Any] = {
    "title": st.text("ab xyz", max_size=10).filter(lambda s: s == s.strip()),
    "note": st.one_of(st.none(), st.text("ab", max_size=6)),
    "email": st.text("ab@.", max_size=14),
    "count": st.integers(-8, 8),
    "ratio": st.floats(-1, 2, allow_nan=False),
    "price": st.one_of(number_text.filter(lambda s: s == s.strip()), st.floats(-200, 200)),
    "flag": st.booleans(),
    "when": moment,
    "day": st.sampled_from(["2024-02-29", "2023-02-29", "2024-1-01", "2024-01-01T00:00"]),
    "token": uuid_text,
    "data": json_value,
    "kind": st.sampled_from(["a", "b", "c", 3, 4]),
    "labels": st.lists(st.text("ab", max_size=3), max_size=4),
    "inner": inner,
    "items": st.lists(inner, max_size=3),
    "level": st.integers(-3, 3),
    "owner": st.integers(-(2**65), 2**65),
    "topics": st.lists(st.integers(-(2**65), 2**65), max_size=3),
}


letters = st.text("abxy", min_size=1, max_size=3)
valid_inner = st.fixed_dictionaries(
    {"name": st.text("ab", min_size=1, max_size=5)}, optional={"rank": st.integers(1, 9)}
)

#: For each field: values it accepts.
VALID: dict[str, Any] = {
    "title": st.text("ab xyz", min_size=2, max_size=8).filter(lambda s: len(s.strip()) >= 2),
    "note": st.one_of(st.none(), st.text("ab", max_size=4)),
    "email": st.builds("{}@{}.{}".format, letters, letters, letters),
    "count": st.integers(-5, 5),
    "ratio": st.floats(0, 1),
    "price": st.decimals(min_value=-99, max_value=99, places=2).map(str),
    "flag": st.booleans(),
    "when": st.sampled_from(
        ["2024-01-01T00:00:00", "2024-01-01T00:00:00Z", "2000-02-29T12:00:00-03:00"]
    ),
    "day": st.dates().map(lambda day: day.isoformat()),
    "token": st.uuids().map(str),
    "data": json_value,
    "kind": st.sampled_from(["a", "b", 3]),
    "labels": st.lists(st.text("ab", max_size=2), max_size=3),
    "inner": valid_inner,
    "items": st.lists(valid_inner, max_size=3),
    "level": st.integers(-3, 3),
    "owner": st.integers(1, 9),
    "topics": st.lists(st.integers(1, 9), max_size=3),
}


def bodies(typed: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A valid body with up to two values replaced by well-typed (*typed*) or arbitrary ones."""
    required = {"title": VALID["title"]}
    optional = {name: strategy for name, strategy in VALID.items() if name != "title"}
    valid = st.fixed_dictionaries(required, optional={**optional, "extra": anything})
    names = st.sampled_from(sorted(TYPED))

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        data = draw(valid)
        for _ in range(draw(st.integers(0, 2))):
            name = draw(names)
            strategy = TYPED[name] if typed else st.one_of(TYPED[name], anything)
            data[name] = draw(strategy)
        if draw(st.integers(0, 9)) == 9:
            data.pop("title")
        return data

    return build()


def both_paths(
    data: dict[str, Any], partial: bool = False
) -> tuple[Any, tuple[dict[str, Any], dict[str, Any]]]:
    plan = compile_input(Body, partial=partial)
    body = msgspec.json.encode(data)
    try:
        fast = plan.post(plan.decoder.decode(body))
    except msgspec.ValidationError:
        fast = FAIL
    checked = plan.check_object(CHECKING_DECODER.decode(body))
    return fast, checked


checks = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("partial", [False, True])
@checks
@given(data=bodies(typed=False))
def test_the_fast_path_never_accepts_what_the_checking_path_refuses(
    data: dict[str, Any], partial: bool
) -> None:
    fast, (attrs, errors) = both_paths(data, partial)
    if fast is not FAIL:
        assert errors == {}
        assert fast == attrs


@pytest.mark.parametrize("partial", [False, True])
@checks
@given(data=bodies(typed=True))
def test_well_typed_bodies_get_the_same_verdict_from_both_paths(
    data: dict[str, Any], partial: bool
) -> None:
    fast, (attrs, errors) = both_paths(data, partial)
    assert (fast is not FAIL) == (not errors), errors
    if fast is not FAIL:
        assert fast == attrs


def test_decimals_from_numbers_keep_their_written_digits() -> None:
    fast, (_, errors) = both_paths({"title": "ok"} | {"price": decimal.Decimal("1.500")})
    assert fast is FAIL and errors == {
        "price": ["Ensure that there are no more than 2 decimal places."]
    }
