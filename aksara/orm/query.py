"""The query a QuerySet describes: one frozen value whose fields are declared once.

Each field of :class:`Query` is declared with a tag saying what it does to the statement:

* :class:`Shape` - changes the SQL; the value itself is part of the compiled-SQL cache key.
* :class:`Bound` - carries values bound as parameters; the key holds only the structure
  (``key``, a Python expression over the field), and the compiler records, per placeholder,
  where in the query its value is read.
* :class:`Runtime` - never changes the SQL (prefetching, relation loading, ``none()``).

Copying (:meth:`Query.replace`) and the cache key (:meth:`Query.cache_key`) are generated
from that declaration, so a field cannot be left out of either; a field declared without a
tag fails when this module is imported.
"""

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

if TYPE_CHECKING:
    from aksara.orm.expressions import Aggregate
    from aksara.orm.models import Model
    from aksara.orm.relations.prefetch import Prefetch
    from aksara.orm.where import Node

__all__ = ["Bound", "Query", "Runtime", "Shape", "field_tags"]


class Shape:
    """Tag: the field's value is part of the statement's shape (and of its cache key)."""

    __slots__ = ()


class Bound:
    """Tag: the field carries bound values; *key* (a Python expression over ``{0}``, the
    field) is its part of the cache key, the structure without the values."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


class Runtime:
    """Tag: the field changes how a result is loaded, never the SQL; not in the key."""

    __slots__ = ()


Tag = Shape | Bound | Runtime
_NODES_KEY = "tuple([node.shape for node in {0}]) if {0} else ()"


class Query(NamedTuple):
    """Everything a QuerySet describes; chain methods return a modified copy."""

    model: Annotated["type[Model]", Shape()]
    #: WHERE nodes, ANDed.
    where: Annotated["tuple[Node, ...]", Bound(_NODES_KEY)] = ()
    #: ORDER BY names ("-field", "?"); None: the model's default ordering.
    order: Annotated[tuple[str, ...] | None, Shape()] = None
    limit: Annotated[int | None, Bound("{0} is None")] = None
    offset: Annotated[int | None, Bound("{0} is None")] = None
    only: Annotated[tuple[str, ...] | None, Shape()] = None
    defer: Annotated[tuple[str, ...], Shape()] = ()
    distinct: Annotated[bool, Shape()] = False
    #: values() / values_list() field names; None: model instances.
    values: Annotated[tuple[str, ...] | None, Shape()] = None
    #: "dict", "tuple" or "flat" for values(); the rows' Python shape.
    values_mode: Annotated[str, Shape()] = ""
    #: select_for_update(): (nowait, skip_locked).
    for_update: Annotated[tuple[bool, bool] | None, Shape()] = None
    related: Annotated[tuple[str, ...], Shape()] = ()
    annotations: Annotated[
        "tuple[tuple[str, Aggregate], ...]",
        Bound("tuple([(name, aggregate.shape()) for name, aggregate in {0}]) if {0} else ()"),
    ] = ()
    #: Conditions on annotations (HAVING, or WHERE of correlated subqueries).
    having: Annotated["tuple[Node, ...]", Bound(_NODES_KEY)] = ()
    #: annotate() after values(): GROUP BY those values, as in Django.
    grouped: Annotated[bool, Shape()] = False
    #: none(): the query returns nothing and never runs.
    empty: Annotated[bool, Runtime()] = False
    prefetch: Annotated["tuple[Prefetch, ...]", Runtime()] = ()
    #: relation_loading() mode; None: the RELATION_LOADING setting.
    loading: Annotated[str | None, Runtime()] = None

    @classmethod
    def of(cls, model: "type[Model]") -> "Query":
        """The query of every row of *model* (every other field at its default)."""
        raise NotImplementedError  # generated below from the declaration

    def replace(self, **changes: Any) -> "Query":
        """A copy with *changes* (field=value) applied."""
        raise NotImplementedError  # generated below from the declaration

    def cache_key(self, kind: str) -> Hashable:
        """The key of the statement of *kind* ("select", "count"…) compiled for this
        query: every Shape field, the structure of every Bound field."""
        raise NotImplementedError  # generated below from the declaration

    def __repr__(self) -> str:
        return f"<Query {self.model.__name__} where={len(self.where)} limit={self.limit}>"


def field_tags(cls: type[Any] = Query) -> dict[str, Tag]:
    """Each declared field of *cls* and its tag; TypeError for a field without exactly one."""
    tags: dict[str, Tag] = {}
    for name in cls._fields:
        declared = cls.__annotations__.get(name)
        found = [item for item in getattr(declared, "__metadata__", ()) if isinstance(item, Tag)]
        if len(found) != 1:
            raise TypeError(
                f"{cls.__name__}.{name} must be declared Annotated[type, tag] with exactly one "
                "of Shape(), Bound(key) or Runtime(): the tag decides whether the field is "
                "part of the compiled-SQL cache key."
            )
        tags[name] = found[0]
    return tags


def _generate(cls: type[Any]) -> None:
    """Write ``replace`` and ``cache_key`` for *cls* from its declared tags."""
    tags = field_tags(cls)
    names = list(tags)
    unpack = ", ".join(names) + ("," if len(names) == 1 else "")
    key_parts = ["kind"]
    for name, tag in tags.items():
        if isinstance(tag, Shape):
            key_parts.append(name)
        elif isinstance(tag, Bound):
            key_parts.append(tag.key.format(name))
    # A NamedTuple's fields without a default come first.
    required = [name for name in names if name not in cls._field_defaults]
    defaults = tuple(cls._field_defaults[name] for name in names[len(required) :])
    missing = "_MISSING"
    old = ", ".join(f"_{i}" for i in range(len(names))) + ("," if len(names) == 1 else "")
    copied = ", ".join(f"_{i} if {n} is {missing} else {n}" for i, n in enumerate(names))
    source = (
        f"def replace(self, *, {', '.join(f'{n}={missing}' for n in names)}):\n"
        f"    {old} = self\n"
        f"    return _new(cls, ({copied},))\n"
        "\n"
        f"def of(cls, {', '.join(required)}):\n"
        f"    return _new(cls, ({', '.join(required)}, *defaults))\n"
        "\n"
        "def cache_key(self, kind):\n"
        f"    {unpack} = self\n"
        f"    return ({', '.join(key_parts)},)\n"
    )
    # Only names and tags written in this module reach the generated source.
    namespace: dict[str, Any] = {
        "_new": tuple.__new__,
        "cls": cls,
        "defaults": defaults,
        missing: object(),
    }
    exec(compile(source, f"<{cls.__name__} generated>", "exec"), namespace)
    replace: Callable[..., Any] = namespace["replace"]
    replace.__doc__ = cls.replace.__doc__
    cache_key: Callable[..., Any] = namespace["cache_key"]
    cache_key.__doc__ = cls.cache_key.__doc__
    cls.replace = replace
    of: Callable[..., Any] = namespace["of"]
    of.__doc__ = cls.of.__doc__
    cls.of = classmethod(of)
    cls.cache_key = cache_key


_generate(Query)
