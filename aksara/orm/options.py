"""A model's metadata (``Model._meta``): table, fields, primary key, ordering, indexes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aksara.exceptions import FieldError, suggest
from aksara.orm.fields import AutoField, Field, ForeignKey
from aksara.orm.query import Query

if TYPE_CHECKING:
    from aksara.orm.models import Model
    from aksara.orm.paths import JoinStep
    from aksara.orm.relations.kinds import ManyRelation, Relation

__all__ = ["Index", "Options", "snake_case", "table_name_for"]

_META_KEYS = ("table_name", "ordering", "indexes", "unique_together", "abstract")
_MAX_IDENTIFIER = 63


def snake_case(name: str) -> str:
    """``BlogCategory`` -> ``blog_category``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def table_name_for(class_name: str) -> str:
    """``Post`` -> ``posts``, ``BlogCategory`` -> ``blog_categories``."""
    return _plural(snake_case(class_name))


def identifier(*parts: str, suffix: str) -> str:
    """Join *parts* and *suffix* into a name PostgreSQL keeps whole (63 bytes)."""
    name = "_".join((*parts, suffix))
    if len(name) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_IDENTIFIER - len(suffix) - 10]}_{digest}_{suffix}"


class Index:
    """An index on one or more fields; ``condition`` (SQL) makes it partial."""

    def __init__(
        self,
        *,
        fields: Sequence[str],
        name: str | None = None,
        condition: str | None = None,
        unique: bool = False,
    ) -> None:
        if not fields or isinstance(fields, str):
            raise ValueError("Index(fields=[...]) takes a non-empty list of field names.")
        self.fields = tuple(fields)
        self.name = name
        self.condition = condition
        self.unique = unique
        self.columns: tuple[str, ...] = ()

    def bind(self, meta: Options) -> None:
        """Resolve field names to columns and derive the default name."""
        columns = []
        for name in self.fields:
            columns.append(meta.get_field(name).column)
        self.columns = tuple(columns)
        if self.name is None:
            self.name = identifier(meta.table_name, *columns, suffix="idx")

    def __repr__(self) -> str:
        return f"<Index {self.name or self.fields}>"


class Options:
    """Everything Aksara knows about a model's table, computed once when the class is built."""

    def __init__(self, model: type[Model], meta: Any, fields: list[Field]) -> None:
        declared = {k: v for k, v in vars(meta).items() if not k.startswith("_")} if meta else {}
        for key in declared:
            if key not in _META_KEYS:
                raise FieldError(
                    f"{model.__name__}.Meta has unknown option {key!r}.{suggest(key, _META_KEYS)} "
                    f"Valid options: {', '.join(_META_KEYS)}."
                )
        self.model = model
        self.abstract: bool = declared.get("abstract", False)
        self.table_name: str = declared.get("table_name") or table_name_for(model.__name__)
        ordering = declared.get("ordering", ())
        self.ordering: tuple[str, ...] = (
            (ordering,) if isinstance(ordering, str) else tuple(ordering)
        )
        self.declared_indexes: list[Index] = list(declared.get("indexes", ()))
        together = declared.get("unique_together", ())
        if together and isinstance(together[0], str):
            together = (together,)
        self.unique_together: tuple[tuple[str, ...], ...] = tuple(tuple(t) for t in together)
        if not any(field.primary_key for field in fields):
            fields.insert(0, AutoField())
        self.fields: list[Field] = fields
        self.related_objects: list[ForeignKey] = []
        #: Reverse relations by accessor name (``post.comments``): the foreign key behind each.
        self.reverse_relations: dict[str, ForeignKey] = {}
        #: Many-to-many relations by name, from either side (``post.tags``, ``tag.posts``).
        self.many_relations: dict[str, ManyRelation] = {}
        #: Every relation by name: forward keys, reverse and many-to-many relations.
        self.relations: dict[str, Relation] = {}
        self.many_to_many: list[Field] = []
        self._by_name: dict[str, Field] = {}
        self.lookup_cache: dict[str, Any] = {}
        #: Field paths checked by order_by() and friends: (Path, relations followed).
        self.path_cache: dict[str, Any] = {}
        #: get(key=value) shortcuts by key, built on first use (``aksara.orm.queryset``).
        self.key_gets: dict[str, Any] = {}
        #: The same for other queries without conditions (joined, narrowed...), by query,
        #: and the last query asked for with its shortcuts (``aksara.orm.keyget``).
        self.query_key_gets: dict[Any, Any] = {}
        self.recent_key_gets: tuple[Any, Any] | None = None
        #: The query of every row, shared by every QuerySet that starts from it (it is frozen).
        self.query = Query.of(model)
        self.pk: Field = next(field for field in fields if field.primary_key)

    def finish(self) -> None:
        """Index fields by name once they are bound, and derive indexes."""
        for field in self.fields:
            self._by_name[field.name] = field
            self._by_name[field.attname] = field
        self.attnames: tuple[str, ...] = tuple(field.attname for field in self.fields)
        self.foreign_keys: tuple[ForeignKey, ...] = tuple(
            field for field in self.fields if isinstance(field, ForeignKey)
        )
        #: Keyword names that set a column directly (every field but FKs given by name).
        self.plain_names: dict[str, str] = {
            name: field.attname
            for field in self.fields
            for name in (field.name, field.attname)
            if not (field.is_relation and name == field.name)
        }
        self.defaults: dict[str, Any] = {}
        self.default_factories: list[tuple[str, Any]] = []
        for field in self.fields:
            if callable(field.default):
                self.default_factories.append((field.attname, field.default))
            else:
                self.defaults[field.attname] = field.get_default()
        indexes = [Index(fields=[f.name]) for f in self.fields if f.db_index and not f.unique]
        indexes.extend(self.declared_indexes)
        self.indexes: list[Index] = []
        self._indexes_bound = False
        self._pending_indexes = indexes

    def bind_indexes(self) -> list[Index]:
        """Return the indexes, binding them on first use (foreign keys resolve lazily)."""
        if not self._indexes_bound:
            for index in self._pending_indexes:
                index.bind(self)
            self.indexes = self._pending_indexes
            self._indexes_bound = True
        return self.indexes

    def get_field(self, name: str) -> Field:
        """Return the field called *name* (or its attname); ``pk`` is the primary key."""
        field = self._by_name.get(name)
        if field is None:
            if name == "pk":
                return self.pk
            raise FieldError(
                f"{self.model.__name__} has no field {name!r}.{suggest(name, self.field_names)} "
                f"Valid fields: {', '.join(self.field_names)}."
            )
        return field

    def relation_steps(self, name: str) -> list[JoinStep] | None:
        """The joins of a reverse or many-to-many relation called *name*, else None."""
        relation = self.relations.get(name)
        return None if relation is None else relation.path_steps()

    @property
    def field_names(self) -> list[str]:
        """Names of the concrete fields, in declaration order."""
        return [field.name for field in self.fields]

    def unique_constraint_name(self, field: Field) -> str:
        """Name of the unique constraint of a ``unique=True`` field."""
        return identifier(self.table_name, field.column, suffix="key")

    def __repr__(self) -> str:
        return f"<Options {self.model.__name__} table={self.table_name}>"
