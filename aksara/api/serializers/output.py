"""Compiled serializer output: ``PostSerializer.compile(fields)`` gives the :class:`Output` of
that field selection, built once and kept in a bounded LRU per serializer class; ``encode``
turns what it renders into JSON with one shared msgspec encoder."""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from aksara.api.serializers import output_code
from aksara.api.serializers.columns import ColumnPlan, column_plan
from aksara.api.serializers.plan import Plan
from aksara.api.serializers.selection import Selection, nested_class, normalize_selection

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer
    from aksara.api.serializers.fields import Field
    from aksara.orm.query import Query

__all__ = ["CACHE_SIZE", "Output", "compile_output", "encode", "output_for"]

#: Compiled outputs kept per serializer class (distinct ``?fields=`` sets beyond it are
#: compiled again when they come back).
CACHE_SIZE = 256

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON bytes of *value*: Structs, dicts, lists, datetimes (RFC 3339), dates, Decimals and
    UUIDs (as strings), None."""
    return _encoder.encode(value)


class Output:
    """The compiled output of one serializer class for one field selection.

    ``await out.many(instances, context)`` renders a page, ``await out.one(obj, context)``
    one instance; the values are msgspec Structs, ready for :func:`encode`.
    """

    def __init__(self, serializer: type[Serializer], selection: Selection) -> None:
        self.serializer = serializer
        #: The normalized selection: ``(name, None)`` per field, ``(name, selection)`` per
        #: nested serializer, in declaration order.
        self.selection = selection
        declared = serializer._fields
        #: The selected bound fields, in order.
        self.fields: tuple[Field, ...] = tuple(declared[name] for name, _ in selection)
        #: The nested serializers' outputs by field name.
        self.nested: dict[str, Output] = {}
        for name, inner in selection:
            nested = nested_class(declared[name])
            if nested is not None and inner is not None:
                self.nested[name] = output_for(nested, inner)
        #: Whether an async method field is selected, here or in a nested serializer.
        self.is_async: bool = output_code.uses_async(self) or any(
            nested.is_async for nested in self.nested.values()
        )
        #: The Struct type of one rendered instance.
        self.struct = output_code.struct_for(serializer, self.fields)
        self._program: output_code.Program | None = None
        self._mapping_program: output_code.Program | None = None

    @functools.cached_property
    def plan(self) -> Plan:
        """The queryset plan of this selection (joins, prefetches, columns, annotations),
        derived on first use and kept."""
        return Plan.for_output(self)

    @property
    def program(self) -> output_code.Program:
        """The generated function (generated on first use: nested outputs are inlined in
        their parents' and may never need their own)."""
        program = self._program
        if program is None:
            program = self._program = output_code.generate(self)
        return program

    @property
    def mapping_program(self) -> output_code.Program:
        """The generated function for rows that are dicts (read by key)."""
        program = self._mapping_program
        if program is None:
            program = self._mapping_program = output_code.generate(self, mapping=True)
        return program

    def _program_for(self, rows: Sequence[Any]) -> output_code.Program:
        if rows and isinstance(rows[0], dict):
            return self.mapping_program
        return self._program or self.program

    @functools.cached_property
    def columns(self) -> ColumnPlan | None:
        """The column plan of this selection (see :meth:`column_names`), derived once."""
        return column_plan(self)

    def column_names(self, query: Query) -> tuple[str, ...] | None:
        """The ``values_list()`` names whose tuples :meth:`from_columns` renders, for *query*
        (planned); None when a field needs the instance."""
        columns = self.columns
        return None if columns is None else columns.names_for(query)

    def from_columns(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Render rows fetched as ``values_list(*column_names(query))``."""
        struct = self.struct
        return [struct(*row) for row in rows]

    @property
    def source(self) -> str:
        """The Python source of the generated function (for reading and debugging)."""
        return self.program.source

    async def many(
        self,
        instances: Sequence[Any],
        context: Mapping[str, Any] | None = None,
        *,
        owner: Serializer | None = None,
    ) -> list[Any]:
        """Render *instances*; async method fields are awaited for all of them at once.

        Method fields run on an instance of their serializer whose ``.context`` is
        *context* (*owner* is that instance for this output's own class).
        """
        rows = instances if isinstance(instances, list | tuple) else list(instances)
        program = self._program_for(rows)
        if not (program.sync_methods or program.async_methods):
            return program.build(rows, (), ())
        owners = _Owners(context, owner)
        methods = owners.bind(program.sync_methods) if program.sync_methods else ()
        results = await _awaited(program, rows, owners) if program.async_methods else ()
        return program.build(rows, methods, results)

    async def one(
        self,
        instance: Any,
        context: Mapping[str, Any] | None = None,
        *,
        owner: Serializer | None = None,
    ) -> Any:
        """Render one instance (None stays None)."""
        if instance is None:
            return None
        return (await self.many([instance], context, owner=owner))[0]

    def many_now(
        self,
        instances: Sequence[Any],
        context: Mapping[str, Any] | None = None,
        *,
        owner: Serializer | None = None,
    ) -> list[Any]:
        """Render *instances* without awaiting; refuses when a method field is async."""
        rows = instances if isinstance(instances, list | tuple) else list(instances)
        program = self._program_for(rows)
        if program.async_methods:
            name = self.serializer.__name__
            raise TypeError(
                f"{name} has async method fields, so it renders asynchronously: use "
                f"`await {name}(...).get_data()` (or `await output.many(...)`) instead."
            )
        methods = _Owners(context, owner).bind(program.sync_methods)
        return program.build(rows, methods, ())

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.selection)
        return f"<Output {self.serializer.__name__} ({names})>"


class _Owners:
    """The serializer instances that method fields run on during one render."""

    __slots__ = ("context", "instances")

    def __init__(self, context: Mapping[str, Any] | None, owner: Serializer | None) -> None:
        self.context: Mapping[str, Any] = context if context is not None else {}
        self.instances: dict[type[Serializer], Serializer] = {}
        if owner is not None:
            self.instances[type(owner)] = owner

    def get(self, serializer: type[Serializer]) -> Serializer:
        instance = self.instances.get(serializer)
        if instance is None:
            instance = self.instances[serializer] = serializer(context=self.context)
        return instance

    def bind(self, methods: tuple[tuple[type[Serializer], str], ...]) -> tuple[Any, ...]:
        return tuple(getattr(self.get(serializer), name) for serializer, name in methods)


def _read(instance: Any, path: tuple[str, ...], mapping: bool) -> Any:
    for name in path:
        if instance is None:
            return None
        instance = instance[name] if mapping else getattr(instance, name)
    return instance


def _level_rows(rows: Sequence[Any], level: output_code.Level, mapping: bool) -> Sequence[Any]:
    # In the order the generated function visits them, so results line up with its reads.
    for path, many in level:
        below: list[Any] = []
        for row in rows:
            value = _read(row, path, mapping)
            if value is None:
                continue
            if many:
                below.extend(value)
            else:
                below.append(value)
        rows = below
    return rows


async def _awaited(
    program: output_code.Program, rows: Sequence[Any], owners: _Owners
) -> tuple[Any, ...]:
    """Every async method field's value for every instance it renders, awaited together (so
    relation loads inside them meet the ORM's peers batching): one iterator per field."""
    levels: dict[output_code.Level, Sequence[Any]] = {}
    calls: list[Any] = []
    sizes: list[int] = []
    for level, serializer, name in program.async_methods:
        at_level = levels.get(level)
        if at_level is None:
            at_level = levels[level] = _level_rows(rows, level, program.mapping)
        method = getattr(owners.get(serializer), name)
        calls.extend(asyncio.ensure_future(method(row)) for row in at_level)
        sizes.append(len(at_level))
    try:
        values = await asyncio.gather(*calls)
    except BaseException:
        for call in calls:
            call.cancel()
        raise
    results: list[Any] = []
    start = 0
    for size in sizes:
        results.append(iter(values[start : start + size]).__next__)
        start += size
    return tuple(results)


class _Cache:
    """One serializer class's compiled outputs, by requested names and by selection (LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.requested: OrderedDict[Hashable, Output] = OrderedDict()
        self.selected: OrderedDict[Selection, Output] = OrderedDict()

    @staticmethod
    def get(entries: OrderedDict[Any, Output], key: Any) -> Output | None:
        found = entries.get(key)
        if found is not None:
            entries.move_to_end(key)
        return found

    def put(self, entries: OrderedDict[Any, Output], key: Any, output: Output) -> None:
        entries[key] = output
        if len(entries) > self.size:
            entries.popitem(last=False)


def _cache_of(serializer: type[Serializer]) -> _Cache:
    # In the class's own __dict__: a subclass has fields of its own, so a cache of its own.
    cache: _Cache | None = serializer.__dict__.get("_outputs")
    if cache is None:
        cache = _Cache(CACHE_SIZE)
        type.__setattr__(serializer, "_outputs", cache)
    return cache


def output_for(serializer: type[Serializer], selection: Selection) -> Output:
    """The output of *serializer* for a normalized *selection*, compiled once."""
    cache = _cache_of(serializer)
    output = cache.get(cache.selected, selection)
    if output is None:
        output = Output(serializer, selection)
        cache.put(cache.selected, selection, output)
    return output


def compile_output(serializer: type[Serializer], fields: Sequence[str] | str | None) -> Output:
    """The output of *serializer* for the requested *fields* (dotted names narrow nested
    serializers; a string is split on commas; None: every readable field)."""
    if isinstance(fields, str):
        fields = fields.split(",")
    key = None if fields is None else tuple(fields)
    # Once per request: the hit is kept to two dict operations.
    cache: _Cache | None = serializer.__dict__.get("_outputs")
    if cache is not None:
        output = cache.requested.get(key)
        if output is not None:
            cache.requested.move_to_end(key)
            return output
    cache = _cache_of(serializer)
    output = output_for(serializer, normalize_selection(serializer, fields))
    cache.put(cache.requested, key, output)
    return output
