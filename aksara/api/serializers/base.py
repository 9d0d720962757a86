"""``Serializer`` and ``ModelSerializer``: classes whose fields are collected and bound once,
when the class is built. A serializer instance is cheap: it copies no field."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from aksara.api.errors import ValidationFailed
from aksara.api.serializers import fields as f
from aksara.api.serializers import output
from aksara.api.serializers.validation import validate, validate_fields
from aksara.api.serializers.writes import create_instance, save, update_instance
from aksara.orm import fields as model_fields
from aksara.orm.field import NOT_PROVIDED
from aksara.orm.field import Field as ModelField
from aksara.orm.models import Model
from aksara.orm.queryset import QuerySet

__all__ = ["ModelSerializer", "Serializer", "SerializerMeta", "field_for"]

_META_KEYS = (
    "model",
    "fields",
    "exclude",
    "read_only_fields",
    "read_only",
    "depth",
    "extra_kwargs",
)


class SerializerMeta(type):
    """Collects the declared fields of a serializer class and its bases, in order, and binds
    a copy of each to the class."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        declared = {key: value for key, value in namespace.items() if isinstance(value, f.Field)}
        for key in declared:
            del namespace[key]
        cls: Any = super().__new__(mcs, name, bases, namespace)
        inherited: dict[str, f.Field] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "_declared_fields", {}))
        cls._declared_fields = {**inherited, **declared}
        cls._fields = {}
        for key, field in cls.build_fields().items():
            bound = field.copy()
            bound.bind(key, cls)
            cls._fields[key] = bound
        return cls


