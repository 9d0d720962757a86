"""Model fields: column types, defaults, validation of values before they reach the database.

The relation fields (``ForeignKey``, ``OneToOne``, ``ManyToMany``) live in
:mod:`aksara.orm.relations.fields` and are re-exported here, so ``fields.ForeignKey`` works.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from aksara.exceptions import ValidationError
from aksara.orm.field import (
    CASCADE,
    NOT_PROVIDED,
    PROTECT,
    RESTRICT,
    SET_NULL,
    Field,
    text_problem,
)
from aksara.orm.lookups import TEXT_LOOKUPS
from aksara.orm.relations.fields import ForeignKey, ManyToMany, OneToOne

__all__ = [
    "CASCADE",
    "JSON",
    "NOT_PROVIDED",
    "PROTECT",
    "RESTRICT",
    "SET_NULL",
    "UUID",
    "AutoField",
    "BigInteger",
    "Boolean",
    "Date",
    "DateTime",
    "Decimal",
    "Field",
    "Float",
    "ForeignKey",
    "Integer",
    "ManyToMany",
    "OneToOne",
    "String",
    "Text",
]


_UTC = dt.UTC
# asyncpg writes these two exact moments as -infinity / infinity and reads them back naive.
_DATETIME_MIN = dt.datetime.min.replace(tzinfo=_UTC)
_DATETIME_MAX = dt.datetime.max.replace(tzinfo=_UTC)


def _text_ok(value: str) -> bool:
    # ASCII-ness is a flag CPython keeps on every str: the common case costs a memchr.
    return "\x00" not in value and (value.isascii() or text_problem(value) is None)


def _ranged_integer(field: Field, value: Any, low: int, high: int) -> int:
    """*value* as an int within its column's range [low, high], or a ValidationError."""
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise field.type_error(value)
        value = int(value)
    number: int = value
    if not low <= number <= high:
        raise ValidationError(
            f"{field.label} must be between {low} and {high} (the range of its column), "
            f"got {number}.",
            field=field.name,
        )
    return number


class AutoField(Field):
    """The auto-incrementing integer primary key every model gets as ``id`` by default."""

    kind = "auto"
    type_label = "an integer"

    def __init__(self, **options: Any) -> None:
        options.setdefault("primary_key", True)
        super().__init__(**options)

    low, high = -(2**63), 2**63 - 1  # BIGINT identity on PostgreSQL, the rowid on SQLite

    @property
    def bounds(self) -> tuple[int, int] | None:
        return self.low, self.high

    def clean(self, value: Any) -> Any:
        return None if value is None else self.to_python(value)

    def to_python(self, value: Any) -> Any:
        return _ranged_integer(self, value, self.low, self.high)


class Integer(Field):
    """A 32-bit signed integer."""

    kind = "integer"
    type_label = "an integer"
    low, high = -(2**31), 2**31 - 1

    @property
    def bounds(self) -> tuple[int, int] | None:
        return self.low, self.high

    def to_python(self, value: Any) -> Any:
        return _ranged_integer(self, value, self.low, self.high)

    def column_options(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}

    def clean_column(self, values: list[Any]) -> list[Any]:
        low, high = self.low, self.high
        if self.choices is None:
            for value in values:
                valid = type(value) is int and low <= value <= high
                if not valid and not self._fast_ok(value):
                    return super().clean_column(values)
            return values
        return super().clean_column(values)


class BigInteger(Integer):
    """A 64-bit signed integer."""

    kind = "biginteger"
    low, high = -(2**63), 2**63 - 1


def keeps_ranged_ints(field: Field) -> bool:
    """True when *field* checks integers with its column's range alone, so ``to_python``
    returns an int within ``bounds`` as it is (a caller that checked the range may skip it)."""
    return type(field).to_python in (AutoField.to_python, Integer.to_python)


class Float(Field):
    """A double-precision floating point number."""

    kind = "float"
    type_label = "a number"

    def to_python(self, value: Any) -> Any:
        if type(value) is not float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.type_error(value)
            value = float(value)
        if value != value:
            raise ValidationError(
                f"{self.label} cannot store NaN: SQLite turns it into NULL. Store None for "
                "'no value', or check the computation that produced it.",
                field=self.name,
            )
        return value

    def clean_column(self, values: list[Any]) -> list[Any]:
        if self.choices is None:
            for value in values:
                # NaN is the one float not equal to itself.
                if (type(value) is not float or value != value) and not self._fast_ok(value):
                    return super().clean_column(values)
            return values
        return super().clean_column(values)


