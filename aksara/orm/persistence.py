"""Writing instances: save (insert or update), delete, bulk create and bulk update."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from aksara.db.connections import db_for_write, is_remembered
from aksara.db.database import Database
from aksara.db.querylog import is_secret_column
from aksara.db.transaction import atomic, in_atomic_block
from aksara.exceptions import DatabaseError, IntegrityError, ProtectedError, ValidationError
from aksara.orm.compiler import Statement, cached
from aksara.orm.fields import PROTECT, AutoField, DateTime, Field

if TYPE_CHECKING:
    from aksara.db.dialects.base import Dialect
    from aksara.orm.models import Model
    from aksara.orm.options import Options

__all__ = ["bulk_create", "bulk_update", "delete_instance", "save_instance"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clean(field: Field, value: Any) -> Any:
    if value is None and not field.null and not field.primary_key:
        raise ValidationError(
            f"{field.label} is required: it has no default and null=False.", field=field.name
        )
    return field.clean(value)


def _link_unsaved_relations(instance: Model) -> None:
    values = instance.__dict__
    for fk in instance._meta.foreign_keys:
        if values.get(fk.attname) is None:
            related = values.get(fk.name)
            if related is not None:
                if related.pk is None:
                    raise ValidationError(
                        f"{fk.label}: save the related {type(related).__name__} before this "
                        f"{type(instance).__name__}.",
                        field=fk.name,
                    )
                values[fk.attname] = related.pk


def _one_unit(database: Database, statements: int) -> AbstractAsyncContextManager[Any]:
    """What makes the *statements* of one bulk write all-or-nothing: a transaction (a
    savepoint inside ``atomic()``) for several; for one, nothing, unless its failure would
    abort the caller's open transaction."""
    if statements > 1 or (
        database.dialect.aborts_transaction_on_error and in_atomic_block(database)
    ):
        return atomic(database)
    return nullcontext()


async def _advance_identity(database: Database, meta: Options, keys: Iterable[Any]) -> None:
    """Move the auto-increment past primary keys given explicitly, before they are inserted,
    so that no later insert (of this task or a concurrent one) is handed one of them."""
    pk = meta.pk
    if not isinstance(pk, AutoField):
        return
    statement = database.dialect.advance_identity(meta.table_name, pk.column, max(keys))
    if statement is not None:
        await database.fetch(*statement, keeps_session=True)


def _placeholders(dialect: Dialect, start: int, count: int) -> str:
    return ", ".join(dialect.placeholder(start + index) for index in range(count))


async def save_instance(
    instance: Model,
    *,
    update_fields: Sequence[str] | None,
    force_insert: bool,
    using: str | None = None,
) -> None:
    """Insert *instance* (new, or force_insert) or update its row."""
    meta = instance._meta
    values = instance.__dict__
    _link_unsaved_relations(instance)
    pk_name = meta.pk.attname
    now: dt.datetime | None = None
    # As in Django: with a primary key set, try an UPDATE and insert when no row matched.
    is_insert = force_insert or values.get(pk_name) is None
    for field in meta.fields:
        if not isinstance(field, DateTime):
            continue
        # auto_now_add fills an empty value on any save, so an UPDATE of a new instance
        # with a known primary key does not write NULL into it.
        if field.auto_now or (field.auto_now_add and values.get(field.attname) is None):
            now = now or _now()
            values[field.attname] = now
    database = db_for_write(meta.model, using, instance=instance)
    if not is_insert:
        if update_fields is not None:
            names = set(update_fields)
            fields = [meta.get_field(name) for name in update_fields]
            if not fields:
                return
        else:
            names = None
            fields = [f for f in meta.fields if not f.primary_key and f.attname in values]
        count = await _update_row(database, instance, fields)
        if count:
            if is_remembered(database):
                instance._db = database.alias
            return
        if names is not None:
            raise DatabaseError(
                f"save(update_fields=...) updated no row: {type(instance).__name__} with "
                f"pk={instance.pk!r} does not exist."
            )
    await _insert_row(database, instance)
    if is_remembered(database):
        instance._db = database.alias


async def _insert_row(database: Database, instance: Model) -> None:
    meta = instance._meta
    values = instance.__dict__
    dialect = database.dialect
    pk = meta.pk
    fields = [f for f in meta.fields if not (f.primary_key and values.get(f.attname) is None)]
    params = [_adapt(dialect, f, _clean(f, values.get(f.attname))) for f in fields]
    key = ("insert", meta.model, tuple(f.attname for f in fields))

    def build() -> Statement:
        quote = dialect.quote
        columns = ", ".join(quote(f.column) for f in fields)
        sql = (
            f"INSERT INTO {quote(meta.table_name)} ({columns}) VALUES "
            f"({_placeholders(dialect, 1, len(fields))}) RETURNING {quote(pk.column)}"
        )
        return Statement(sql, secrets=_secrets(fields))

    sql = cached(database.statements, key, build).sql
    if pk in fields:
        await _advance_identity(database, meta, [params[fields.index(pk)]])
    try:
        row = await database.fetchrow(sql, params, keeps_session=True)
    except IntegrityError as error:
        raise await _explain(database, meta.model, error, [instance]) from error
    assert row is not None
    # The driver's form of the key (SQLite: a UUID's text) becomes the field's Python value.
    convert = dialect.converters.get(pk.kind)
    values[pk.attname] = row[0] if convert is None else convert(row[0])


