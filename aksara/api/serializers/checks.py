"""The checking path of request validation: one checker per writable field, built once per
serializer class, that turns a decoded value into the validated one or returns
:class:`Invalid` with every message DRF users know for it."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from aksara.api.errors import ValidationFailed
from aksara.api.serializers import fields as f
from aksara.exceptions import ValidationError
from aksara.orm.field import text_problem
from aksara.orm.fields import check_json

__all__ = [
    "CHECKING_DECODER",
    "EMAIL",
    "Invalid",
    "JSONNumber",
    "checker_for",
    "decimal_problems",
    "json_floats",
    "messages_of",
    "primary_key_limits",
    "primary_key_type",
    "type_name",
]

#: One ``@`` between non-blank parts, a dot in the domain.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRAILING_ZEROS = re.compile(r"\.0*\s*$")
_INTEGER_TEXT = re.compile(r"^\s*[-+]?\d+\s*$")
_MAX_STRING_LENGTH = 1000
_UTC = dt.UTC
# What RFC 3339 (and msgspec, the parser) takes: DRF's words, with seconds required.
_DATETIME_FORMAT = "YYYY-MM-DDThh:mm:ss[.uuuuuu][+HH:MM|-HH:MM|Z]"
# DRF's words for booleans; True and 1.0 are in by equality with 1, False and 0.0 with 0.
_TRUE: frozenset[object] = frozenset(
    {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
)
_FALSE: frozenset[object] = frozenset(
    {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}
)
_NULL = frozenset({"null", "Null", "NULL", ""})

Checker = Callable[[Any], Any]


class JSONNumber(decimal.Decimal):
    """A JSON number with a fraction or exponent, as the checking path decodes it: exact, so
    that a Decimal field sees the digits written (``1.500``), as the fast path does."""

    __slots__ = ()


#: Decodes a body to builtins for the checking path (numbers with a fraction: JSONNumber).
CHECKING_DECODER = msgspec.json.Decoder(float_hook=JSONNumber)


class Invalid:
    """What a checker returns for a value that failed: ``detail`` is a list of messages, or a
    dict (nested serializer, list items) or list (many nested) of them. Returned, not
    raised: an exception per refused field cost the checking path half its time."""

    __slots__ = ("detail",)

    def __init__(self, detail: Any) -> None:
        self.detail = detail


class _JSONLabel:
    """Stands in for a model field so that check_json's messages read "This field ..."."""

    label = "This field"
    name = ""


def messages_of(error: ValidationFailed | ValidationError) -> Any:
    """The messages a failing hook or validator gives: a list, or a dict keyed by field."""
    if isinstance(error, ValidationFailed):
        detail = error.detail
        if isinstance(detail, dict) and list(detail) == ["non_field_errors"]:
            return list(detail["non_field_errors"])
        return detail
    return [str(error)]


def type_name(value: Any) -> str:
    """The JSON-side name of *value*'s type, as DRF prints it."""
    if type(value) is JSONNumber:
        return "float"
    return type(value).__name__


def json_floats(value: Any) -> Any:
    """*value* with the JSONNumbers of the checking decoder turned into floats (a Decimal
    given in a decoded object stays, and JSON refuses it)."""
    kind = type(value)
    if kind is JSONNumber:
        return float(value)
    if kind is list:
        return [json_floats(item) for item in value]
    if kind is dict:
        return {key: json_floats(item) for key, item in value.items()}
    return value


