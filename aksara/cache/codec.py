"""The cache's value codec: msgpack (msgspec) with extension types, never pickle.

An entry is a 4-byte header (a byte msgpack never starts with, ``AK``, the format version)
and a msgpack document. Integers alone are stored as ASCII digits so that Redis ``INCRBY``
works on them. Anything else — another writer's bytes, a pickle — fails to decode and is
a miss for the cache, never executed.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from aksara.exceptions import AksaraError
from aksara.orm.models import Model
from aksara.orm.registry import registry

__all__ = ["HEADER", "CacheValueError", "Codec", "CodecError", "codec"]

#: 0xC1 is the one byte the msgpack format never uses, so no foreign msgpack (or ASCII,
#: or pickle: 0x80) entry starts like ours.
HEADER = b"\xc1AK\x01"

_MODEL, _DATETIME, _DATE, _TIME, _TIMEDELTA, _DECIMAL, _UUID = 1, 2, 3, 4, 5, 6, 7
_TUPLE, _SET, _FROZENSET, _BIGINT, _DICT = 8, 9, 10, 11, 12
_INTEGER = re.compile(rb"-?[0-9]{1,19}")
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})
_SUPPORTED = (
    "None, bool, int, float, str, bytes, list, tuple, set, frozenset, dict, datetime, date, "
    "time, timedelta, Decimal, UUID, model instances"
)


class CodecError(AksaraError, ValueError):
    """Cached bytes that this codec did not write, or that are damaged."""


class CacheValueError(AksaraError, TypeError):
    """A value the cache cannot store (its type does not round-trip)."""


def _label(model: type[Model]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


class _Preparer:
    """Turns a value into msgpack-native data and ``Ext`` objects, in one walk.

    Related instances already being encoded higher up (a prefetched row's link back to its
    parent) are left out, so cycles end; that relation loads again when read.
    """

    def __init__(self, encode: Callable[[Any], bytes]) -> None:
        self.encode = encode
        self.active: set[int] = set()

    def walk(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            if kind is int and not -(2**63) <= value < 2**64:
                return msgspec.msgpack.Ext(_BIGINT, str(value).encode())
            return value
        if kind is list:
            return [self.walk(item) for item in value]
        if kind is dict:
            return self.mapping(value)
        if isinstance(value, Model):
            return self.model(value)
        if isinstance(value, datetime.datetime):
            return msgspec.msgpack.Ext(_DATETIME, value.isoformat().encode())
        if isinstance(value, datetime.date):
            return msgspec.msgpack.Ext(_DATE, value.isoformat().encode())
        if isinstance(value, datetime.time):
            return msgspec.msgpack.Ext(_TIME, value.isoformat().encode())
        if isinstance(value, datetime.timedelta):
            parts = [value.days, value.seconds, value.microseconds]
            return msgspec.msgpack.Ext(_TIMEDELTA, self.encode(parts))
        if isinstance(value, decimal.Decimal):
            return msgspec.msgpack.Ext(_DECIMAL, str(value).encode())
        if isinstance(value, uuid.UUID):
            return msgspec.msgpack.Ext(_UUID, value.bytes)
        if isinstance(value, tuple | set | frozenset):
            code = _TUPLE if isinstance(value, tuple) else _SET
            code = _FROZENSET if isinstance(value, frozenset) else code
            return msgspec.msgpack.Ext(code, self.encode([self.walk(item) for item in value]))
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            return self.mapping(value)
        # Subclasses (enums, str subclasses) are stored as their plain value.
        if isinstance(value, str):
            return value[:]
        if isinstance(value, int):
            return self.walk(+value)
        if isinstance(value, float | bytes):
            return float(value) if isinstance(value, float) else bytes(value)
        raise CacheValueError(
            f"Cannot cache a {kind.__name__}: cached values are made of {_SUPPORTED}."
        )

    def mapping(self, value: dict[Any, Any]) -> Any:
        if all(type(key) is str for key in value):
            return {key: self.walk(item) for key, item in value.items()}
        # Other keys (ints, tuples, dates) go as pairs: msgpack maps decode string keys only.
        pairs = [[self.walk(key), self.walk(item)] for key, item in value.items()]
        return msgspec.msgpack.Ext(_DICT, self.encode(pairs))

    def model(self, instance: Model) -> msgspec.msgpack.Ext:
        self.active.add(id(instance))
        try:
            values = {
                name: self.walk(item)
                for name, item in instance.__dict__.items()
                if name[:1] != "_" and not (isinstance(item, Model) and id(item) in self.active)
            }
        finally:
            self.active.discard(id(instance))
        return msgspec.msgpack.Ext(_MODEL, self.encode([_label(type(instance)), values]))


def _rebuild(values: Any) -> Model:
    if not (isinstance(values, list) and len(values) == 2 and isinstance(values[1], dict)):
        raise CodecError("a model entry is not [label, values]")
    label, attributes = values
    model = registry.resolve(label, "A cache entry")
    if any(type(name) is not str or name[:1] == "_" for name in attributes):
        raise CodecError(f"a {label} entry holds an attribute name that no row has")
    instance: Model = object.__new__(model)
    instance.__dict__.update(attributes)
    return instance


class Codec:
    """Encodes values to bytes and back; :meth:`decode` raises :class:`CodecError`."""

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(ext_hook=self._extension)
        self._decoders: dict[int, Callable[[memoryview], Any]] = {
            _MODEL: lambda data: _rebuild(self._decoder.decode(data)),
            _DATETIME: lambda data: datetime.datetime.fromisoformat(bytes(data).decode()),
            _DATE: lambda data: datetime.date.fromisoformat(bytes(data).decode()),
            _TIME: lambda data: datetime.time.fromisoformat(bytes(data).decode()),
            _TIMEDELTA: lambda data: datetime.timedelta(*self._decoder.decode(data)),
            _DECIMAL: lambda data: decimal.Decimal(bytes(data).decode()),
            _UUID: lambda data: uuid.UUID(bytes=bytes(data)),
            _TUPLE: lambda data: tuple(self._decoder.decode(data)),
            _SET: lambda data: set(self._decoder.decode(data)),
            _FROZENSET: lambda data: frozenset(self._decoder.decode(data)),
            _BIGINT: lambda data: int(bytes(data)),
            _DICT: lambda data: {key: item for key, item in self._decoder.decode(data)},
        }

    def encode(self, value: Any) -> bytes:
        """The bytes stored for *value*; raises :class:`CacheValueError` if it cannot be."""
        kind = type(value)
        if kind is int and -(2**63) <= value < 2**63:
            return str(value).encode()
        if kind is str or kind is float or value is None or kind is bool:
            return HEADER + self._encoder.encode(value)
        return HEADER + self._encoder.encode(_Preparer(self._encoder.encode).walk(value))

    def decode(self, data: bytes) -> Any:
        """The value *data* holds; :class:`CodecError` when it is not an entry of ours."""
        if data[:4] == HEADER:
            try:
                return self._decoder.decode(memoryview(data)[4:])
            except CodecError:
                raise
            except Exception as error:
                raise CodecError(f"a damaged cache entry ({error})") from None
        if _INTEGER.fullmatch(data):
            return int(data)
        raise CodecError(f"bytes not written by Aksara's cache codec (they start {data[:8]!r})")

    def _extension(self, code: int, data: memoryview) -> Any:
        decoder = self._decoders.get(code)
        if decoder is None:
            raise CodecError(f"an unknown extension type {code}")
        return decoder(data)


codec = Codec()