async def _update_row(database: Database, instance: Model, fields: list[Field]) -> int:
    meta = instance._meta
    values = instance.__dict__
    dialect = database.dialect
    params = [_adapt(dialect, f, _clean(f, values.get(f.attname))) for f in fields]
    params.append(values[meta.pk.attname])
    key = ("update_row", meta.model, tuple(f.attname for f in fields))

    def build() -> Statement:
        quote = dialect.quote
        assignments = ", ".join(
            f"{quote(f.column)} = {dialect.placeholder(i + 1)}" for i, f in enumerate(fields)
        )
        sql = (
            f"UPDATE {quote(meta.table_name)} SET {assignments} WHERE {quote(meta.pk.column)} = "
            f"{dialect.placeholder(len(fields) + 1)}"
        )
        return Statement(sql, secrets=_secrets(fields))

    sql = cached(database.statements, key, build).sql
    try:
        return await database.execute(sql, params, keeps_session=True)
    except IntegrityError as error:
        raise await _explain(database, meta.model, error, [instance]) from error


def _secrets(fields: Sequence[Field]) -> frozenset[int]:
    """Positions of the values of *fields* that the query log must mask."""
    return frozenset(i for i, field in enumerate(fields) if is_secret_column(field.column))


def _adapt(dialect: Dialect, field: Field, value: Any) -> Any:
    if value is None:
        return None
    adapt = dialect.adapters.get(field.kind)
    return adapt(value) if adapt is not None else value


async def delete_instance(instance: Model, *, using: str | None = None) -> int:
    """Delete *instance*'s row; related rows follow their ``on_delete``."""
    meta = instance._meta
    if instance.pk is None:
        raise ValueError(f"{type(instance).__name__} cannot be deleted: it has no primary key.")
    database = db_for_write(meta.model, using, instance=instance)
    dialect = database.dialect
    key = ("delete_row", meta.model)

    def build() -> Statement:
        quote = dialect.quote
        return Statement(
            f"DELETE FROM {quote(meta.table_name)} WHERE {quote(meta.pk.column)} = "
            f"{dialect.placeholder(1)}"
        )

    try:
        count = await database.execute(
            cached(database.statements, key, build).sql, [instance.pk], keeps_session=True
        )
    except IntegrityError as error:
        raise await explain_delete_error(database, meta.model, error) from error
    instance.__dict__[meta.pk.attname] = None  # as in Django: saving it again inserts
    return count


async def explain_delete_error(
    database: Database, model: type[Model], error: IntegrityError
) -> IntegrityError:
    """Name the RESTRICT / PROTECT key that refused a delete (SQLite does not say)."""
    referrers = [fk for fk in model._meta.related_objects if fk.on_delete in ("RESTRICT", PROTECT)]
    constraint = error.constraint
    blocking = next((fk for fk in referrers if fk.constraint_name() == constraint), None)
    if blocking is None and constraint is None and len(referrers) == 1:
        blocking = referrers[0]
    if blocking is None:
        return error
    kind = ProtectedError if blocking.on_delete == PROTECT else IntegrityError
    return kind(
        f"Cannot delete {model.__name__}: {blocking.model.__name__} rows still refer to it "
        f"through {blocking.label} (on_delete={blocking.on_delete}). {error}",
        constraint=blocking.constraint_name(),
    )


async def _explain(
    database: Database, model: type[Model], error: IntegrityError, instances: Sequence[Model]
) -> IntegrityError:
    """Name the foreign key that refused a write when the database did not (SQLite)."""
    if error.constraint is not None or "FOREIGN KEY" not in str(error):
        return error
    for fk in model._meta.foreign_keys:
        keys = {obj.__dict__.get(fk.attname) for obj in instances} - {None}
        if not keys:
            continue
        target = fk.related_model
        found = await target.objects.filter(pk__in=list(keys)).count()
        if found < len(keys):
            return IntegrityError(
                f"{error}: {fk.label} points at a {target.__name__} that does not exist.",
                constraint=fk.constraint_name(),
            )
    return error


def _column_values(field: Field, instances: Sequence[Model], dialect: Dialect) -> list[Any]:
    attname = field.attname
    column = field.clean_column([obj.__dict__.get(attname) for obj in instances])
    adapt = dialect.adapters.get(field.kind)
    if adapt is not None:
        column = [None if value is None else adapt(value) for value in column]
    return column