class String(Field):
    """Text of at most ``max_length`` characters (enforced on both databases)."""

    kind = "string"
    type_label = "a string"

    def __init__(self, *, max_length: int = 255, **options: Any) -> None:
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            raise ValueError(
                f"String(max_length=...) must be a positive integer, got {max_length!r}."
            )
        super().__init__(**options)
        self.max_length = max_length

    def column_options(self) -> dict[str, Any]:
        return {"max_length": self.max_length}

    def to_python(self, value: Any) -> Any:
        if type(value) is not str:
            if not isinstance(value, str):
                raise self.type_error(value)
            value = str(value)
        if not _text_ok(value):
            raise self.text_error(value)  # type: ignore[misc]
        return value

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value is not None and len(value) > self.max_length:
            raise ValidationError(
                f"{self.label} is at most {self.max_length} characters, got {len(value)}.",
                field=self.name,
            )
        return value

    def clean_column(self, values: list[Any]) -> list[Any]:
        limit = self.max_length
        if self.choices is None:
            for value in values:
                valid = (
                    type(value) is str
                    and len(value) <= limit
                    and "\x00" not in value
                    and (value.isascii() or _text_ok(value))
                )
                if not valid and not self._fast_ok(value):
                    return super().clean_column(values)
            return values
        return super().clean_column(values)


class Text(Field):
    """Text of any length."""

    kind = "text"
    type_label = "a string"

    def to_python(self, value: Any) -> Any:
        if type(value) is not str:
            if not isinstance(value, str):
                raise self.type_error(value)
            value = str(value)
        if not _text_ok(value):
            raise self.text_error(value)  # type: ignore[misc]
        return value

    def clean_column(self, values: list[Any]) -> list[Any]:
        if self.choices is None:
            for value in values:
                valid = (
                    type(value) is str
                    and "\x00" not in value
                    and (value.isascii() or _text_ok(value))
                )
                if not valid and not self._fast_ok(value):
                    return super().clean_column(values)
            return values
        return super().clean_column(values)


for _lookup in TEXT_LOOKUPS:
    String.register_lookup(_lookup)
    Text.register_lookup(_lookup)


class Boolean(Field):
    """True or False."""

    kind = "boolean"
    type_label = "a bool"

    def to_python(self, value: Any) -> Any:
        if value is True or value is False:
            return value
        raise self.type_error(value)

    def clean_column(self, values: list[Any]) -> list[Any]:
        for value in values:
            if value is not True and value is not False and not self._fast_ok(value):
                return super().clean_column(values)
        return values


class Decimal(Field):
    """A fixed-point number with ``max_digits`` digits, ``decimal_places`` of them decimals.

    Values with more decimal places than the column keeps are refused, never rounded.
    """

    kind = "decimal"
    type_label = "a Decimal"

    def __init__(self, *, max_digits: int = 12, decimal_places: int = 2, **options: Any) -> None:
        for name, number in (("max_digits", max_digits), ("decimal_places", decimal_places)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError(
                    f"Decimal({name}=...) must be a non-negative integer, got {number!r}."
                )
        if max_digits < 1 or decimal_places > max_digits:
            raise ValueError(
                f"Decimal(max_digits={max_digits}, decimal_places={decimal_places}): "
                "max_digits must be positive and at least decimal_places."
            )
        super().__init__(**options)
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self.quantum = decimal.Decimal(1).scaleb(-decimal_places)

    def column_options(self) -> dict[str, Any]:
        return {"max_digits": self.max_digits, "decimal_places": self.decimal_places}

    def from_db(self, value: Any) -> decimal.Decimal:
        """A database number as a Decimal with the field's places.

        An integer is the scaled form (value times ``10**decimal_places``) SQLite stores.
        """
        if type(value) is int:
            return decimal.Decimal(value).scaleb(-self.decimal_places)
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        return number.quantize(self.quantum)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (decimal.Decimal, int, float)):
            raise self.type_error(value)
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        if not number.is_finite():
            raise ValidationError(
                f"{self.label} must be a finite number, got {value!r}.", field=self.name
            )
        try:
            quantized = number.quantize(self.quantum)
        except decimal.InvalidOperation:
            quantized = None
        if quantized is None or len(quantized.as_tuple().digits) > self.max_digits:
            raise ValidationError(
                f"{self.label} has at most {self.max_digits} digits "
                f"({self.decimal_places} decimal places), got {value!r}.",
                field=self.name,
            )
        if quantized != number:
            raise ValidationError(
                f"{self.label} keeps {self.decimal_places} decimal places, got {value!r}; "
                f"round it first, e.g. value.quantize(Decimal({str(self.quantum)!r})).",
                field=self.name,
            )
        return quantized


