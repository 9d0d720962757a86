"""The query plan a serializer implies: the relations to join or prefetch, the columns to load
and the aggregates to annotate, derived once per serializer and field selection.

``plan.apply(queryset)`` adds the plan to a queryset and keeps what the queryset sets
itself; it is one query copy, made once for a query that comes back request after request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aksara.api.serializers import fields as f
from aksara.api.serializers.describe import describe_queryset
from aksara.api.serializers.reads import Nested, Reads, every_field, reads_of
from aksara.orm.models import Model
from aksara.orm.query import Query
from aksara.orm.queryset import QuerySet
from aksara.orm.relations.kinds import (
    ForwardRelation,
    ManyRelation,
    Relation,
    ReverseRelation,
)
from aksara.orm.relations.prefetch import Prefetch

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer

__all__ = ["CompiledOutput", "Nested", "Plan"]


class CompiledOutput(Protocol):
    """What the plan reads of a compiled output (``Serializer.compile()``)."""

    @property
    def serializer(self) -> type[Serializer]: ...
    @property
    def fields(self) -> Sequence[f.Field]: ...
    @property
    def nested(self) -> Mapping[str, CompiledOutput]: ...


def _joinable(reads: Reads) -> bool:
    """True when the level can load in its parent's query by JOIN (to-one rows, no aggregate)."""
    relations = reads.model._meta.relations
    return not reads.annotations and all(
        isinstance(relations[name], ForwardRelation) and _joinable(child)
        for name, child in reads.relations.items()
    )


def _prefixed(prefix: str, lookups: Sequence[Prefetch]) -> tuple[Prefetch, ...]:
    return tuple(Prefetch(prefix + p.lookup, p.queryset, p.to_attr) for p in lookups)


class _Fetch:
    """The prefetch of one relation: ours, ours unnarrowed, and the lookups that load what
    lies beneath it when the queryset prefetches the relation itself."""

    def __init__(self, relation: Relation, reads: Reads, narrow: bool) -> None:
        self.name = relation.name
        children = tuple(
            lookup
            for name, child in reads.relations.items()
            for lookup in _Fetch(reads.model._meta.relations[name], child, narrow).ours
        )
        self.beneath = _prefixed(relation.name + "__", children)
        self.notes: list[str] = []
        plain = not (reads.annotations or reads.relations or reads.methods)
        if isinstance(relation, ManyRelation) and plain:
            # Rows read as they are: one query joining the links to the rows beats two (the
            # links, then a narrowed queryset of the rows).
            self.ours: tuple[Prefetch, ...] = (Prefetch(relation.name),)
            self.whole = self.ours
            return
        keep = (relation.fk.attname,) if isinstance(relation, ReverseRelation) else ()
        base = relation.target.objects.all()
        # A property of a prefetched row may read any of its columns: no queryset of ours
        # annotates it.
        narrow = narrow and not (reads.attributes - reads.annotations.keys())
        level = _Level(reads, keep, narrow=narrow)
        self.notes = level.notes
        self.ours = (Prefetch(relation.name, level.build(base)),)
        self.whole = (Prefetch(relation.name, _Level(reads, keep, narrow=False).build(base)),)


