"""``Model.objects``: the entry point from a model class to its QuerySets."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aksara.orm.queryset import QuerySet, ValuesQuerySet

if TYPE_CHECKING:
    from aksara.orm.expressions import Aggregate, Q
    from aksara.orm.models import Model
    from aksara.orm.relations.prefetch import Prefetch

__all__ = ["Manager"]

M = TypeVar("M", bound="Model")


class Manager(Generic[M]):
    """Starts QuerySets of its model: ``Post.objects.filter(...)``.

    Its terminal methods return the QuerySet's coroutine directly (no extra frame): await
    them as usual.

    Subclass it and override :meth:`get_queryset` to change what every query starts from.
    """

    model: type[M]
    #: The QuerySet of every row of ``model``, made once: QuerySets are immutable, so
    #: every call may start from the same one.
    _base: QuerySet[M] | None = None

    def __get__(self, instance: Any, owner: type | None = None) -> Manager[M]:
        if instance is not None:
            raise AttributeError(
                f"Manager isn't accessible via {type(instance).__name__} instances; use "
                f"{type(instance).__name__}.objects."
            )
        return self

    def get_queryset(self) -> QuerySet[M]:
        """The QuerySet every method of this manager starts from."""
        base = self._base
        if base is None or base._query.model is not self.model:
            base = self._base = QuerySet(self.model)
        return base

    def all(self) -> QuerySet[M]:
        """Every row."""
        return self.get_queryset()

    def filter(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows matching the lookups."""
        return self.get_queryset().filter(*args, **kwargs)

    def exclude(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows not matching the lookups."""
        return self.get_queryset().exclude(*args, **kwargs)

    def order_by(self, *names: str) -> QuerySet[M]:
        """Rows in this order."""
        return self.get_queryset().order_by(*names)

    def reverse(self) -> QuerySet[M]:
        """Rows in the opposite of the default ordering (the primary key's when none)."""
        return self.get_queryset().reverse()

    def limit(self, count: int) -> QuerySet[M]:
        """At most *count* rows."""
        return self.get_queryset().limit(count)

    def offset(self, count: int) -> QuerySet[M]:
        """Rows after the first *count*."""
        return self.get_queryset().offset(count)

    def only(self, *names: str) -> QuerySet[M]:
        """Rows with only these fields loaded."""
        return self.get_queryset().only(*names)

    def defer(self, *names: str) -> QuerySet[M]:
        """Rows with these fields left out."""
        return self.get_queryset().defer(*names)

    def distinct(self) -> QuerySet[M]:
        """Distinct rows."""
        return self.get_queryset().distinct()

    def values(self, *names: str) -> ValuesQuerySet[dict[str, Any]]:
        """Rows as dicts."""
        return self.get_queryset().values(*names)

    def values_list(self, *names: str, flat: bool = False) -> ValuesQuerySet[Any]:
        """Rows as tuples (or bare values with ``flat=True``)."""
        return self.get_queryset().values_list(*names, flat=flat)

    def select_for_update(self, *, nowait: bool = False, skip_locked: bool = False) -> QuerySet[M]:
        """Rows locked until the transaction ends."""
        return self.get_queryset().select_for_update(nowait=nowait, skip_locked=skip_locked)

    def select_related(self, *names: str) -> QuerySet[M]:
        """Rows with these foreign keys joined in."""
        return self.get_queryset().select_related(*names)

    def prefetch_related(self, *lookups: str | Prefetch) -> QuerySet[M]:
        """Rows with these relations loaded by one extra query per level."""
        return self.get_queryset().prefetch_related(*lookups)

    def annotate(self, **annotations: Aggregate) -> QuerySet[M]:
        """Rows with aggregates over relations as attributes."""
        return self.get_queryset().annotate(**annotations)

    def relation_loading(self, mode: str) -> QuerySet[M]:
        """Rows whose relations load lazily in this mode (lazy, peers, raise)."""
        return self.get_queryset().relation_loading(mode)

    def using(self, alias: str) -> QuerySet[M]:
        """The model's rows on the database *alias* of ``DATABASES``."""
        return self.get_queryset().using(alias)

    def none(self) -> QuerySet[M]:
        """No rows, without a query."""
        return self.get_queryset().none()

    def get(self, *args: Q, **kwargs: Any) -> Coroutine[Any, Any, M]:
        """The one row matching the lookups."""
        return self.get_queryset().get(*args, **kwargs)

    def first(self) -> Coroutine[Any, Any, M | None]:
        """The first row, or None."""
        return self.get_queryset().first()

    def last(self) -> Coroutine[Any, Any, M | None]:
        """The last row, or None."""
        return self.get_queryset().last()

    def count(self) -> Coroutine[Any, Any, int]:
        """The number of rows."""
        return self.get_queryset().count()

    def exists(self) -> Coroutine[Any, Any, bool]:
        """True when the table has a row."""
        return self.get_queryset().exists()

    def aggregate(self, **aggregates: Aggregate) -> Coroutine[Any, Any, dict[str, Any]]:
        """Aggregates over every row."""
        return self.get_queryset().aggregate(**aggregates)

    def create(self, **values: Any) -> Coroutine[Any, Any, M]:
        """Insert a row."""
        return self.get_queryset().create(**values)

    def bulk_create(
        self, instances: Sequence[M], *, batch_size: int | None = None
    ) -> Coroutine[Any, Any, list[M]]:
        """Insert many rows."""
        return self.get_queryset().bulk_create(instances, batch_size=batch_size)

    def bulk_update(
        self, instances: Sequence[M], fields: Sequence[str], *, batch_size: int | None = None
    ) -> Coroutine[Any, Any, int]:
        """Update fields of many rows."""
        return self.get_queryset().bulk_update(instances, fields, batch_size=batch_size)

    def update(self, **values: Any) -> Coroutine[Any, Any, int]:
        """Set fields of every row."""
        return self.get_queryset().update(**values)

    def get_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> Coroutine[Any, Any, tuple[M, bool]]:
        """Fetch or create a row."""
        return self.get_queryset().get_or_create(defaults, **lookups)

    def update_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> Coroutine[Any, Any, tuple[M, bool]]:
        """Update or create a row."""
        return self.get_queryset().update_or_create(defaults, **lookups)

    def in_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> Coroutine[Any, Any, dict[Any, M]]:
        """Rows by key."""
        return self.get_queryset().in_bulk(id_list, field_name=field_name)

    def explain(self, *, analyze: bool = False) -> Coroutine[Any, Any, str]:
        """The plan of a full scan."""
        return self.get_queryset().explain(analyze=analyze)