class Serializer(f.Field, metaclass=SerializerMeta):
    """A set of fields turning instances into JSON and request bodies into validated data.

    Declared inside another serializer, an instance is a nested field
    (``author = AuthorSerializer()``, ``comments = CommentSerializer(many=True)``).
    """

    type_label = "an object"
    _declared_fields: ClassVar[dict[str, f.Field]] = {}
    #: The bound fields by output name, in order (built once per class).
    _fields: ClassVar[dict[str, f.Field]] = {}
    # A serializer made to validate or render (no field options) takes its field options
    # from these defaults instead of running Field.__init__: about 0.5 us of every request.
    source = None
    required = True
    allow_null = False
    default = f.empty
    read_only = False
    write_only = False
    label = None
    help_text = None
    validators: tuple[Any, ...] = ()
    model_field = None
    name = ""
    source_path: tuple[str, ...] = ()
    parent = None

    def __init__(
        self,
        instance: Any = None,
        data: Any = f.empty,
        *,
        many: bool = False,
        partial: bool = False,
        context: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        if options:
            super().__init__(**options)
        self.instance = instance
        self.initial_data = data
        self.many = many
        self.partial = partial
        self.context: Mapping[str, Any] = context if context is not None else {}
        #: The requested field set (``?fields=``); None: every readable field.
        self.selected = tuple(fields) if fields is not None else None

    @classmethod
    def build_fields(cls) -> dict[str, f.Field]:
        """The class's fields by name, before binding: the declared ones."""
        return dict(cls._declared_fields)

    @classmethod
    def get_fields(cls) -> dict[str, f.Field]:
        """The bound fields by output name, in declaration order."""
        return cls._fields

    @classmethod
    def compile(cls, fields: Sequence[str] | None = None) -> output.Output:
        """The compiled output of this class for *fields* (``["id", "author.name"]``; None:
        every readable field), built once per selection."""
        return output.compile_output(cls, fields)

    async def get_data(self) -> Any:
        """The output of ``instance`` (a list of them with ``many=True``) as builtins: what
        the JSON shows, as dicts, lists, strings and numbers."""
        compiled = type(self).compile(self.selected)
        instance = self.instance
        if self.many:
            if _is_query(instance):
                instance = await instance
            rows = await compiled.many(instance or [], self.context, owner=self)
            return msgspec.to_builtins(rows)
        if instance is None:
            return {}
        return msgspec.to_builtins(await compiled.one(instance, self.context, owner=self))

    @property
    def data(self) -> Any:
        """:meth:`get_data` without awaiting, for serializers without async method fields."""
        compiled = type(self).compile(self.selected)
        instance = self.instance
        if compiled.is_async or _is_query(instance):
            name = type(self).__name__
            why = "has async method fields" if compiled.is_async else "was given a QuerySet"
            raise TypeError(f"{name} {why}: use `await serializer.get_data()` instead of .data.")
        if self.many:
            return msgspec.to_builtins(compiled.many_now(instance or [], self.context, owner=self))
        if instance is None:
            return {}
        return msgspec.to_builtins(compiled.many_now([instance], self.context, owner=self)[0])

    def __repr__(self) -> str:
        if self.name:
            return f"<{type(self).__name__} {self.name}{' many' if self.many else ''}>"
        return f"<{type(self).__name__}>"

    # Input: validation and saving (aksara.api.serializers.input, validation, writes).

    _errors: dict[str, Any] | None = None
    _validated_data: dict[str, Any] | None = None
    #: The compiled validation per mode (aksara.api.serializers.input.compile_input).
    _input_create: ClassVar[Any] = None
    _input_partial: ClassVar[Any] = None

    async def is_valid(self, *, raise_exception: bool = False) -> bool:
        """Validate ``data`` (raw JSON bytes or a decoded object), collecting every field's
        errors; ``raise_exception`` raises ValidationFailed with them."""
        if self.many:
            raise TypeError(
                f"{type(self).__name__}(many=True) validates no input; validate each object "
                f"with {type(self).__name__}(data=item)."
            )
        attrs, errors, more = validate_fields(self)
        if more is not None:
            attrs, errors = await validate(self, attrs, errors, more)
        self._validated_data, self._errors = attrs, errors
        if errors and raise_exception:
            raise ValidationFailed(errors)
        return not errors

    @property
    def errors(self) -> dict[str, Any]:
        """The messages by field (``non_field_errors`` for the whole body), nested by path."""
        if self._errors is None:
            raise TypeError(f"Call `await {type(self).__name__}.is_valid()` before `.errors`.")
        return self._errors

    @property
    def validated_data(self) -> dict[str, Any]:
        """The checked values keyed by the attribute they set (``author_id``); {} if invalid."""
        if self._validated_data is None:
            raise TypeError(
                f"Call `await {type(self).__name__}.is_valid()` before `.validated_data`."
            )
        return self._validated_data

    def validate(self, attrs: dict[str, Any]) -> Any:
        """Check the fields together (override, sync or async); return the attrs to keep,
        raise ValidationFailed or aksara.ValidationError to refuse them."""
        return attrs

    async def save(self, **extra: Any) -> Any:
        """``create()`` (no instance) or ``update()`` with the validated data and *extra*;
        returns the saved instance, also kept as ``self.instance``."""
        return await save(self, extra)

    def create(self, validated_data: dict[str, Any]) -> Any:
        """Make the object (override, sync or async); ModelSerializer inserts the row."""
        raise NotImplementedError(f"{type(self).__name__}.create() must be implemented.")

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        """Change *instance* (override, sync or async); ModelSerializer updates the row."""
        raise NotImplementedError(f"{type(self).__name__}.update() must be implemented.")


def _is_query(instance: Any) -> bool:
    # Model instances and loaded row lists are awaitable too: only a QuerySet is fetched.
    return isinstance(instance, QuerySet)


class ModelSerializer(Serializer):
    """A serializer whose fields are derived from ``Meta.model``: ``fields`` (a list or
    ``"__all__"``), ``exclude``, ``read_only_fields``, ``read_only``, ``depth`` and
    ``extra_kwargs``; declared fields override derived ones."""

    model: ClassVar[type[Model] | None] = None

    @classmethod
    def build_fields(cls) -> dict[str, f.Field]:
        meta = cls.__dict__.get("Meta") or getattr(cls, "Meta", None)
        model = getattr(meta, "model", None) if meta is not None else None
        if model is None:
            return dict(cls._declared_fields)
        unknown = [key for key in vars(meta) if not key.startswith("_") and key not in _META_KEYS]
        if unknown:
            raise TypeError(
                f"{cls.__name__}.Meta has unknown option(s) {', '.join(unknown)}. "
                f"Valid options: {', '.join(_META_KEYS)}."
            )
        if not (isinstance(model, type) and issubclass(model, Model)):
            raise TypeError(f"{cls.__name__}.Meta.model must be a Model class, not {model!r}.")
        cls.model = model
        names = _field_names(cls, meta, model)
        read_only = set(getattr(meta, "read_only_fields", ()))
        all_read_only = bool(getattr(meta, "read_only", False))
        extra: Mapping[str, Mapping[str, Any]] = getattr(meta, "extra_kwargs", {})
        depth = int(getattr(meta, "depth", 0))
        built: dict[str, f.Field] = {}
        for name in names:
            declared = cls._declared_fields.get(name)
            if declared is not None:
                built[name] = declared
                continue
            options = dict(extra.get(name, {}))
            if all_read_only or name in read_only:
                options["read_only"] = True
            built[name] = field_for(model, name, depth=depth, **options)
        if all_read_only:
            for name, field in built.items():
                if not field.read_only:
                    built[name] = field.copy()
                    built[name].read_only, built[name].required = True, False
        return built

    # Input: the default writes (aksara.api.serializers.writes).

    async def create(self, validated_data: dict[str, Any]) -> Any:
        """Insert the row and link its many-to-many relations; refuses nested writes."""
        return await create_instance(self, validated_data)

    async def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        """Assign, ``save(update_fields=...)``, relink many-to-many; refuses nested writes."""
        return await update_instance(self, instance, validated_data)


def _field_names(cls: type[Serializer], meta: Any, model: type[Model]) -> list[str]:
    chosen = getattr(meta, "fields", None)
    exclude = tuple(getattr(meta, "exclude", ()))
    if chosen is None and not exclude:
        raise TypeError(
            f'{cls.__name__}.Meta needs `fields` (a list of names or "__all__") or `exclude`.'
        )
    if chosen is not None and exclude:
        raise TypeError(f"{cls.__name__}.Meta takes `fields` or `exclude`, not both.")
    everything = [field.name for field in model._meta.fields]
    everything += [field.name for field in model._meta.many_to_many]
    if chosen == "__all__" or chosen is None:
        # A user's password hash (SECRET_FIELDS) is only serialized when named.
        secret = (*exclude, *getattr(model, "SECRET_FIELDS", ()))
        names = [name for name in everything if name not in secret]
        missing = [name for name in exclude if name not in everything]
        if missing:
            raise TypeError(
                f"{cls.__name__}.Meta.exclude names unknown field(s) {', '.join(missing)}. "
                f"Fields of {model.__name__}: {', '.join(everything)}."
            )
        names += [name for name in cls._declared_fields if name not in names]
        return names
    if isinstance(chosen, str):
        raise TypeError(f'{cls.__name__}.Meta.fields must be a list of names or "__all__".')
    names = list(chosen)
    left_out = [name for name in cls._declared_fields if name not in names]
    if left_out:
        raise TypeError(
            f"{cls.__name__} declares {', '.join(left_out)} but Meta.fields does not list "
            f"{'it' if len(left_out) == 1 else 'them'}; add to Meta.fields or remove the "
            "declaration."
        )
    return names


_SIMPLE: list[tuple[type[ModelField], Callable[..., f.Field]]] = [
    (model_fields.AutoField, f.Integer),
    (model_fields.Integer, f.Integer),
    (model_fields.Float, f.Float),
    (model_fields.String, f.String),
    (model_fields.Text, f.String),
    (model_fields.Boolean, f.Boolean),
    (model_fields.Decimal, f.Decimal),
    (model_fields.DateTime, f.DateTime),
    (model_fields.Date, f.Date),
    (model_fields.UUIDField, f.UUID),
    (model_fields.JSON, f.JSON),
]


def field_for(model: type[Model], name: str, *, depth: int = 0, **options: Any) -> f.Field:
    """The serializer field for *model*'s field or relation *name*, with the model's
    constraints (lengths, ranges, null, defaults, choices); *options* override them."""
    meta = model._meta
    if name in meta.reverse_relations:
        target = meta.relations[name].target
        return _related(target, name, depth, many=True, read_only=True, **options)
    if name in meta.many_relations:  # either side; get_field() knows only columns
        options.setdefault("required", False)
        return _related(meta.many_relations[name].target, name, depth, many=True, **options)
    field = meta.get_field(name)
    if field.name != name:
        raise TypeError(
            f"{model.__name__}.{name} is a column name; list the field as {field.name!r}."
        )
    derived: dict[str, Any] = {}
    if field.null:
        derived["allow_null"] = True
        derived["required"] = False
    if field.default is not NOT_PROVIDED:
        derived["required"] = False
    if field.primary_key and isinstance(field, model_fields.AutoField):
        derived = {"read_only": True}
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        derived = {"read_only": True}
    if isinstance(field, model_fields.ForeignKey):
        derived["source"] = field.attname
        built = _related(field.related_model, name, depth, many=False, **{**derived, **options})
        built.model_field = field
        return built
    if field.choices is not None:
        derived["choices"] = field.choices
        factory: Callable[..., f.Field] = f.Choice
    else:
        factory = next(
            (maker for kind, maker in _SIMPLE if isinstance(field, kind)),
            _unmapped(model, field),
        )
        if isinstance(field, model_fields.String):
            derived["max_length"] = field.max_length
        if isinstance(field, model_fields.String | model_fields.Text):
            derived["allow_blank"] = field.default == ""
        if isinstance(field, model_fields.Decimal):
            derived["max_digits"] = field.max_digits
            derived["decimal_places"] = field.decimal_places
        bounds = field.bounds
        if bounds is not None and not derived.get("read_only"):
            derived["min_value"], derived["max_value"] = bounds
    if derived.get("read_only"):
        derived.pop("required", None)
    built = factory(**{**derived, **options})
    built.model_field = field
    return built


def _related(target: type[Model], name: str, depth: int, *, many: bool, **options: Any) -> f.Field:
    if depth > 0:
        nested_meta = type("Meta", (), {"model": target, "fields": "__all__", "depth": depth - 1})
        nested = type(
            f"{target.__name__}NestedSerializer", (ModelSerializer,), {"Meta": nested_meta}
        )
        options.pop("required", None)
        options.pop("source", None)
        options.pop("read_only", None)
        field: f.Field = nested(many=many, read_only=True, **options)
        return field
    return f.PrimaryKeyRelated(target, many=many, **options)


def _unmapped(model: type[Model], field: ModelField) -> Callable[..., f.Field]:
    def refuse(**_: Any) -> f.Field:
        raise TypeError(
            f"ModelSerializer has no field for {model.__name__}.{field.name} "
            f"({type(field).__name__}); declare it on the serializer."
        )

    return refuse
