"""The generated code of a compiled output: one straight-line function per serializer class and
field selection, turning a page of instances into msgspec Structs.

Nested serializers are inlined, paths shared by several fields are read once per row, and
nothing dispatches on the field type at run time. The source is registered with ``linecache``
(as the ORM's row builders are), so a traceback shows the generated line and the field it
computes.
"""

from __future__ import annotations

import hashlib
import inspect
import keyword
import linecache
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from aksara.api.serializers import fields as f
from aksara.orm.relations.kinds import ForwardRelation, ReverseOneRelation

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer
    from aksara.api.serializers.output import Output
    from aksara.orm.models import Model

__all__ = ["Level", "Program", "generate", "struct_for", "uses_async"]

#: The way from a page's instances to the instances a nested serializer renders: per nesting
#: step, the source path read and whether it holds many.
Level = tuple[tuple[tuple[str, ...], bool], ...]
#: ``build(instances, sync_methods, async_results) -> list of Structs``.
Build = Callable[[Iterable[Any], tuple[Any, ...], tuple[Any, ...]], list[Any]]


@dataclass(frozen=True, slots=True)
class Program:
    """A generated output function and the method fields it calls.

    ``sync_methods[i]`` is the ``(serializer class, method name)`` behind ``m{i}`` in the code;
    ``async_methods[i]`` adds the level of the instances it is awaited for (``n{i}``).
    """

    build: Build
    source: str
    sync_methods: tuple[tuple[type[Serializer], str], ...]
    async_methods: tuple[tuple[Level, type[Serializer], str], ...]
    #: Reads rows by key (dicts) rather than by attribute.
    mapping: bool = False


