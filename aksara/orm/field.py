"""``Field``: the base of every column type and relation field, and the values they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aksara.exceptions import DeferredFieldError, ValidationError
from aksara.orm.lookups import COMMON_LOOKUPS, Lookup, listing_order

if TYPE_CHECKING:
    from aksara.orm.models import Model

__all__ = [
    "CASCADE",
    "NOT_PROVIDED",
    "ON_DELETE",
    "PROTECT",
    "RESTRICT",
    "SET_NULL",
    "Field",
    "text_problem",
]


class _NotProvided:
    def __repr__(self) -> str:
        return "NOT_PROVIDED"


NOT_PROVIDED: Any = _NotProvided()

CASCADE = "CASCADE"
SET_NULL = "SET NULL"
RESTRICT = "RESTRICT"
PROTECT = "PROTECT"
ON_DELETE = (CASCADE, SET_NULL, RESTRICT, PROTECT)


def text_problem(value: str) -> str | None:
    """Why *value* cannot be stored as text on both databases, or None when it can."""
    if "\x00" in value:
        return (
            f"contains a NUL character (\\x00) at index {value.index(chr(0))}, which "
            "PostgreSQL cannot store; remove or replace it"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return (
                f"contains a lone surrogate {value[error.start]!r} at index {error.start}, "
                "which is not valid Unicode text; fix the text's decoding"
            )
    return None


class Field:
    """A column of a model's table.

    Stored values live in the instance's ``__dict__``; the field is a non-data descriptor
    that is only consulted when a value is missing, i.e. when it was deferred.
    """

    kind: ClassVar[str] = ""
    type_label: ClassVar[str] = "value"
    is_relation: ClassVar[bool] = False
    #: Lookups registered on this very class (see :meth:`register_lookup`); a field offers
    #: these and those of its classes' bases.
    class_lookups: ClassVar[dict[str, Lookup]] = {}
    #: The lookups of this class and its bases merged, kept until one is (un)registered.
    _lookup_table: ClassVar[Mapping[str, Lookup] | None] = None

    def __init__(
        self,
        *,
        null: bool = False,
        default: Any = NOT_PROVIDED,
        unique: bool = False,
        db_index: bool = False,
        primary_key: bool = False,
        column: str | None = None,
        choices: Sequence[Any] | None = None,
    ) -> None:
        self.null = null
        self.default = default
        self.unique = unique or primary_key
        self.db_index = db_index
        self.primary_key = primary_key
        self.db_column = column
        self.choices = tuple(choices) if choices is not None else None
        self.name = ""
        self.attname = ""
        self.column = ""
        self.model: type[Model] = None  # type: ignore[assignment]

    def bind(self, model: type[Model], name: str) -> None:
        """Attach the field to *model* under *name* (called when the model class is built)."""
        self.model = model
        self.name = name
        self.attname = name
        self.column = self.db_column or name

    @property
    def label(self) -> str:
        """``Model.field`` for error messages."""
        return f"{self.model.__name__}.{self.name}"

    @property
    def has_default(self) -> bool:
        """True when the field has a default value or factory."""
        return self.default is not NOT_PROVIDED

    def get_default(self) -> Any:
        """Return the default value (calling a factory), or None."""
        if self.default is NOT_PROVIDED:
            return None
        return self.default() if callable(self.default) else self.default

    @property
    def bounds(self) -> tuple[int, int] | None:
        """The lowest and highest integer the column holds; None for non-integer columns."""
        return None

    @classmethod
    def register_lookup(cls, lookup: type[Lookup]) -> type[Lookup]:
        """Offer *lookup* on this field class and its subclasses, replacing an inherited
        lookup of the same name (usable as a class decorator). Register at import time:
        filter keys already used keep what they were resolved to."""
        name = lookup.name
        if not name or not name.isidentifier() or "__" in name:
            raise ValueError(
                f"{lookup.__name__}.name must be a Python identifier without '__' (it ends a "
                f"filter key such as title__{name or 'name'}), got {name!r}."
            )
        if "class_lookups" not in cls.__dict__:
            cls.class_lookups = {}
        cls.class_lookups[name] = lookup()
        cls._forget_lookup_tables()
        return lookup

    @classmethod
    def unregister_lookup(cls, name: str) -> None:
        """Withdraw the lookup *name* registered on this very class (not on a base)."""
        cls.__dict__.get("class_lookups", {}).pop(name, None)
        cls._forget_lookup_tables()

    @classmethod
    def _forget_lookup_tables(cls) -> None:
        pending: list[type[Field]] = [cls]
        while pending:
            klass = pending.pop()
            pending.extend(klass.__subclasses__())
            if "_lookup_table" in klass.__dict__:
                klass._lookup_table = None

    def lookup_table(self) -> Mapping[str, Lookup]:
        """Every lookup this field offers, by name: its classes' own, bases' first."""
        klass = type(self)
        table = klass.__dict__.get("_lookup_table")
        if table is None:
            merged: dict[str, Lookup] = {}
            for base in reversed(klass.__mro__):
                merged.update(base.__dict__.get("class_lookups", {}))
            klass._lookup_table = table = merged
        return table

    def get_lookup(self, name: str) -> Lookup | None:
        """The lookup *name* if this field offers it, else None."""
        return self.lookup_table().get(name)

    def lookups(self) -> tuple[str, ...]:
        """The names of the lookups this field offers, for filters and error messages."""
        return tuple(sorted(self.lookup_table(), key=listing_order))

    def column_options(self) -> dict[str, Any]:
        """Values the dialect's column type template needs."""
        return {}

    def clean(self, value: Any) -> Any:
        """Return *value* checked (and normalised) for this field; raise ValidationError."""
        if value is None:
            if self.null:
                return None
            raise ValidationError(f"{self.label} cannot be null.", field=self.name)
        value = self.to_python(value)
        if self.choices is not None and value not in self.choices:
            raise ValidationError(
                f"{self.label} must be one of {list(self.choices)!r}, got {value!r}.",
                field=self.name,
            )
        return value

    def to_python(self, value: Any) -> Any:
        """Check the type of a non-null *value* and return it normalised."""
        return value

    def clean_column(self, values: list[Any]) -> list[Any]:
        """``clean()`` of many values (bulk writes); subclasses add fast paths."""
        clean = self.clean
        return [clean(value) for value in values]

    def _fast_ok(self, value: Any) -> bool:
        return value is None and self.null

    def type_error(self, value: Any) -> ValidationError:
        """Build the error for a value of the wrong type."""
        return ValidationError(
            f"{self.label} expects {self.type_label}, got {type(value).__name__} {value!r}.",
            field=self.name,
        )

    def text_error(self, value: str) -> ValidationError | None:
        """The error for text the databases cannot store, or None."""
        problem = text_problem(value)
        if problem is None:
            return None
        return ValidationError(f"{self.label} {problem}.", field=self.name)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise DeferredFieldError(
            f"{type(instance).__name__}.{self.attname} was not loaded: the query left it out "
            f"with only()/defer(). Include it in the query, or `await obj.refresh_from_db("
            f'fields=["{self.attname}"])` to load it explicitly.'
        )

    def __repr__(self) -> str:
        where = f"{self.label}" if self.model is not None else "unbound"
        return f"<{type(self).__name__} {where}>"


for _lookup in COMMON_LOOKUPS:
    Field.register_lookup(_lookup)
