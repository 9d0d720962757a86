"""JSON Schema (OpenAPI 3.1) of serializer fields: what a field writes to a response and
what it accepts in a request body, with its constraints (lengths, ranges, enums, formats)."""

from __future__ import annotations

import datetime as dt
import decimal
import types
import typing
import uuid
from typing import TYPE_CHECKING, Any

from aksara.api.serializers import fields as f
from aksara.api.serializers.base import Serializer
from aksara.orm.relations.fields import ForeignKey

if TYPE_CHECKING:
    from aksara.api.openapi.components import Components
    from aksara.orm.field import Field as ModelField
    from aksara.orm.models import Model

__all__ = ["field_schema", "model_field_schema", "nullable", "primary_key_schema"]

#: The schema of each model field kind (``Field.kind``), as a value in JSON.
_KINDS: dict[str, dict[str, Any]] = {
    "auto": {"type": "integer"},
    "integer": {"type": "integer"},
    "biginteger": {"type": "integer"},
    "float": {"type": "number"},
    "decimal": {"type": "string", "format": "decimal"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "uuid": {"type": "string", "format": "uuid"},
    "string": {"type": "string"},
    "text": {"type": "string"},
    "json": {},
}

#: Python types of method-field annotations -> their schema.
_ANNOTATIONS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
    dict: {"type": "object"},
    list: {"type": "array"},
}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """*schema* also accepting ``null``: ``type: [..., "null"]`` (3.1 style), or an
    ``anyOf`` around a ``$ref``."""
    if not schema:
        return schema  # any value already includes null
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    elif kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def model_field_schema(field: ModelField) -> dict[str, Any]:
    """The schema of a value of the model field *field* (a foreign key: its target's key)."""
    return dict(_KINDS.get(field.kind, {}))


def primary_key_schema(model: type[Model] | None) -> dict[str, Any]:
    """The schema of *model*'s primary key (an integer when the model is unknown)."""
    if model is None:
        return {"type": "integer"}
    return model_field_schema(model._meta.pk)


def field_schema(field: f.Field, components: Components, *, write: bool) -> dict[str, Any]:
    """The schema of *field* in a response (``write=False``) or a request body."""
    schema = _base_schema(field, components, write=write)
    if field.label:
        schema.setdefault("title", field.label)
    if field.help_text:
        schema.setdefault("description", field.help_text)
    if field.allow_null or (not write and _reads_through_null(field)):
        schema = nullable(schema)
    return schema


def _base_schema(field: f.Field, components: Components, *, write: bool) -> dict[str, Any]:
    if isinstance(field, Serializer):
        reference = components.reference(type(field), write=write)
        if getattr(field, "many", False):
            return {"type": "array", "items": reference}
        return reference
    if isinstance(field, f.PrimaryKeyRelated):
        key = primary_key_schema(field.model)
        return {"type": "array", "items": key} if field.many else key
    if isinstance(field, f.Choice):
        return _choice_schema(field)
    if isinstance(field, f.String):
        return _string_schema(field, write=write)
    if isinstance(field, f.Integer | f.Float):
        schema: dict[str, Any] = {"type": "integer" if isinstance(field, f.Integer) else "number"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
        return schema
    if isinstance(field, f.Decimal):
        return _decimal_schema(field, write=write)
    if isinstance(field, f.List):
        schema = {"type": "array", "items": field_schema(field.child, components, write=write)}
        if field.min_length is not None:
            schema["minItems"] = field.min_length
        elif not field.allow_empty:
            schema["minItems"] = 1
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
        return schema
    if isinstance(field, f.SerializerMethodField):
        return _method_schema(field)
    if isinstance(field, f.Count):
        return {"type": "integer", "minimum": 0}
    if isinstance(field, f.Sum | f.Avg):
        return nullable({"type": "number"})
    if isinstance(field, f.Aggregate):
        return {}
    return dict(_SIMPLE.get(type(field), {}))


_SIMPLE: dict[type[f.Field], dict[str, Any]] = {
    f.Boolean: {"type": "boolean"},
    f.DateTime: {"type": "string", "format": "date-time"},
    f.Date: {"type": "string", "format": "date"},
    f.UUID: {"type": "string", "format": "uuid"},
    f.JSON: {},
}


def _string_schema(field: f.String, *, write: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if isinstance(field, f.Email):
        schema["format"] = "email"
    minimum = field.min_length
    if write and not field.allow_blank:
        minimum = max(minimum or 0, 1)
        if field.trim_whitespace:
            # Surrounding whitespace is trimmed before the blank check.
            schema["pattern"] = r"\S"
    if minimum:
        schema["minLength"] = minimum
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    return schema


def _decimal_schema(field: f.Decimal, *, write: bool) -> dict[str, Any]:
    # Written as a string (``"12.50"``) as DRF does; numbers are accepted on input too.
    schema: dict[str, Any] = {"type": ["string", "number"] if write else "string"}
    schema["format"] = "decimal"
    digits, places = field.max_digits, field.decimal_places
    if write and digits is not None and places is not None and digits > places:
        # The digits a string may have (the output may use an exponent: no pattern there).
        fraction = rf"(\.\d{{1,{places}}})?" if places else ""
        schema["pattern"] = rf"^-?\d{{1,{digits - places}}}{fraction}$"
    return schema


def _choice_schema(field: f.Choice) -> dict[str, Any]:
    values = list(field.choices)
    schema: dict[str, Any] = {"enum": values}
    kinds = {type(value) for value in values}
    if kinds == {str}:
        schema["type"] = "string"
    elif kinds and kinds <= {int}:
        schema["type"] = "integer"
    return schema


def _method_schema(field: f.SerializerMethodField) -> dict[str, Any]:
    """The schema of the method's return annotation, when it has a plain one."""
    method = getattr(field.parent, field.method_name or "", None)
    try:
        hints = typing.get_type_hints(method) if method is not None else {}
    except Exception:  # unresolvable annotations describe nothing
        return {}
    return _annotation_schema(hints.get("return", Any))


def _annotation_schema(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(annotation)
        inner = [member for member in members if member is not type(None)]
        if len(inner) == 1:
            schema = _annotation_schema(inner[0])
            return nullable(schema) if len(inner) < len(members) else schema
        return {}
    if origin in (list, tuple, set, frozenset):
        arguments = typing.get_args(annotation)
        item = _annotation_schema(arguments[0]) if arguments else {}
        return {"type": "array", "items": item}
    if origin is dict:
        return {"type": "object"}
    return dict(_ANNOTATIONS.get(annotation, {}))


def _reads_through_null(field: f.Field) -> bool:
    """Whether a dotted ``source`` follows a nullable foreign key (``author.name`` with no
    author reads ``null``), or reads a nullable column."""
    parent = field.parent
    model = getattr(getattr(parent, "Meta", None), "model", None)
    path = field.source_path
    if model is None or len(path) < 2:
        return False
    current = model
    for name in path:
        try:
            column = current._meta.get_field(name)
        except Exception:  # a property or an annotation: nothing known
            return False
        if column.null:
            return True
        if not isinstance(column, ForeignKey):
            return False
        current = column.related_model
    return False
