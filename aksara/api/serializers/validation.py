"""The steps of ``is_valid()`` after the field checks: foreign keys that must exist and unique
fields (one query per field at most), then the ``validate_<field>`` and ``validate`` hooks
(sync or async), then ``Meta.model``'s ``unique_together``."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aksara.api.errors import ValidationFailed
from aksara.api.serializers import fields as f
from aksara.api.serializers.checks import messages_of
from aksara.api.serializers.input import InputField, InputPlan, compile_input, put
from aksara.exceptions import ValidationError
from aksara.orm.options import snake_case

if TYPE_CHECKING:
    from aksara.api.serializers.base import Serializer

__all__ = ["Extras", "extras", "unique_message", "validate", "validate_fields"]

_MISSING: Any = object()
_HOOK_ERRORS = (ValidationFailed, ValidationError)


def unique_message(model: type, name: str) -> str:
    """DRF's words for a value already taken: "post with this slug already exists."."""
    label = snake_case(model.__name__).replace("_", " ")
    return f"{label} with this {name.replace('_', ' ')} already exists."


class Extras:
    """What a plan needs besides field checks, found once per plan."""

    def __init__(self, plan: InputPlan) -> None:
        from aksara.api.serializers.base import Serializer

        serializer = plan.serializer
        self.plan = plan
        self.related = [
            spec
            for spec in plan.fields
            if isinstance(spec.field, f.PrimaryKeyRelated) and spec.field.model is not None
        ]
        self.unique = [
            spec
            for spec in plan.fields
            if spec.nested is None
            and spec.field.model_field is not None
            and spec.field.model_field.unique
            and len(spec.path) == 1
        ]
        model = getattr(serializer, "model", None)
        by_model_name = {
            spec.field.model_field.name: spec
            for spec in plan.fields
            if spec.field.model_field is not None and len(spec.path) == 1
        }
        self.together: list[list[InputField]] = []
        for names in model._meta.unique_together if model is not None else ():
            specs = [by_model_name.get(name) for name in names]
            if all(spec is not None for spec in specs):
                self.together.append(specs)  # type: ignore[arg-type]
        self.field_hooks = {
            spec.name: f"validate_{spec.name}"
            for spec in plan.fields
            if callable(getattr(serializer, f"validate_{spec.name}", None))
        }
        self.validates = serializer.validate is not Serializer.validate
        self.nested_hooks = [
            spec
            for spec in plan.fields
            if spec.nested is not None and len(spec.path) == 1 and extras(spec.nested).hooks
        ]
        self.hooks: bool = bool(self.field_hooks or self.validates or self.nested_hooks)
        self.nested_database = [
            spec
            for spec in plan.fields
            if spec.nested is not None and len(spec.path) == 1 and extras(spec.nested).database
        ]
        self.database: bool = bool(self.related or self.unique or self.nested_database)
        self.needed = bool(self.hooks or self.database or self.together)


def extras(plan: InputPlan) -> Extras:
    """The plan's :class:`Extras`, found on first use."""
    found: Extras | None = plan.extras
    if found is None:
        found = plan.extras = Extras(plan)
    return found


def validate_fields(
    serializer: Serializer,
) -> tuple[dict[str, Any], dict[str, Any], Extras | None]:
    """The field checks of ``serializer.initial_data``: ``(attrs, errors, extras)``, with
    *extras* None when nothing is left to do (no database check, no hook)."""
    plan = compile_input(type(serializer), serializer.partial)
    attrs, errors = plan.run(serializer.initial_data)
    more = plan.extras or extras(plan)
    if more.needed and "non_field_errors" not in errors:
        return attrs, errors, more
    return ({} if errors else attrs), errors, None


