"""The ORM: models, fields, QuerySets, expressions and schema management."""

from aksara.orm import cascades as _cascades  # noqa: F401 - names cascaded tables to write notices
from aksara.orm import fields
from aksara.orm.expressions import Avg, Count, F, Max, Min, Q, Sum, Value
from aksara.orm.lookups import Lookup
from aksara.orm.manager import Manager
from aksara.orm.models import Model
from aksara.orm.options import Index
from aksara.orm.queryset import QuerySet, ValuesQuerySet
from aksara.orm.relations.loading import RelationNotLoadedError
from aksara.orm.relations.prefetch import Prefetch
from aksara.orm.schema import create_tables, drop_tables, schema_sql

__all__ = [
    "Avg",
    "Count",
    "F",
    "Index",
    "Lookup",
    "Manager",
    "Max",
    "Min",
    "Model",
    "Prefetch",
    "Q",
    "QuerySet",
    "RelationNotLoadedError",
    "Sum",
    "Value",
    "ValuesQuerySet",
    "create_tables",
    "drop_tables",
    "fields",
    "schema_sql",
]