def decimal_problems(
    number: decimal.Decimal, max_digits: int | None, places: int | None
) -> list[str]:
    """DRF's precision messages for *number* (a finite Decimal), or []."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        total, whole, decimals = len(digits) + exponent, len(digits) + exponent, 0
    elif len(digits) > -exponent:
        total, whole, decimals = len(digits), len(digits) + exponent, -exponent
    else:
        total, whole, decimals = -exponent, 0, -exponent
    problems = []
    if max_digits is not None and total > max_digits:
        problems.append(f"Ensure that there are no more than {max_digits} digits in total.")
    if places is not None and decimals > places:
        problems.append(f"Ensure that there are no more than {places} decimal places.")
    if max_digits is not None and places is not None and whole > max_digits - places:
        problems.append(
            f"Ensure that there are no more than {max_digits - places} digits before the "
            "decimal point."
        )
    return problems


def _range(field: Any, value: Any) -> Any:
    """The value, or Invalid when it lies outside ``min_value`` / ``max_value``."""
    if field.max_value is not None and value > field.max_value:
        return Invalid([f"Ensure this value is less than or equal to {field.max_value}."])
    if field.min_value is not None and value < field.min_value:
        return Invalid([f"Ensure this value is greater than or equal to {field.min_value}."])
    return value


def _string(field: f.String) -> Checker:
    email = isinstance(field, f.Email)
    max_length, min_length = field.max_length, field.min_length

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, decimal.Decimal)):
            return Invalid(["Not a valid string."])
        text = value if type(value) is str else str(value)
        problem = text_problem(text)
        if problem is not None:
            return Invalid([f"This field {problem}."])
        if field.trim_whitespace:
            text = text.strip()
        if not text:
            if field.allow_blank:
                return ""
            return Invalid(["This field may not be blank."])
        messages = []
        if max_length is not None and len(text) > max_length:
            messages.append(f"Ensure this field has no more than {max_length} characters.")
        if min_length is not None and len(text) < min_length:
            messages.append(f"Ensure this field has at least {min_length} characters.")
        if email and EMAIL.match(text) is None:
            messages.append("Enter a valid email address.")
        if messages:
            return Invalid(messages)
        return text

    return check


def _integer(field: f.Integer) -> Checker:
    def check(value: Any) -> Any:
        number: int | None = None
        if type(value) is int:
            number = value
        elif isinstance(value, (float, decimal.Decimal)):
            try:
                if value == int(value):
                    number = int(value)
            except (ValueError, OverflowError):  # NaN, infinity
                number = None
        elif isinstance(value, str):
            if len(value) > _MAX_STRING_LENGTH:
                return Invalid(["String value too large."])
            text = _TRAILING_ZEROS.sub("", value)
            if _INTEGER_TEXT.match(text):
                number = int(text)
        if number is None:
            return Invalid(["A valid integer is required."])
        return _range(field, number)

    return check


def _float(field: f.Float) -> Checker:
    def check(value: Any) -> Any:
        number: float | None = None
        if isinstance(value, str) and len(value) > _MAX_STRING_LENGTH:
            return Invalid(["String value too large."])
        if not isinstance(value, bool) and isinstance(value, (int, float, decimal.Decimal, str)):
            try:
                number = float(value)
            except (ValueError, OverflowError):
                number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            return Invalid(["A valid number is required."])
        return _range(field, number)

    return check


def _decimal(field: f.Decimal) -> Checker:
    quantum = (
        decimal.Decimal(1).scaleb(-field.decimal_places)
        if field.decimal_places is not None
        else None
    )

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > _MAX_STRING_LENGTH:
            return Invalid(["String value too large."])
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal, str)):
            return Invalid(["A valid number is required."])
        number: decimal.Decimal | None
        if isinstance(value, decimal.Decimal):
            number = decimal.Decimal(value) if type(value) is JSONNumber else value
        else:
            try:
                number = decimal.Decimal(value.strip() if isinstance(value, str) else str(value))
            except decimal.InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            return Invalid(["A valid number is required."])
        problems = decimal_problems(number, field.max_digits, field.decimal_places)
        if problems:
            return Invalid(problems)
        ranged = _range(field, number)
        if ranged is not number:
            return ranged
        return number if quantum is None else number.quantize(quantum)

    return check


def _boolean(field: f.Boolean) -> Checker:
    def check(value: Any) -> Any:
        if isinstance(value, (list, dict)):
            return Invalid(["Must be a valid boolean."])
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        if field.allow_null and value in _NULL:
            return None
        return Invalid(["Must be a valid boolean."])

    return check


def _parsed(kind: type, message: str) -> Checker:
    def check(value: Any) -> Any:
        if type(value) is kind:
            return value
        if isinstance(value, str):
            try:
                return msgspec.convert(value, kind)
            except msgspec.ValidationError:
                pass
        return Invalid([message])

    return check


def _datetime(field: f.DateTime) -> Checker:
    parse = _parsed(
        dt.datetime,
        f"Datetime has wrong format. Use one of these formats instead: {_DATETIME_FORMAT}.",
    )

    def check(value: Any) -> Any:
        if type(value) is dt.date:
            return Invalid(["Expected a datetime but got a date."])
        moment = parse(value)
        if type(moment) is Invalid:
            return moment
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_UTC)
        if not 1 < moment.year < 9999:
            # Both databases store the moments strictly inside datetime.min..max in UTC.
            try:
                utc = moment.astimezone(_UTC)
            except OverflowError:
                utc = None
            if utc is None or utc.replace(tzinfo=None) in (dt.datetime.min, dt.datetime.max):
                return Invalid(["Datetime is out of range."])
        return moment

    return check


def _date(field: f.Date) -> Checker:
    parse = _parsed(dt.date, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")

    def check(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return Invalid(["Expected a date but got a datetime."])
        return parse(value)

    return check


def _json(field: f.JSON) -> Checker:
    label = _JSONLabel()

    def check(value: Any) -> Any:
        value = json_floats(value)
        try:
            return check_json(value, label)  # type: ignore[arg-type]
        except ValidationError as error:
            return Invalid([str(error)])

    return check


def _choice(field: f.Choice) -> Checker:
    by_text = {str(key): key for key in field.choices}

    def check(value: Any) -> Any:
        if isinstance(value, (list, dict)):
            return Invalid([f'"{value}" is not a valid choice.'])
        key = str(value)
        if key not in by_text:
            return Invalid([f'"{key}" is not a valid choice.'])
        return by_text[key]

    return check


def _list(field: f.List) -> Checker:
    child = checker_for(field.child)
    child_nullable = field.child.allow_null

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            return Invalid([f'Expected a list of items but got type "{type_name(value)}".'])
        if not value and not field.allow_empty:
            return Invalid(["This list may not be empty."])
        items: list[Any] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(value):
            if item is None:
                if not child_nullable:
                    errors[str(index)] = ["This field may not be null."]
                items.append(None)
                continue
            result = child(item)
            if type(result) is Invalid:
                errors[str(index)] = result.detail
            items.append(result)
        if errors:
            return Invalid(errors)
        messages = []
        if field.min_length is not None and len(items) < field.min_length:
            messages.append(f"Ensure this field has at least {field.min_length} elements.")
        if field.max_length is not None and len(items) > field.max_length:
            messages.append(f"Ensure this field has no more than {field.max_length} elements.")
        if messages:
            return Invalid(messages)
        return items

    return check


def primary_key_type(field: f.PrimaryKeyRelated) -> type:
    """The Python type of the related model's primary key (int when unknown)."""
    if field.model is None:
        return int
    kind = field.model._meta.pk.kind
    return {"uuid": uuid.UUID, "string": str, "text": str}.get(kind, int)


