"""Serializer fields: what a serializer reads from an instance, writes to the response, and
accepts in a request body. Fields are bound once, when their serializer class is built."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aksara.orm import expressions

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer
    from aksara.orm.models import Model

__all__ = [
    "JSON",
    "UUID",
    "Aggregate",
    "Avg",
    "Boolean",
    "Choice",
    "Count",
    "Date",
    "DateTime",
    "Decimal",
    "Email",
    "Field",
    "Float",
    "Integer",
    "List",
    "Max",
    "Min",
    "PrimaryKeyRelated",
    "SerializerMethodField",
    "String",
    "Sum",
    "empty",
]


class _Empty:
    def __repr__(self) -> str:
        return "empty"


#: No value given (a field without a default; a key missing from the body).
empty: Any = _Empty()


class Field:
    """One key of a serializer's output and input.

    ``source`` is the attribute path read on the instance (``"author.name"``; ``"*"`` for the
    instance itself); by default the field's own name, so annotations are read too.
    """

    #: The Python type of the value in the output (the annotation of the output Struct).
    output_type: ClassVar[Any] = Any
    #: Words for error messages: "Expected {type_label}."
    type_label: ClassVar[str] = "a value"

    def __init__(
        self,
        *,
        source: str | None = None,
        required: bool | None = None,
        allow_null: bool = False,
        default: Any = empty,
        read_only: bool = False,
        write_only: bool = False,
        label: str | None = None,
        help_text: str | None = None,
        validators: Sequence[Callable[[Any], Any]] = (),
    ) -> None:
        if read_only and write_only:
            raise ValueError("A field cannot be both read_only and write_only.")
        if required and default is not empty:
            raise ValueError("A field cannot be required and have a default.")
        if required and read_only:
            raise ValueError("A read_only field cannot be required.")
        self.source = source
        self.required = (default is empty and not read_only) if required is None else required
        self.allow_null = allow_null
        self.default = default
        self.read_only = read_only
        self.write_only = write_only
        self.label = label
        self.help_text = help_text
        self.validators = tuple(validators)
        #: The model field this one was made from or writes to (set by ModelSerializer).
        self.model_field: Any = None
        #: Set by :meth:`bind`: the output key, the path read, and the owning class.
        self.name = ""
        self.source_path: tuple[str, ...] = ()
        self.parent: type[Serializer] | None = None

    def bind(self, name: str, parent: type[Serializer]) -> None:
        """Attach the field to *parent* under *name* (called when the class is built)."""
        self.name = name
        self.parent = parent
        source = self.source or name
        self.source_path = () if source == "*" else tuple(source.split("."))

    def copy(self) -> Field:
        """An unbound copy (a subclass of a serializer binds its own copies once)."""
        clone = copy.copy(self)
        clone.name, clone.source_path, clone.parent = "", (), None
        return clone

    @property
    def has_default(self) -> bool:
        return self.default is not empty

    def get_default(self) -> Any:
        """The default value (a callable default is called each time)."""
        return self.default() if callable(self.default) else self.default

    def __repr__(self) -> str:
        where = f" {self.name}" if self.name else ""
        source = f" source={'.'.join(self.source_path)!r}" if self.source else ""
        return f"<{type(self).__name__}{where}{source}>"


class String(Field):
    """Text; ``allow_blank`` accepts ``""``; surrounding whitespace is trimmed on input."""

    output_type = str
    type_label = "a string"

    def __init__(
        self,
        *,
        max_length: int | None = None,
        min_length: int | None = None,
        allow_blank: bool = False,
        trim_whitespace: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.max_length = max_length
        self.min_length = min_length
        self.allow_blank = allow_blank
        self.trim_whitespace = trim_whitespace


class Email(String):
    """An e-mail address (one ``@``, a dotted domain)."""

    type_label = "an e-mail address"


class Integer(Field):
    """A whole number within ``min_value`` / ``max_value``."""

    output_type = int
    type_label = "an integer"

    def __init__(
        self, *, min_value: int | None = None, max_value: int | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.min_value = min_value
        self.max_value = max_value


class Float(Field):
    """A finite floating-point number within ``min_value`` / ``max_value``."""

    output_type = float
    type_label = "a number"

    def __init__(
        self, *, min_value: float | None = None, max_value: float | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.min_value = min_value
        self.max_value = max_value


class Decimal(Field):
    """An exact decimal; written to JSON as a string (``"12.50"``), as DRF does."""

    output_type = decimal.Decimal
    type_label = "a decimal number"

    def __init__(
        self,
        *,
        max_digits: int | None = None,
        decimal_places: int | None = None,
        min_value: decimal.Decimal | int | None = None,
        max_value: decimal.Decimal | int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self.min_value = min_value
        self.max_value = max_value


class Boolean(Field):
    """``true`` or ``false``."""

    output_type = bool
    type_label = "a boolean"


class DateTime(Field):
    """An aware date and time, written as RFC 3339. Input is RFC 3339 text; a time without
    an offset (naive) is taken as UTC."""

    output_type = dt.datetime
    type_label = "a datetime (RFC 3339)"


class Date(Field):
    """A calendar date, written as ``YYYY-MM-DD``."""

    output_type = dt.date
    type_label = "a date (YYYY-MM-DD)"


class UUID(Field):
    """A UUID, written in its canonical hyphenated form."""

    output_type = uuid.UUID
    type_label = "a UUID"


class JSON(Field):
    """Any JSON value, written as it is."""

    type_label = "a JSON value"


class Choice(Field):
    """One of ``choices``: values, or ``(value, label)`` pairs."""

    type_label = "a valid choice"

    def __init__(self, choices: Sequence[Any], **options: Any) -> None:
        super().__init__(**options)
        pairs = [c if isinstance(c, tuple) and len(c) == 2 else (c, c) for c in choices]
        self.choices: dict[Any, Any] = dict(pairs)


class List(Field):
    """A list of ``child`` values."""

    output_type = list
    type_label = "a list"

    def __init__(
        self,
        child: Field | None = None,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        allow_empty: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.child = child if child is not None else JSON()
        self.min_length = min_length
        self.max_length = max_length
        self.allow_empty = allow_empty


class PrimaryKeyRelated(Field):
    """A related row by its primary key (``"author": 3``); ``many`` for a list of keys.

    ``model`` is the related model; on input each key must exist (one query per field).
    """

    type_label = "a primary key"

    def __init__(self, model: type[Model] | None = None, *, many: bool = False, **options: Any):
        super().__init__(**options)
        self.model = model
        self.many = many


class SerializerMethodField(Field):
    """Read-only: the value of ``get_<name>(self, obj)`` on the serializer, sync or async."""

    def __init__(self, method_name: str | None = None, **options: Any) -> None:
        options["read_only"] = True
        super().__init__(**options)
        self.method_name = method_name

    def bind(self, name: str, parent: type[Serializer]) -> None:
        super().bind(name, parent)
        if self.method_name is None:
            self.method_name = f"get_{name}"
        if not callable(getattr(parent, self.method_name, None)):
            raise TypeError(
                f"{parent.__name__}.{name} is a SerializerMethodField but "
                f"{parent.__name__} has no method {self.method_name}(self, obj)."
            )


class Aggregate(Field):
    """Read-only: an aggregate over a relation, annotated on the queryset by the plan
    (``comment_count = serializers.Count("comments")``)."""

    aggregate_class: ClassVar[type[expressions.Aggregate]] = expressions.Aggregate

    def __init__(self, path: str = "*", *, distinct: bool = False, **options: Any) -> None:
        options["read_only"] = True
        super().__init__(**options)
        self.path = path
        self.distinct = distinct

    def aggregate(self) -> expressions.Aggregate:
        """The ORM aggregate to annotate under this field's name."""
        return self.aggregate_class(self.path, distinct=self.distinct)


class Count(Aggregate):
    """The number of related rows (``Count("comments")``)."""

    output_type = int
    aggregate_class = expressions.Count


class Sum(Aggregate):
    """The sum of a related column."""

    aggregate_class = expressions.Sum


class Avg(Aggregate):
    """The average of a related column."""

    aggregate_class = expressions.Avg


class Min(Aggregate):
    """The smallest value of a related column."""

    aggregate_class = expressions.Min


class Max(Aggregate):
    """The largest value of a related column."""

    aggregate_class = expressions.Max
