"""The ``components`` of an OpenAPI document: one schema per serializer and direction
(``Post`` in responses, ``PostRequest`` for a create or an update, ``PatchedPostRequest``
for a partial update), the error shapes, and the security schemes."""

from __future__ import annotations

from typing import Any, Literal

from aksara.api.openapi.responses import ERROR_RESPONSES
from aksara.api.openapi.schemas import field_schema
from aksara.api.serializers.base import Serializer

__all__ = ["ERROR_SCHEMAS", "Components", "Direction"]

#: Which schema of a serializer: its output, a full body, a partial body.
Direction = Literal["read", "write", "partial"]

_SUFFIXES: dict[Direction, tuple[str, str]] = {
    "read": ("", ""),
    "write": ("", "Request"),
    "partial": ("Patched", "Request"),
}

_MESSAGES = {"type": "array", "items": {"type": "string"}}

#: The error bodies every API answers with (aksara.api.errors).
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": 'An error: `{"detail": "..."}`.',
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            "Invalid input: each field (or query parameter) maps to its messages, "
            "`non_field_errors` holds the messages about the whole body, and a nested "
            "serializer's errors nest by its field name."
        ),
        "properties": {"non_field_errors": _MESSAGES},
        "additionalProperties": {"anyOf": [_MESSAGES, {"type": "object"}]},
    },
}


class Components:
    """Collects the schemas referenced while the paths are built; each serializer class
    gets one stable name per direction (``Post``, ``PostRequest``, ``Post2`` on a clash)."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self.security_schemes: dict[str, dict[str, Any]] = {}
        self._names: dict[tuple[type[Serializer], Direction], str] = {}
        self._bases: dict[str, type[Serializer]] = {}

    def reference(
        self, serializer: type[Serializer], *, write: bool = False, partial: bool = False
    ) -> dict[str, str]:
        """``{"$ref": ...}`` to *serializer*'s schema in that direction, built on first use."""
        direction: Direction = "partial" if partial else "write" if write else "read"
        key = (serializer, direction)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = self._name(serializer, direction)
            self.schemas[name] = {}  # placed first: a serializer may nest itself
            self.schemas[name] = self._schema(serializer, direction)
        return {"$ref": f"#/components/schemas/{name}"}

    def add(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        """``{"$ref": ...}`` to *schema* stored under *name* (``name2``... when *name* holds
        another schema already)."""
        chosen, number = name, 2
        while chosen in self.schemas and self.schemas[chosen] != schema:
            chosen, number = f"{name}{number}", number + 1
        self.schemas[chosen] = schema
        return {"$ref": f"#/components/schemas/{chosen}"}

    def name_of(self, serializer: type[Serializer]) -> str:
        """The name of *serializer*'s output schema (``Post``), registering it."""
        return self.reference(serializer)["$ref"].rpartition("/")[2]

    def _name(self, serializer: type[Serializer], direction: Direction) -> str:
        base = serializer.__name__.removesuffix("Serializer") or serializer.__name__
        owner = self._bases.setdefault(base, serializer)
        if owner is not serializer:
            number = 2
            while self._bases.setdefault(f"{base}{number}", serializer) is not serializer:
                number += 1
            base = f"{base}{number}"
        prefix, suffix = _SUFFIXES[direction]
        return f"{prefix}{base}{suffix}"

    def _schema(self, serializer: type[Serializer], direction: Direction) -> dict[str, Any]:
        write = direction != "read"
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in serializer.get_fields().items():
            if (field.read_only and write) or (field.write_only and not write):
                continue
            properties[name] = field_schema(field, self, write=write)
            if direction == "write" and field.required:
                required.append(name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        doc = (vars(serializer).get("__doc__") or "").strip()
        if doc:
            schema["description"] = doc.split("\n\n")[0]
        return schema

    def as_dict(self) -> dict[str, Any]:
        """The ``components`` object: schemas sorted by name, errors and security schemes."""
        schemas = {**dict(sorted(self.schemas.items())), **ERROR_SCHEMAS}
        responses = {name: response for name, response in ERROR_RESPONSES.values()}
        result: dict[str, Any] = {"schemas": schemas, "responses": responses}
        if self.security_schemes:
            result["securitySchemes"] = dict(sorted(self.security_schemes.items()))
        return result