def primary_key_limits(field: f.PrimaryKeyRelated) -> tuple[int | None, int | None]:
    """The lowest and highest key (int keys: the column's range) or (None, longest) (text
    keys); a key outside cannot exist, and must not reach the database as a parameter."""
    pk = field.model._meta.pk if field.model is not None else None
    bounds = pk.bounds if pk is not None else None
    if bounds is not None:
        return bounds
    return None, getattr(pk, "max_length", None)


def _primary_key(field: f.PrimaryKeyRelated) -> Checker:
    kind = primary_key_type(field)
    low, high = primary_key_limits(field)

    def key(value: Any) -> Any:
        if kind is int:
            number = value if type(value) is int else None
            if isinstance(value, str) and _INTEGER_TEXT.match(value):
                number = int(value)
            if number is not None:
                if (low is None or number >= low) and (high is None or number <= high):
                    return number
                return Invalid([f'Invalid pk "{value}" - object does not exist.'])
        elif kind is uuid.UUID and isinstance(value, str | uuid.UUID):
            try:
                return msgspec.convert(value, uuid.UUID)
            except msgspec.ValidationError:
                pass
        elif type(value) is str:
            if high is not None and len(value) > high:
                return Invalid([f'Invalid pk "{value}" - object does not exist.'])
            return value
        return Invalid([f"Incorrect type. Expected pk value, received {type_name(value)}."])

    if not field.many:
        return key

    def keys(value: Any) -> Any:
        if not isinstance(value, list):
            return Invalid([f'Expected a list of items but got type "{type_name(value)}".'])
        messages: list[str] = []
        found = []
        for item in value:
            result = key(item)
            if type(result) is Invalid:
                messages.extend(result.detail)
            found.append(result)
        if messages:
            return Invalid(messages)
        return found

    return keys


_FACTORIES: list[tuple[type[f.Field], Callable[[Any], Checker]]] = [
    (f.String, _string),
    (f.Integer, _integer),
    (f.Float, _float),
    (f.Decimal, _decimal),
    (f.Boolean, _boolean),
    (f.DateTime, _datetime),
    (f.Date, _date),
    (f.UUID, lambda field: _parsed(uuid.UUID, "Must be a valid UUID.")),
    (f.JSON, _json),
    (f.Choice, _choice),
    (f.List, _list),
    (f.PrimaryKeyRelated, _primary_key),
]


def checker_for(field: f.Field, *, validators: bool = True) -> Checker:
    """The checker of a plain (not nested serializer) field; user ``validators`` run after
    its own checks (unless *validators* is false)."""
    factory = next((make for kind, make in _FACTORIES if isinstance(field, kind)), None)
    check: Checker = factory(field) if factory is not None else (lambda value: value)
    if not field.validators or not validators:
        return check
    chosen = field.validators

    def validated(value: Any) -> Any:
        value = check(value)
        if type(value) is Invalid:
            return value
        messages: list[str] = []
        for validator in chosen:
            try:
                validator(value)
            except (ValidationFailed, ValidationError) as error:
                found = messages_of(error)
                messages.extend(found if isinstance(found, list) else [str(found)])
        if messages:
            return Invalid(messages)
        return value

    return validated