def _is_plain(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")


def struct_for(serializer: type[Serializer], fields: tuple[f.Field, ...]) -> type[msgspec.Struct]:
    """The Struct type of *serializer*'s output for *fields* (keys that are not identifiers
    are renamed on encoding)."""
    names: list[str] = []
    rename: dict[str, str] = {}
    for index, field in enumerate(fields):
        name = field.name
        if not _is_plain(name):
            name = f"field_{index}"
            while name in serializer._fields:
                name += "_"
            rename[name] = field.name
        names.append(name)
    struct: type[msgspec.Struct] = msgspec.defstruct(
        f"{serializer.__name__}Output",
        [(name, Any) for name in names],
        rename=rename or None,
        module=serializer.__module__,
        gc=False,  # short-lived and acyclic: tracking them only costs the collector time
    )
    return struct


def _quote(text: str) -> str:
    # str.__repr__ itself: a str subclass cannot change how a name is quoted into the code.
    return str.__repr__(text)


def _attribute(holder: str, name: str) -> str:
    return f"{holder}.{name}" if _is_plain(name) else f"getattr({holder}, {_quote(name)})"


def _model_of(serializer: type[Serializer]) -> type[Model] | None:
    model: type[Model] | None = getattr(serializer, "model", None)
    return model


def _key_path(model: type[Model] | None, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """*path* to a forward relation read as its key column (``author`` -> ``author_id``);
    None when the models on the way are unknown."""
    for step in path[:-1]:
        relation = model._meta.relations.get(step) if model is not None else None
        if not isinstance(relation, ForwardRelation | ReverseOneRelation):
            return None
        model = relation.target
    if model is None or not path:
        return None
    last = model._meta.relations.get(path[-1])
    if isinstance(last, ForwardRelation):
        return (*path[:-1], last.attname)
    return path if path[-1] in model._meta.attnames else None


def _target_key(model: type[Model] | None, field: f.PrimaryKeyRelated) -> str | None:
    """The key attribute of the rows a many PrimaryKeyRelated lists, when known."""
    target = field.model
    if target is None and model is not None and len(field.source_path) == 1:
        relation = model._meta.relations.get(field.source_path[0])
        target = relation.target if relation is not None else None
    return target._meta.pk.attname if target is not None else None


def _pk_of(value: Any) -> Any:
    # The related instance's key; an unloaded relation raises naming select_related.
    return value if value is None else getattr(value, "pk", value)


class _Scope:
    """The instance a level of the generated code renders: the locals holding the paths
    read so far (``()`` is the instance itself) and its model, when known."""

    __slots__ = ("locals", "model")

    def __init__(self, holder: str, model: type[Model] | None) -> None:
        self.locals: dict[tuple[str, ...], str] = {(): holder}
        self.model = model

    def model_at(self, path: tuple[str, ...]) -> type[Model] | None:
        """The model of the instance at *path* (through to-one relations), when known."""
        model = self.model
        for step in path:
            relation = model._meta.relations.get(step) if model is not None else None
            if not isinstance(relation, ForwardRelation | ReverseOneRelation):
                return None
            model = relation.target
        return model


class _Writer:
    """Writes the statements of one generated function."""

    def __init__(self, mapping: bool) -> None:
        #: Rows are dicts (read by key) rather than objects (read by attribute).
        self.mapping = mapping
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"_pk_of": _pk_of}
        self.sync_methods: list[tuple[type[Serializer], str]] = []
        self.async_methods: list[tuple[Level, type[Serializer], str]] = []
        self._count = 0

    def local(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def level(self, output: Output, holder: str, indent: int, level: Level) -> str:
        """Emit the statements for *output* of the instance in *holder*; return the
        expression building its Struct."""
        scope = _Scope(holder, None if self.mapping else _model_of(output.serializer))
        values = [self.value(field, output, scope, indent, level) for field in output.fields]
        struct = self.local("S")
        self.namespace[struct] = output.struct
        return f"{struct}({', '.join(values)})"

    def read(self, path: tuple[str, ...], scope: _Scope, indent: int) -> str:
        """The expression of *path*: None as soon as a step is None."""
        known = scope.locals.get(path)
        if known is not None:
            return known
        parent = self.prefix(path[:-1], scope, indent)
        expression = self.attribute(parent, path[-1], scope.model_at(path[:-1]))
        return expression if len(path) == 1 else f"(None if {parent} is None else {expression})"

    def prefix(self, path: tuple[str, ...], scope: _Scope, indent: int) -> str:
        """A local holding *path*, read once per row for every field below it."""
        known = scope.locals.get(path)
        if known is not None:
            return known
        name = self.local("t")
        self.emit(indent, f"{name} = {self.read(path, scope, indent)}")
        scope.locals[path] = name
        return name

    def attribute(self, holder: str, name: str, model: type[Model] | None) -> str:
        """The expression of attribute *name* of *holder* (an instance of *model*, if known)."""
        if self.mapping:
            return f"{holder}[{_quote(name)}]"
        relation = model._meta.relations.get(name) if model is not None else None
        if relation is None:
            return _attribute(holder, name)
        # A relation's descriptor costs Python calls a row (a to-many one builds a manager:
        # ~0.6 µs); whenever the loaded value is in the row's __dict__ it is the descriptor's
        # answer too, so only the other cases (not loaded, stale, None) call the descriptor.
        cached = self.local("c")
        if not isinstance(relation, ForwardRelation):
            # Reverse, one-to-one and many-to-many relations keep what was loaded under
            # their name (Relation.loaded); a to-many one is the list of prefetched rows.
            return (
                f"({cached} if ({cached} := {holder}.__dict__.get({_quote(name)})) is not None"
                f" else {_attribute(holder, name)})"
            )
        # A forward key's cached instance counts only while its key is the row's key.
        values = self.local("d")
        key = _attribute(cached, relation.target._meta.pk.attname)
        return (
            f"({cached} if ({cached} := ({values} := {holder}.__dict__).get({_quote(name)})) is not None"
            f" and {key} == {values}.get({_quote(relation.attname)}) else {_attribute(holder, name)})"
        )

    def value(
        self,
        field: f.Field,
        output: Output,
        scope: _Scope,
        indent: int,
        level: Level,
    ) -> str:
        """Emit what *field* needs; return the expression of its output value."""
        holder = scope.locals[()]
        # Escaped: a name holding a line break must not end the comment.
        label = "  # " + _quote(f"{output.serializer.__name__}.{field.name}")[1:-1]
        if isinstance(field, f.SerializerMethodField):
            name = field.method_name or f"get_{field.name}"
            if inspect.iscoroutinefunction(getattr(output.serializer, name)):
                self.async_methods.append((level, output.serializer, name))
                return f"n{len(self.async_methods) - 1}()"
            self.sync_methods.append((output.serializer, name))
            return f"m{len(self.sync_methods) - 1}({holder})"
        nested = output.nested.get(field.name)
        if nested is not None:
            return self.nested(field, nested, scope, indent, level, label)
        if isinstance(field, f.PrimaryKeyRelated):
            return self.primary_key(field, scope, indent, label)
        return self.read(field.source_path, scope, indent)

    def nested(
        self,
        field: f.Field,
        nested: Output,
        scope: _Scope,
        indent: int,
        level: Level,
        label: str,
    ) -> str:
        many = bool(getattr(field, "many", False))
        source = self.read(field.source_path, scope, indent)
        if source not in scope.locals.values():
            source, value = self.local("t"), source
            self.emit(indent, f"{source} = {value}{label}")
        result = self.local("x")
        self.emit(indent, f"if {source} is None:")
        self.emit(indent + 1, f"{result} = None")
        self.emit(indent, "else:")
        inner_level: Level = (*level, (field.source_path, many))
        if not many:
            build = self.level(nested, source, indent + 1, inner_level)
            self.emit(indent + 1, f"{result} = {build}")
            return result
        item = self.local("c")
        start = len(self.lines)
        build = self.level(nested, item, indent + 2, inner_level)
        body = self.lines[start:]
        del self.lines[start:]
        if not body:
            self.emit(indent + 1, f"{result} = [{build} for {item} in {source}]")
            return result
        self.emit(indent + 1, f"{result} = []")
        self.emit(indent + 1, f"for {item} in {source}:")
        self.lines.extend(body)
        self.emit(indent + 2, f"{result}.append({build})")
        return result

    def primary_key(
        self,
        field: f.PrimaryKeyRelated,
        scope: _Scope,
        indent: int,
        label: str,
    ) -> str:
        model = scope.model  # None for dict rows: their keys are read as named
        if not field.many:
            path = _key_path(model, field.source_path)
            if path is not None:
                return self.read(path, scope, indent)
            return f"_pk_of({self.read(field.source_path, scope, indent)})"
        rows, row = self.local("t"), self.local("r")
        self.emit(indent, f"{rows} = {self.read(field.source_path, scope, indent)}{label}")
        key = _target_key(model, field)
        each = f"_pk_of({row})" if key is None or self.mapping else _attribute(row, key)
        return f"(None if {rows} is None else [{each} for {row} in {rows}])"


def generate(output: Output, *, mapping: bool = False) -> Program:
    """Generate the output function of *output* (and of the nested outputs it inlines);
    with *mapping*, for rows that are dicts (``values()`` rows, decoded JSON)."""
    writer = _Writer(mapping)
    build = writer.level(output, "o", 2, ())
    head = ["def build(objs, m, n):"]
    if writer.sync_methods:
        names = ", ".join(f"m{i}" for i in range(len(writer.sync_methods)))
        head.append(f"    {names}, = m")
    if writer.async_methods:
        names = ", ".join(f"n{i}" for i in range(len(writer.async_methods)))
        head.append(f"    {names}, = n")
    if writer.lines:
        body = [*head, "    out = []", "    ap = out.append", "    for o in objs:"]
        body += [*writer.lines, f"        ap({build})", "    return out"]
    else:
        body = [*head, f"    return [{build} for o in objs]"]
    source = "\n".join(body) + "\n"
    digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:12]
    kind = "of dicts " if mapping else ""
    filename = f"<aksara output {kind}{output.serializer.__qualname__} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = dict(writer.namespace)
    exec(compile(source, filename, "exec"), namespace)
    return Program(
        namespace["build"],
        source,
        tuple(writer.sync_methods),
        tuple(writer.async_methods),
        mapping,
    )


def uses_async(output: Output) -> bool:
    """Whether *output* has an async method field (nested outputs not counted)."""
    return any(
        inspect.iscoroutinefunction(getattr(output.serializer, field.method_name or ""))
        for field in output.fields
        if isinstance(field, f.SerializerMethodField)
    )