class DateTime(Field):
    """A timezone-aware moment; naive datetimes are taken as UTC.

    Both databases store exactly the moments strictly between ``datetime.min`` and
    ``datetime.max`` in UTC; others are refused.
    """

    kind = "datetime"
    type_label = "a datetime"

    def __init__(
        self, *, auto_now: bool = False, auto_now_add: bool = False, **options: Any
    ) -> None:
        super().__init__(**options)
        self.auto_now = auto_now
        self.auto_now_add = auto_now_add

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            raise self.type_error(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        if not 1 < value.year < 9999:  # any offset keeps the other years inside the range
            self._check_range(value)
        return value

    def _check_range(self, value: dt.datetime) -> None:
        try:
            utc = value.astimezone(_UTC)
        except OverflowError:
            utc = None
        if utc is None or utc in (_DATETIME_MIN, _DATETIME_MAX):
            raise ValidationError(
                f"{self.label} must lie strictly between {_DATETIME_MIN} and {_DATETIME_MAX} "
                f"in UTC (PostgreSQL turns those two into -infinity / infinity), got {value}.",
                field=self.name,
            )

    def clean_column(self, values: list[Any]) -> list[Any]:
        datetime = dt.datetime
        if self.choices is None:
            for value in values:
                valid = type(value) is datetime and value.tzinfo is not None
                if not (valid and 1 < value.year < 9999) and not self._fast_ok(value):
                    return super().clean_column(values)
            return values
        return super().clean_column(values)


class Date(Field):
    """A calendar date."""

    kind = "date"
    type_label = "a date"

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise self.type_error(value)
        return value


class UUIDField(Field):
    """A UUID; strings in UUID form are accepted and converted."""

    kind = "uuid"
    type_label = "a UUID"

    def to_python(self, value: Any) -> Any:
        if type(value) is uuid.UUID:
            return value
        if isinstance(value, uuid.UUID):  # a driver's subclass: orjson refuses those
            return uuid.UUID(int=value.int)
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
        raise self.type_error(value)


class JSON(Field):
    """A JSON value: dicts with string keys, lists, strings, finite numbers, booleans, None.

    Anything JSON would not give back as it was (NaN, datetimes, Decimals, UUIDs, sets,
    bytes, other objects) is refused with the path of the offending part.
    """

    kind = "json"
    type_label = "a JSON-serialisable value"

    def to_python(self, value: Any) -> Any:
        return check_json(value, self)


def _refuse_json(value: Any) -> Any:
    raise TypeError


# datetimes, dataclasses and subclasses of str/int/dict/list reach ``default`` (which
# refuses them) instead of being turned into strings, objects or plain values silently.
_JSON_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# What orjson writes without complaint for a value that would not come back as it was:
# null for NaN/inf, \u0000 (PostgreSQL's jsonb refuses it), a UUID as a string.
_JSON_SUSPECT = re.compile(
    rb'null|\\u0000|"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"'
)


def check_json(value: Any, field: Field) -> Any:
    """Return *value* when it round-trips through JSON unchanged, else raise ValidationError.

    orjson walks the value in C; Python walks it only when the output holds a trace of a
    value that would change (``null``, ``\\u0000``, a UUID-shaped string) or orjson failed.
    """
    try:
        data = orjson.dumps(value, default=_refuse_json, option=_JSON_STRICT)
    except orjson.JSONEncodeError:
        data = None
    if data is None or _JSON_SUSPECT.search(data) is not None:
        problem = _json_problem(value, "")
        if problem is not None:
            raise ValidationError(f"{field.label}{problem}.", field=field.name)
        if data is None:
            raise ValidationError(f"{field.label} cannot be written as JSON.", field=field.name)
    return value


def _json_problem(value: Any, path: str) -> str | None:
    kind = type(value)
    if value is None or kind is bool or (kind is str and _text_ok(value)):
        return None
    where = path or " (the whole value)"
    if kind is int:
        if -(2**63) <= value < 2**64:
            return None
        return f"{where} is {value}, beyond the 64-bit integers JSON values hold here"
    if kind is float:
        if math.isfinite(value):
            return None
        return f"{where} is {value!r}: JSON has no NaN or infinity; store None or a string"
    if kind is str:
        return f"{where} {text_problem(value)}"
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            problem = _json_problem(item, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"{where} has the key {key!r}; JSON object keys are strings"
            problem = _json_problem(item, f"{path}[{key!r}]")
            if problem is not None:
                return problem
        return None
    return (
        f"{where} is a {kind.__name__} ({value!r}), which JSON would not give back as it "
        "was; convert it first (str(), isoformat(), list(), ...)"
    )


DecimalField = Decimal
UUID = UUIDField

Converter = Callable[[Any], Any]
