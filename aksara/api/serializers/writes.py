"""``save()`` and ModelSerializer's default ``create()`` / ``update()``: one INSERT or UPDATE,
then the many-to-many links; a unique or foreign-key constraint the checks could not see (a
concurrent write), or a value the model refuses, becomes a ValidationFailed on its field,
not a server error."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from aksara.api.errors import ValidationFailed
from aksara.api.serializers.input import compile_input
from aksara.api.serializers.validation import unique_message
from aksara.exceptions import AksaraError, IntegrityError, ValidationError
from aksara.orm.fields import ForeignKey
from aksara.orm.options import identifier

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer
    from aksara.orm.models import Model

__all__ = ["SerializerUsageError", "create_instance", "save", "update_instance"]


class SerializerUsageError(AksaraError, TypeError):
    """A serializer was used out of order (``save()`` before ``is_valid()``), or asked to do
    what it cannot by default (write nested objects)."""


async def save(serializer: Serializer, extra: dict[str, Any]) -> Any:
    """``create()`` or ``update()`` with the validated data and *extra*; returns the instance."""
    name = type(serializer).__name__
    if serializer._errors is None:
        raise SerializerUsageError(f"Call `await {name}.is_valid()` before `save()`.")
    if serializer._errors:
        raise SerializerUsageError(
            f"{name}.save() was called on invalid data; check `is_valid()` first "
            f"(errors: {serializer._errors})."
        )
    data = {**(serializer._validated_data or {}), **extra}
    try:
        if serializer.instance is not None:
            result = serializer.update(serializer.instance, data)
        else:
            result = serializer.create(data)
        if inspect.isawaitable(result):
            result = await result
    except IntegrityError as error:
        detail = _constraint_detail(serializer, error)
        if detail is None:
            raise
        raise ValidationFailed(detail) from error
    except ValidationError as error:
        # The model refused a value the serializer let through or could not give (a
        # required column the serializer shows read-only): the body's fault, not a crash.
        raise ValidationFailed({error.field or "non_field_errors": [str(error)]}) from error
    if result is None:
        method = "update" if serializer.instance is not None else "create"
        raise SerializerUsageError(f"{name}.{method}() returned None; return the instance.")
    serializer.instance = result
    return result


def _refuse_nested(serializer: Serializer, data: dict[str, Any], method: str) -> None:
    plan = compile_input(type(serializer), serializer.partial)
    name = f"{type(serializer).__module__}.{type(serializer).__name__}"
    for spec in plan.fields:
        if not spec.path or spec.path[0] not in data:
            continue
        if spec.nested is not None or len(spec.path) > 1:
            kind = "nested" if spec.nested is not None else "dotted-source"
            raise SerializerUsageError(
                f"The `.{method}()` method does not support writable {kind} fields by "
                f"default ({spec.name!r}). Write an explicit `.{method}()` method for "
                f"serializer `{name}`, or set `read_only=True` on {kind} serializer fields."
            )


def _split_many(model: type[Model], data: dict[str, Any]) -> dict[str, Any]:
    many = model._meta.many_relations
    return {key: data.pop(key) for key in list(data) if key in many}


async def create_instance(serializer: Serializer, validated_data: dict[str, Any]) -> Any:
    """``Model.objects.create(**data)``, then ``.set()`` of each many-to-many relation."""
    model: type[Model] | None = getattr(type(serializer), "model", None)
    if model is None:
        raise SerializerUsageError(f"{type(serializer).__name__} has no Meta.model.")
    _refuse_nested(serializer, validated_data, "create")
    data = dict(validated_data)
    links = _split_many(model, data)
    instance = await model.objects.create(**data)
    for name, keys in links.items():
        await getattr(instance, name).set(keys)
    return instance


async def update_instance(
    serializer: Serializer, instance: Model, validated_data: dict[str, Any]
) -> Any:
    """Assign the values, ``save(update_fields=...)`` (with ``auto_now`` fields), then
    ``.set()`` of each many-to-many relation."""
    _refuse_nested(serializer, validated_data, "update")
    data = dict(validated_data)
    meta = instance._meta
    links = _split_many(type(instance), data)
    for key, value in data.items():
        setattr(instance, key, value)
    if data:
        names = list(data)
        names += [
            field.attname
            for field in meta.fields
            if getattr(field, "auto_now", False) and field.attname not in names
        ]
        await instance.save(update_fields=names)
    for name, keys in links.items():
        await getattr(instance, name).set(keys)
    return instance


def _constraint_detail(serializer: Serializer, error: IntegrityError) -> dict[str, Any] | None:
    """The field messages for the unique or foreign-key constraint that refused the write."""
    model: type[Model] | None = getattr(type(serializer), "model", None)
    constraint = error.constraint
    if model is None or constraint is None:
        return None
    meta = model._meta
    validated = serializer._validated_data or {}
    for spec in compile_input(type(serializer), serializer.partial).fields:
        field = spec.field.model_field
        if field is None or field.model is not model:
            continue
        if field.unique and meta.unique_constraint_name(field) == constraint:
            return {spec.name: [unique_message(model, field.name)]}
        if isinstance(field, ForeignKey) and field.constraint_name() == constraint:
            key = validated.get(spec.path[0]) if spec.path else None
            return {spec.name: [f'Invalid pk "{key}" - object does not exist.']}
    for names in meta.unique_together:
        columns = [meta.get_field(name).column for name in names]
        if identifier(meta.table_name, *columns, suffix="key") == constraint:
            return {"non_field_errors": [f"The fields {', '.join(names)} must make a unique set."]}
    return None