class _Level:
    """The plan of one query: its joins, columns, annotations and prefetches."""

    def __init__(self, reads: Reads, keep: tuple[str, ...] = (), *, narrow: bool = True) -> None:
        self.model = reads.model
        self.related: list[str] = []
        self.only: list[str] = []
        self.narrowed = False
        self.fetches: list[_Fetch] = []
        self.methods = list(reads.methods)
        self.notes = list(reads.notes)
        self.annotations = tuple(reads.annotations.items())
        #: Names the root reads that are no field nor aggregate of ours: only() holds when
        #: the queryset annotates each.
        self.attributes = frozenset(reads.attributes - reads.annotations.keys())
        self._walk(reads, "", keep, narrow and not reads.whole)
        if not self.narrowed:
            self.only = []
        self.peers = bool(self.methods) or reads.whole
        #: The plan's own query (on the bare model), every name checked once.
        self.checked: Query = self.build(QuerySet(reads.model)).query
        checked = self.checked
        #: What apply() changes in a query that sets none of the plan's parts itself.
        self.fresh: dict[str, Any] = {
            name: getattr(checked, name)
            for name in ("related", "prefetch", "annotations", "loading")
            if getattr(checked, name)
        }
        if checked.only is not None and not self.attributes:
            self.fresh["only"] = checked.only

    def _walk(self, reads: Reads, prefix: str, keep: tuple[str, ...], narrow: bool) -> None:
        meta = reads.model._meta
        needed = {meta.pk.attname, *reads.columns, *keep}
        if prefix and reads.attributes:
            narrow = False  # a property of a joined row may read any of its columns
        start = len(self.only)
        for name, child in reads.relations.items():
            relation = meta.relations[name]
            if isinstance(relation, ForwardRelation) and _joinable(child):
                self.related.append(prefix + name)
                self.methods.extend(child.methods)
                self.notes.extend(child.notes)
                self._walk(child, f"{prefix}{name}__", (), narrow and not child.whole)
                continue
            if isinstance(relation, ForwardRelation):
                needed.add(relation.attname)
            fetch = _Fetch(relation, child, narrow and not child.whole)
            self.notes.extend(fetch.notes)
            self.fetches.append(fetch)
        everything = [field.attname for field in meta.fields]
        if narrow and not needed.issuperset(everything):
            self.narrowed = True
            self.only[start:start] = [prefix + name for name in everything if name in needed]
        elif not prefix:
            self.only[start:start] = everything

    def build(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """*queryset* with this plan, through the public (checking) QuerySet methods."""
        if self.related:
            queryset = queryset.select_related(*self.related)
        if self.fetches:
            queryset = queryset.prefetch_related(*(p for fetch in self.fetches for p in fetch.ours))
        if self.only:
            queryset = queryset.only(*self.only)
        if self.annotations:
            queryset = queryset.annotate(**dict(self.annotations))
        if self.peers:
            queryset = queryset.relation_loading("peers")
        return queryset


class Plan:
    """The queryset plan of a serializer and field selection, computed once."""

    def __init__(
        self, serializer: type[Serializer], fields: Sequence[f.Field], nested: Nested
    ) -> None:
        self.serializer = serializer
        self.fields = tuple(fields)
        self.nested = nested
        self._levels: dict[type[Model], _Level] = {}
        #: The last few queries applied to and their planned queries, newest last: the
        #: same get_queryset() each request gets back the same planned Query object (which
        #: the ORM's get-by-key shortcut recognises by identity).
        self._applied: list[tuple[Query, Query]] = []
        model = getattr(serializer, "model", None)
        #: The model the plan was derived for (None until applied, for a plain Serializer).
        self.model: type[Model] | None = model
        if model is not None:
            self._level(model)

    @classmethod
    def for_fields(
        cls, serializer: type[Serializer], fields: Sequence[f.Field], nested: Nested
    ) -> Plan:
        """The plan of *serializer* reading *fields* (bound fields, possibly narrowed), with
        *nested* giving each nested serializer's own selection."""
        return cls(serializer, fields, nested)

    @classmethod
    def for_serializer(cls, serializer: type[Serializer]) -> Plan:
        """The plan of every readable field of *serializer*."""
        return cls(*every_field(serializer))

    @classmethod
    def for_output(cls, output: CompiledOutput) -> Plan:
        """The plan of a compiled output (its serializer, fields and nested outputs)."""
        return cls(output.serializer, output.fields, _nested_of(output))

    def _level(self, model: type[Model]) -> _Level:
        level = self._levels.get(model)
        if level is None:
            reads = reads_of(model, self.serializer, self.fields, self.nested)
            level = self._levels[model] = _Level(reads)
        return level

    def apply(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """*queryset* with the plan added; its own select_related, prefetch_related,
        only/defer, annotations of the same name and relation_loading are kept."""
        query = queryset.query
        applied = self._applied
        planned = _remembered(applied, query)
        if planned is None:
            planned = self._planned(query)
            if len(applied) == _APPLIED:
                del applied[0]
            applied.append((query, planned))
        return queryset if planned is query else queryset.with_query(planned)

    def _planned(self, query: Query) -> Query:
        """*query* with the plan added (*query* itself when the plan changes nothing)."""
        if query.values is not None:
            return query
        level = self._levels.get(query.model) or self._level(query.model)
        if (
            not query.related
            and not query.prefetch
            and query.only is None
            and not query.defer
            and not query.annotations
            and query.loading is None
        ):
            # Nothing of its own to keep (the common get_queryset()): the changes are known.
            fresh = level.fresh
            return query.replace(**fresh) if fresh else query
        ours = level.checked
        changes: dict[str, Any] = {}
        if ours.related:
            related = tuple(dict.fromkeys((*query.related, *ours.related)))
            if related != query.related:
                changes["related"] = related
        if level.fetches:
            changes["prefetch"] = _prefetches(level, query.prefetch)
        annotated = {name for name, _ in query.annotations}
        if ours.annotations:
            added = tuple(pair for pair in ours.annotations if pair[0] not in annotated)
            if added:
                changes["annotations"] = (*query.annotations, *added)
                annotated.update(name for name, _ in added)
        explicit_columns = query.only is not None or query.defer
        if ours.only is not None and not explicit_columns and level.attributes <= annotated:
            changes["only"] = _with_prefetch_keys(ours.only, query)
        if ours.loading is not None and query.loading is None:
            changes["loading"] = ours.loading
        return query.replace(**changes) if changes else query

    def describe(self, queryset: QuerySet[Any] | None = None) -> str:
        """The plan as the queryset it makes (of *queryset*, or of the serializer's model)."""
        if queryset is None:
            if self.model is None:
                return (
                    f"{self.serializer.__name__}: the plan is derived for the model of the "
                    "queryset it is applied to (a plain Serializer has no Meta.model)."
                )
            queryset = self.model.objects.all()
        level = self._level(queryset.model)
        applied = self.apply(queryset)
        lines = [f"{self.serializer.__name__} on {queryset.model.__name__}:"]
        lines.append(describe_queryset(applied, indent="    "))
        query = applied.query
        missing = sorted(level.attributes - {name for name, _ in query.annotations})
        if level.checked.only is not None and query.only is None and missing:
            lines.append(
                f"    # no only(): {', '.join(missing)} is neither a field nor an annotation of "
                "the queryset (a property may read any column)"
            )
        if level.methods:
            lines.append(
                f"    # method fields: {', '.join(level.methods)} (they may read any column: "
                "their rows load whole, and the relations they await load as peers)"
            )
        lines.extend(f"    # {note}" for note in dict.fromkeys(level.notes))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"<Plan {self.serializer.__name__} ({len(self.fields)} fields)>"


#: How many queries a plan remembers applying (a viewset's get_queryset() or two).
_APPLIED = 4


def _remembered(applied: list[tuple[Query, Query]], query: Query) -> Query | None:
    """The planned query remembered for *query*, or None."""
    for seen, planned in applied:
        if seen is query:
            return planned
    # An equal query plans the same: its nodes, aggregates and prefetches compare by
    # identity, the rest (names, flags, row counts) by value.
    for seen, planned in applied:
        if seen == query:
            return planned
    return None


def _nested_of(output: CompiledOutput) -> Nested:
    return {
        name: (nested.serializer, nested.fields, _nested_of(nested))
        for name, nested in output.nested.items()
    }


def _prefetches(level: _Level, explicit: tuple[Prefetch, ...]) -> tuple[Prefetch, ...]:
    """Our prefetches after the queryset's own: a relation it prefetches itself keeps its
    queryset, and ours load what lies beneath it."""
    if not explicit:
        return level.checked.prefetch
    theirs = {p.lookup for p in explicit if p.to_attr is None}
    beneath = {p.lookup.partition("__")[0] for p in explicit if "__" in p.lookup}
    added: list[Prefetch] = list(explicit)
    for fetch in level.fetches:
        if fetch.name in theirs:
            added.extend(fetch.beneath)
        elif fetch.name in beneath:
            # Their lookups beneath ours may follow any key: load our rows whole.
            added.extend(fetch.whole)
        else:
            added.extend(fetch.ours)
    return tuple(added)


def _with_prefetch_keys(only: tuple[str, ...], query: Query) -> tuple[str, ...]:
    """*only* with the key of each forward relation the queryset prefetches itself."""
    if not query.prefetch:
        return only
    relations = query.model._meta.relations
    keys = []
    for lookup in query.prefetch:
        relation = relations.get(lookup.lookup.partition("__")[0])
        if isinstance(relation, ForwardRelation) and relation.attname not in only:
            keys.append(relation.attname)
    return (*only, *dict.fromkeys(keys))