async def validate(
    serializer: Serializer, attrs: dict[str, Any], errors: dict[str, Any], more: Extras
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The steps after the field checks: ``(validated_data, errors)``."""
    if more.database:
        await _database_checks(more, [(attrs, errors)], serializer.instance)
    if more.hooks:
        attrs = await _hooks(serializer, more.plan, more, attrs, errors, top=True)
    elif more.together and not errors:
        await _unique_together(serializer, more, attrs, errors)
    return ({} if errors else attrs), errors


async def _hooks(
    serializer: Serializer,
    plan: InputPlan,
    more: Extras,
    attrs: dict[str, Any],
    errors: dict[str, Any],
    *,
    top: bool,
) -> dict[str, Any]:
    """Run the field hooks, the nested serializers' hooks and (without errors so far)
    ``unique_together`` and ``validate()``; errors land in *errors*."""
    for spec in more.nested_hooks:
        value = attrs.get(spec.path[0], _MISSING)
        if spec.name in errors or value is _MISSING or value is None:
            continue
        assert spec.nested is not None
        nested_class: Any = type(spec.field)
        child: Serializer = nested_class(context=serializer.context, partial=plan.partial)
        found = await _nested(child, spec.nested, value if spec.many else [value])
        if found is None:
            continue
        results, problems = found
        if problems is not None:
            errors[spec.name] = problems if spec.many else problems[0]
        else:
            attrs[spec.path[0]] = results if spec.many else results[0]
    for name, method in more.field_hooks.items():
        spec = next(spec for spec in plan.fields if spec.name == name)
        value = _get(attrs, spec.path)
        if name in errors or value is _MISSING:
            continue
        try:
            result = getattr(serializer, method)(value)
            if inspect.isawaitable(result):
                result = await result
        except _HOOK_ERRORS as error:
            errors[name] = messages_of(error)
            continue
        put(attrs, spec.path, result)
    if errors:
        return attrs
    if top and more.together:
        await _unique_together(serializer, more, attrs, errors)
        if errors:
            return attrs
    if more.validates:
        try:
            result = serializer.validate(attrs)
            if inspect.isawaitable(result):
                result = await result
        except _HOOK_ERRORS as error:
            _merge(errors, error)
            return attrs
        if result is not None:
            attrs = result
    return attrs


async def _nested(
    child: Serializer, plan: InputPlan, values: Iterable[Any]
) -> tuple[list[Any], list[Any] | None] | None:
    more = extras(plan)
    results: list[Any] = []
    problems: list[Any] = []
    for value in values:
        item_errors: dict[str, Any] = {}
        results.append(await _hooks(child, plan, more, dict(value), item_errors, top=False))
        problems.append(item_errors)
    return results, (problems if any(problems) else None)


def _get(attrs: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = attrs
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return attrs if not path else value


def _merge(errors: dict[str, Any], error: ValidationFailed | ValidationError) -> None:
    if isinstance(error, ValidationError):
        errors.setdefault(error.field or "non_field_errors", []).append(str(error))
        return
    detail = error.detail
    if not isinstance(detail, dict):
        detail = {"non_field_errors": detail if isinstance(detail, list) else [str(detail)]}
    for key, messages in detail.items():
        errors[key] = messages if isinstance(messages, (list, dict)) else [str(messages)]


def _exclude_instance(serializer: Serializer, queryset: Any) -> Any:
    instance = serializer.instance
    if instance is not None and getattr(instance, "pk", None) is not None:
        return queryset.exclude(pk=instance.pk)
    return queryset


async def _database_checks(
    more: Extras, items: list[tuple[dict[str, Any], dict[str, Any]]], instance: Any
) -> None:
    """Foreign keys that must exist and unique values not taken, for the objects *items*
    (``(attrs, errors)`` of one serializer class: the body, or the objects of a nested
    field): one query per field for all of them; *instance* (an update) is not a clash."""
    for spec in more.related:
        field = spec.field
        assert isinstance(field, f.PrimaryKeyRelated) and field.model is not None
        keys_of = [_present(spec, attrs, errors) for attrs, errors in items]
        wanted = list(dict.fromkeys(key for keys in keys_of for key in keys))
        if not wanted:
            continue
        found = set(await field.model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        for keys, (_, errors) in zip(keys_of, items, strict=True):
            missing = [key for key in dict.fromkeys(keys) if key not in found]
            if missing:
                errors[spec.name] = [f'Invalid pk "{k}" - object does not exist.' for k in missing]
    for spec in more.unique:
        model_field = spec.field.model_field
        values = [_present(spec, attrs, errors) for attrs, errors in items]
        wanted = list(dict.fromkeys(value for given in values for value in given))
        if not wanted:
            continue
        model = model_field.model
        attname = model_field.attname
        queryset = model.objects.filter(**{f"{attname}__in": wanted})
        if instance is not None and getattr(instance, "pk", None) is not None:
            queryset = queryset.exclude(pk=instance.pk)
        taken = set(await queryset.values_list(attname, flat=True))
        for given, (_, errors) in zip(values, items, strict=True):
            if given and given[0] in taken:
                errors[spec.name] = [unique_message(model, model_field.name)]
    for spec in more.nested_database:
        assert spec.nested is not None
        children: list[tuple[dict[str, Any], dict[str, Any]]] = []
        owners: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for attrs, errors in items:
            value = attrs.get(spec.path[0]) if spec.name not in errors else None
            if not value:
                continue
            objects = value if spec.many else [value]
            nested_errors: list[dict[str, Any]] = [{} for _ in objects]
            children.extend(zip(objects, nested_errors, strict=True))
            owners.append((errors, nested_errors))
        if not children:
            continue
        await _database_checks(extras(spec.nested), children, None)
        for errors, nested_errors in owners:
            if any(nested_errors):
                errors[spec.name] = nested_errors if spec.many else nested_errors[0]


def _present(spec: InputField, attrs: dict[str, Any], errors: dict[str, Any]) -> list[Any]:
    """The non-null values (keys) a valid field holds in *attrs*, else []."""
    if spec.name in errors:
        return []
    value = attrs.get(spec.path[0])
    if value is None:
        return []
    return [key for key in value if key is not None] if spec.many else [value]


async def _unique_together(
    serializer: Serializer, more: Extras, attrs: dict[str, Any], errors: dict[str, Any]
) -> None:
    instance = serializer.instance
    for specs in more.together:
        if not any(spec.path[0] in attrs for spec in specs):
            continue
        lookup: dict[str, Any] = {}
        for spec in specs:
            attname = spec.field.model_field.attname
            value = attrs.get(spec.path[0], _MISSING)
            if value is _MISSING and instance is not None:
                value = instance.__dict__.get(attname, _MISSING)
            lookup[attname] = value
        if any(value is _MISSING or value is None for value in lookup.values()):
            continue
        model = specs[0].field.model_field.model
        if await _exclude_instance(serializer, model.objects.filter(**lookup)).exists():
            names = ", ".join(spec.name for spec in specs)
            errors.setdefault("non_field_errors", []).append(
                f"The fields {names} must make a unique set."
            )