async def bulk_create(
    model: type[Model],
    instances: Sequence[Model],
    *,
    batch_size: int | None = None,
    using: str | None = None,
) -> list[Model]:
    """Insert *instances* in as few statements as the driver allows; set their primary keys."""
    if not instances:
        return []
    meta = model._meta
    for obj in instances:
        if type(obj) is not model:
            raise TypeError(f"bulk_create() of {model.__name__} got a {type(obj).__name__}.")
    database = db_for_write(model, using)
    dialect = database.dialect
    now = _now()
    for field in meta.fields:
        if isinstance(field, DateTime) and (field.auto_now or field.auto_now_add):
            for obj in instances:
                if field.auto_now or obj.__dict__.get(field.attname) is None:
                    obj.__dict__[field.attname] = now
    for obj in instances:
        _link_unsaved_relations(obj)
    pk = meta.pk
    with_pk = [obj for obj in instances if obj.__dict__.get(pk.attname) is not None]
    if with_pk and len(with_pk) != len(instances):
        raise ValueError(
            "bulk_create() needs all instances with a primary key or all without; got a mix."
        )
    fields = [f for f in meta.fields if not (f.primary_key and not with_pk)]
    columns = [_column_values(f, instances, dialect) for f in fields]
    size = batch_size or _batch_size(dialect, len(fields))
    starts = range(0, len(instances), size)
    if with_pk:
        await _advance_identity(database, meta, columns[fields.index(pk)])
    try:
        async with _one_unit(database, len(starts)):
            for start in starts:
                chunk = [column[start : start + size] for column in columns]
                sql, params = _bulk_insert_sql(dialect, meta.table_name, fields, chunk, pk)
                rows = await database.fetch(sql, params, keeps_session=True)
                if not with_pk:
                    keys = sorted(row[0] for row in rows)
                    for obj, key in zip(instances[start : start + size], keys, strict=True):
                        obj.__dict__[pk.attname] = key
    except Exception as error:
        if not with_pk:
            # The rows were rolled back: keys left behind would make a retry an update.
            for obj in instances:
                obj.__dict__[pk.attname] = None
        if isinstance(error, IntegrityError):
            raise await _explain(database, model, error, instances) from error
        raise
    if is_remembered(database):
        for obj in instances:
            obj._db = database.alias
    return list(instances)


def _batch_size(dialect: Dialect, column_count: int) -> int:
    if dialect.supports_array_params:
        return 50_000  # one array per column: the parameter limit does not bind
    return max(1, dialect.max_params // max(column_count, 1))


def _bulk_insert_sql(
    dialect: Dialect, table: str, fields: list[Field], columns: list[list[Any]], pk: Field
) -> tuple[str, list[Any]]:
    quote = dialect.quote
    names = ", ".join(quote(f.column) for f in fields)
    source, params = dialect.rows_source([f.kind for f in fields], columns, start=1)
    returning = f" RETURNING {quote(pk.column)}"
    return f"INSERT INTO {quote(table)} ({names}) {source}{returning}", params


async def bulk_update(
    model: type[Model],
    instances: Sequence[Model],
    field_names: Sequence[str],
    *,
    batch_size: int | None = None,
    using: str | None = None,
) -> int:
    """Write *field_names* of every instance in one statement per batch; return rows changed."""
    if not instances:
        return 0
    if not field_names:
        raise ValueError("bulk_update() needs the names of the fields to write.")
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    for field in fields:
        if field.primary_key:
            raise ValueError(f"bulk_update() cannot change the primary key {field.label}.")
    pk = meta.pk
    if any(obj.pk is None for obj in instances):
        raise ValueError("bulk_update() needs instances that were saved (have a primary key).")
    database = db_for_write(model, using)
    dialect = database.dialect
    every = [pk, *fields]
    columns = [_column_values(f, instances, dialect) for f in every]
    size = batch_size or _batch_size(dialect, len(every))
    quote = dialect.quote
    kinds = [f.kind for f in every]
    names = [f"c{i}" for i in range(len(every))]
    assignments = ", ".join(
        f"{quote(f.column)} = v.{quote(names[i + 1])}" for i, f in enumerate(fields)
    )
    table = quote(meta.table_name)
    total = 0
    begins = range(0, len(instances), size)
    try:
        async with _one_unit(database, len(begins)):
            for begin in begins:
                chunk = [column[begin : begin + size] for column in columns]
                source, params = dialect.rows_source(kinds, chunk, start=1, names=names)
                sql = (
                    f"UPDATE {table} SET {assignments} FROM ({source}) AS v "
                    f"WHERE {table}.{quote(pk.column)} = v.{quote(names[0])}"
                )
                total += await database.execute(sql, params, keeps_session=True)
    except IntegrityError as error:
        raise await _explain(database, model, error, instances) from error
    return total
