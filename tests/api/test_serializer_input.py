"""Request validation without a database: every field kind's checks and DRF's messages,
all errors at once, nested paths, hooks (sync and async), partial bodies, read-only and
unknown keys, bodies that are not JSON or not an object."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import msgspec
import pytest

import aksara
from aksara.api import ParseError, ValidationFailed, serializers
from aksara.api.serializers.input import compile_input


class Tagged(serializers.Serializer):
    name = serializers.String(max_length=10)


class Article(serializers.Serializer):
    title = serializers.String(max_length=20, min_length=2)
    summary = serializers.String(allow_blank=True, required=False)
    raw = serializers.String(trim_whitespace=False, required=False)
    email = serializers.Email(required=False)
    count = serializers.Integer(min_value=0, max_value=10, required=False)
    ratio = serializers.Float(min_value=0, max_value=1, required=False)
    price = serializers.Decimal(max_digits=5, decimal_places=2, required=False)
    flag = serializers.Boolean(required=False)
    maybe = serializers.Boolean(allow_null=True, required=False)
    when = serializers.DateTime(required=False)
    day = serializers.Date(required=False)
    token = serializers.UUID(required=False)
    data = serializers.JSON(required=False)
    kind = serializers.Choice(["news", "blog", 3], required=False)
    labels = serializers.List(serializers.String(max_length=3), required=False, max_length=3)
    note = serializers.String(allow_null=True, required=False)
    level = serializers.Integer(default=1)


async def check(serializer_class: type[serializers.Serializer], data: Any, **kw: Any) -> Any:
    """Validate *data* as raw bytes and as a decoded dict; both must agree."""
    raw = serializer_class(data=msgspec.json.encode(data), **kw)
    decoded = serializer_class(data=data, **kw)
    valid = await raw.is_valid()
    assert await decoded.is_valid() is valid
    assert raw.errors == decoded.errors
    assert raw.validated_data == decoded.validated_data
    return raw


async def errors_of(data: Any, serializer_class: Any = Article, **kw: Any) -> dict[str, Any]:
    serializer = await check(serializer_class, data, **kw)
    return serializer.errors  # type: ignore[no-any-return]


async def valid_data(data: Any, serializer_class: Any = Article, **kw: Any) -> dict[str, Any]:
    serializer = await check(serializer_class, data, **kw)
    assert serializer.errors == {}
    return serializer.validated_data  # type: ignore[no-any-return]


async def test_a_valid_body_gives_the_values_and_defaults() -> None:
    data = await valid_data({"title": "  Hello  ", "unknown": 1})
    assert data == {"title": "Hello", "level": 1}


async def test_every_field_error_is_collected_at_once() -> None:
    errors = await errors_of(
        {
            "title": "x" * 21,
            "email": "nope",
            "count": 11,
            "ratio": -0.5,
            "price": "123.456",
            "flag": "maybe",
            "when": "yesterday",
            "day": "2024-13-01",
            "token": "abc",
            "kind": "poem",
            "labels": ["abcd", "ok", None],
            "note": None,
            "level": None,
        }
    )
    assert errors == {
        "title": ["Ensure this field has no more than 20 characters."],
        "email": ["Enter a valid email address."],
        "count": ["Ensure this value is less than or equal to 10."],
        "ratio": ["Ensure this value is greater than or equal to 0."],
        "price": [
            "Ensure that there are no more than 5 digits in total.",
            "Ensure that there are no more than 2 decimal places.",
        ],
        "flag": ["Must be a valid boolean."],
        "when": [
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm:ss[.uuuuuu][+HH:MM|-HH:MM|Z]."
        ],
        "day": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
        "token": ["Must be a valid UUID."],
        "kind": ['"poem" is not a valid choice.'],
        "labels": {
            "0": ["Ensure this field has no more than 3 characters."],
            "2": ["This field may not be null."],
        },
        "level": ["This field may not be null."],
    }


async def test_required_null_and_blank() -> None:
    assert await errors_of({}) == {"title": ["This field is required."]}
    assert await errors_of({"title": None}) == {"title": ["This field may not be null."]}
    assert await errors_of({"title": "   "}) == {"title": ["This field may not be blank."]}
    assert await errors_of({"title": "a"}) == {
        "title": ["Ensure this field has at least 2 characters."]
    }
    assert await valid_data({"title": "ok", "summary": "  ", "note": None}) == {
        "title": "ok",
        "summary": "",
        "note": None,
        "level": 1,
    }
    assert (await valid_data({"title": "ok", "raw": " x "}))["raw"] == " x "


async def test_text_the_databases_cannot_store_is_refused() -> None:
    errors = await errors_of({"title": "a\x00b"})
    assert errors["title"][0].startswith("This field contains a NUL character (\\x00) at index 1")
    decoded = Article(data={"title": "a\ud800b"})
    assert not await decoded.is_valid()
    assert "lone surrogate" in decoded.errors["title"][0]


async def test_integers_floats_and_decimals_take_numbers_and_numeric_strings() -> None:
    data = await valid_data({"title": "ok", "count": "7", "ratio": "0.5", "price": 12.5})
    assert data["count"] == 7 and data["ratio"] == 0.5
    assert data["price"] == decimal.Decimal("12.50")
    assert (await valid_data({"title": "ok", "count": 3.0}))["count"] == 3
    assert (await valid_data({"title": "ok", "price": "999.99"}))["price"] == decimal.Decimal(
        "999.99"
    )
    for bad in (True, "x", 1.5, [1], {"a": 1}):
        assert await errors_of({"title": "ok", "count": bad}) == {
            "count": ["A valid integer is required."]
        }
    assert await errors_of({"title": "ok", "ratio": "abc"}) == {
        "ratio": ["A valid number is required."]
    }
    assert await errors_of({"title": "ok", "price": "1000"}) == {
        "price": ["Ensure that there are no more than 3 digits before the decimal point."]
    }
    assert await errors_of({"title": "ok", "price": "NaN"}) == {
        "price": ["A valid number is required."]
    }


async def test_booleans_take_drf_words() -> None:
    for word, value in (("yes", True), ("0", False), (1, True), ("off", False), (True, True)):
        assert (await valid_data({"title": "ok", "flag": word}))["flag"] is value
    assert (await valid_data({"title": "ok", "maybe": "null"}))["maybe"] is None
    assert await errors_of({"title": "ok", "flag": 2}) == {"flag": ["Must be a valid boolean."]}


async def test_datetimes_dates_and_uuids() -> None:
    data = await valid_data(
        {
            "title": "ok",
            "when": "2024-05-01T10:00:00",
            "day": "2024-05-01",
            "token": "12345678-1234-5678-1234-567812345678",
        }
    )
    assert data["when"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert data["day"] == dt.date(2024, 5, 1)
    assert data["token"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    offset = (await valid_data({"title": "ok", "when": "2024-05-01T10:00:00+02:00"}))["when"]
    assert offset.utcoffset() == dt.timedelta(hours=2)
    assert await errors_of({"title": "ok", "day": "2024-05-01T10:00:00"}) == {
        "day": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]
    }
    assert await errors_of({"title": "ok", "when": "0001-01-01T00:00:00+00:00"}) == {
        "when": ["Datetime is out of range."]
    }


async def test_json_fields_take_what_the_orm_stores() -> None:
    value = {"a": [1, 2.5, None, "x"], "b": {"c": True}}
    assert (await valid_data({"title": "ok", "data": value}))["data"] == value
    errors = await errors_of({"title": "ok", "data": {"big": 2**70}})
    assert errors["data"][0].startswith("This field['big'] is 1180591620717411303424")
    errors = await errors_of({"title": "ok", "data": ["\x00"]})
    assert "NUL character" in errors["data"][0]
    # "count" as text takes the checking path, which decodes numbers exactly.
    for body in (
        b'{"title": "ok", "data": {"x": 1.50}}',
        b'{"title": "ok", "count": "3", "data": {"x": 1.50}}',
    ):
        raw = Article(data=body)
        assert await raw.is_valid()
        assert raw.validated_data["data"] == {"x": 1.5}
        assert type(raw.validated_data["data"]["x"]) is float
    decoded = Article(data={"title": "ok", "data": {"x": decimal.Decimal("1.5")}})
    assert not await decoded.is_valid()
    assert "Decimal" in decoded.errors["data"][0]


async def test_choices_and_lists() -> None:
    assert (await valid_data({"title": "ok", "kind": "3"}))["kind"] == 3
    assert (await valid_data({"title": "ok", "kind": 3}))["kind"] == 3
    assert (await valid_data({"title": "ok", "labels": [" ab ", "c"]}))["labels"] == ["ab", "c"]
    assert await errors_of({"title": "ok", "labels": "abc"}) == {
        "labels": ['Expected a list of items but got type "str".']
    }
    assert await errors_of({"title": "ok", "labels": ["a", "b", "c", "d"]}) == {
        "labels": ["Ensure this field has no more than 3 elements."]
    }


async def test_a_body_that_is_not_json_is_a_parse_error() -> None:
    for raw in (b"{nope", b'{"title": "\xff"}', b""):
        with pytest.raises(ParseError) as caught:
            await Article(data=raw).is_valid()
        assert str(caught.value.detail).startswith("JSON parse error - ")
        assert caught.value.status_code == 400


async def test_a_body_that_is_not_an_object_is_refused() -> None:
    for raw, kind in (
        (b"[1, 2]", "list"),
        (b'"text"', "str"),
        (b"3", "int"),
        (b"null", "NoneType"),
    ):
        serializer = Article(data=raw)
        assert not await serializer.is_valid()
        assert serializer.errors == {
            "non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]
        }
        assert serializer.validated_data == {}
    with pytest.raises(ValidationFailed) as caught:
        await Article(data=b"[]").is_valid(raise_exception=True)
    assert caught.value.detail == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


async def test_raise_exception_carries_every_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        await Article(data=b'{"count": -1}').is_valid(raise_exception=True)
    assert caught.value.detail == {
        "title": ["This field is required."],
        "count": ["Ensure this value is greater than or equal to 0."],
    }


async def test_reading_results_before_is_valid_is_an_error() -> None:
    serializer = Article(data={})
    with pytest.raises(TypeError, match="is_valid"):
        serializer.errors  # noqa: B018
    with pytest.raises(TypeError, match="is_valid"):
        serializer.validated_data  # noqa: B018
    with pytest.raises(TypeError, match="data="):
        await Article().is_valid()
    with pytest.raises(TypeError, match=r"many=True\) validates no input"):
        await Article(data=b"[]", many=True).is_valid()


async def test_partial_validates_only_the_given_keys() -> None:
    assert await valid_data({}, partial=True) == {}
    assert await valid_data({"count": 2}, partial=True) == {"count": 2}
    assert await errors_of({"title": ""}, partial=True) == {
        "title": ["This field may not be blank."]
    }


class Post(serializers.Serializer):
    title = serializers.String()
    author = Tagged()
    tags = Tagged(many=True, required=False)
    editor = Tagged(allow_null=True, required=False)


async def test_nested_errors_are_nested_by_path() -> None:
    errors = await errors_of(
        {"title": "t", "author": {"name": "x" * 11}, "tags": [{"name": "ok"}, {}, 3]},
        Post,
    )
    assert errors == {
        "author": {"name": ["Ensure this field has no more than 10 characters."]},
        "tags": [
            {},
            {"name": ["This field is required."]},
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
        ],
    }
    assert await errors_of({"title": "t", "author": [], "tags": {}}, Post) == {
        "author": {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        "tags": {"non_field_errors": ['Expected a list of items but got type "dict".']},
    }
    data = await valid_data(
        {"title": "t", "author": {"name": " a "}, "tags": [{"name": "b"}], "editor": None}, Post
    )
    assert data == {"title": "t", "author": {"name": "a"}, "tags": [{"name": "b"}], "editor": None}


class Hooked(serializers.Serializer):
    title = serializers.String()
    slug = serializers.String()
    count = serializers.Integer(required=False)

    def validate_title(self, value: str) -> str:
        if value == "bad":
            raise ValidationFailed("No bad titles.")
        return value.title()

    async def validate_slug(self, value: str) -> str:
        if value == "taken":
            raise aksara.ValidationError("That slug is reserved.")
        return value

    async def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["title"].lower() == attrs["slug"]:
            raise ValidationFailed("Title and slug must differ.")
        if attrs.get("count") == 13:
            raise ValidationFailed({"count": "Unlucky."})
        attrs["context_user"] = self.context.get("user")
        return attrs


async def test_field_hooks_sync_and_async() -> None:
    serializer = Hooked(data=b'{"title": "hello world", "slug": "x"}', context={"user": 7})
    assert await serializer.is_valid()
    assert serializer.validated_data == {"title": "Hello World", "slug": "x", "context_user": 7}
    assert await errors_of({"title": "bad", "slug": "taken"}, Hooked) == {
        "title": ["No bad titles."],
        "slug": ["That slug is reserved."],
    }


async def test_validate_runs_after_the_fields_and_lands_where_it_says() -> None:
    assert await errors_of({"title": "ab", "slug": "ab"}, Hooked) == {
        "non_field_errors": ["Title and slug must differ."]
    }
    assert await errors_of({"title": "ab", "slug": "c", "count": 13}, Hooked) == {
        "count": ["Unlucky."]
    }
    # Field errors stop validate() from running, as in DRF.
    assert await errors_of({"title": "ab", "slug": "ab", "count": "x"}, Hooked) == {
        "count": ["A valid integer is required."]
    }


class Inner(serializers.Serializer):
    name = serializers.String()

    def validate_name(self, value: str) -> str:
        if value == "no":
            raise ValidationFailed("Not that name.")
        return value.upper()


class Outer(serializers.Serializer):
    inner = Inner()
    items = Inner(many=True)


async def test_nested_serializers_run_their_hooks() -> None:
    assert await valid_data({"inner": {"name": "a"}, "items": [{"name": "b"}]}, Outer) == {
        "inner": {"name": "A"},
        "items": [{"name": "B"}],
    }
    assert await errors_of(
        {"inner": {"name": "no"}, "items": [{"name": "b"}, {"name": "no"}]}, Outer
    ) == {
        "inner": {"name": ["Not that name."]},
        "items": [{}, {"name": ["Not that name."]}],
    }


class ReadOnly(serializers.Serializer):
    id = serializers.Integer(read_only=True)
    title = serializers.String()
    secret = serializers.String(write_only=True, required=False)


async def test_read_only_and_unknown_keys_are_ignored() -> None:
    assert await valid_data({"id": 5, "title": "t", "admin": True, "secret": "s"}, ReadOnly) == {
        "title": "t",
        "secret": "s",
    }


class Sourced(serializers.Serializer):
    author_name = serializers.String(source="author.name")
    author = serializers.Integer(source="author_id")


async def test_values_are_keyed_by_their_source() -> None:
    assert await valid_data({"author_name": "Ann", "author": 3}, Sourced) == {
        "author": {"name": "Ann"},
        "author_id": 3,
    }


async def test_valid_bodies_take_the_decoding_path() -> None:
    plan = compile_input(Article, partial=False)
    body = msgspec.json.encode({"title": "ok", "count": 3, "when": "2024-01-01T00:00:00Z"})
    assert plan.post(plan.decoder.decode(body)) == plan.run(body)[0]
    assert plan.run(body)[1] == {}
    assert compile_input(Article, partial=False) is plan
    assert compile_input(Article, partial=True) is not plan

    class Child(Article):
        pass

    assert compile_input(Child, partial=False) is not plan


def even(value: int) -> None:
    if value % 2:
        raise aksara.ValidationError(f"{value} is odd.")


def small(value: Any) -> None:
    if value > 100:
        raise ValidationFailed("Too big.")


class Validated(serializers.Serializer):
    number = serializers.Integer(validators=[even, small])
    price = serializers.Decimal(decimal_places=1, validators=[small], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["number"] == 42:
            raise aksara.ValidationError("Not the answer.", field="number")
        return attrs


async def test_field_validators_run_on_both_paths() -> None:
    assert await valid_data({"number": 4, "price": "2.5"}, Validated) == {
        "number": 4,
        "price": decimal.Decimal("2.5"),
    }
    assert await errors_of({"number": 101, "price": 101}, Validated) == {
        "number": ["101 is odd.", "Too big."],
        "price": ["Too big."],
    }
    assert await errors_of({"number": 42}, Validated) == {"number": ["Not the answer."]}


class Note(serializers.Serializer):
    text = serializers.String()

    def create(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        return {"saved": validated_data["text"]}

    def update(self, instance: dict[str, Any], validated_data: dict[str, Any]) -> dict[str, Any]:
        return {**instance, **validated_data}


async def test_save_calls_sync_create_and_update() -> None:
    serializer = Note(data=b'{"text": "hi"}')
    assert await serializer.is_valid()
    assert await serializer.save(extra=1) == {"saved": "hi"}
    assert serializer.instance == {"saved": "hi"}
    edited = Note({"saved": "hi"}, data={"text": "yo"})
    assert await edited.is_valid()
    assert await edited.save() == {"saved": "hi", "text": "yo"}


async def test_a_plain_serializer_without_create_says_so() -> None:
    serializer = Tagged(data={"name": "x"})
    assert await serializer.is_valid()
    with pytest.raises(NotImplementedError, match=r"Tagged.create\(\) must be implemented"):
        await serializer.save()
