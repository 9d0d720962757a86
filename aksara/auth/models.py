"""The user models: ``AbstractBaseUser`` (a password and a login field), ``AbstractUser``
(Django's fields: username, email, staff and superuser flags, dates) and ``AnonymousUser``.

A project subclasses one of them as its user model, as in Django; ``USER_MODEL`` names it
when more than one concrete subclass exists.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any, ClassVar

from aksara.auth.passwords import (
    acheck_password,
    amake_password,
    is_password_usable,
    make_password,
    needs_rehash,
)
from aksara.conf import settings
from aksara.exceptions import ConfigurationError, ObjectDoesNotExist
from aksara.orm import Model, fields
from aksara.orm.registry import registry

__all__ = [
    "AbstractBaseUser",
    "AbstractUser",
    "AnonymousUser",
    "create_superuser",
    "create_user",
    "get_user_model",
    "load_user",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AbstractBaseUser(Model):
    """A user who logs in: an argon2 ``password`` hash, ``is_active`` and ``last_login``;
    ``USERNAME_FIELD`` names the field a login gives (``"username"``, or ``"email"``...)."""

    #: The unique field a user logs in with.
    USERNAME_FIELD: ClassVar[str] = "username"
    #: Fields a serializer's ``fields = "__all__"`` (or ``exclude``), a nested serializer
    #: built by ``depth`` and ``ordering_fields = "__all__"`` leave out: list one by name
    #: to expose it. The password hash never reaches a response by default.
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("password",)

    password = fields.String(max_length=128, null=True)
    is_active = fields.Boolean(default=True)
    last_login = fields.DateTime(null=True)

    class Meta:
        abstract = True

    @property
    def is_authenticated(self) -> bool:
        """Always True: a user instance is someone who logged in."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Always False (see :class:`AnonymousUser`)."""
        return False

    def get_username(self) -> Any:
        """The value of ``USERNAME_FIELD``."""
        return getattr(self, self.USERNAME_FIELD)

    def set_password(self, raw: str | None) -> None:
        """Store the hash of *raw* (None: no password matches); save() writes it. Hashing
        takes ~0.1 s: in a request prefer ``await user.aset_password(raw)``."""
        self.password = make_password(raw)

    async def aset_password(self, raw: str | None) -> None:
        """:meth:`set_password`, hashing in a worker thread."""
        self.password = await amake_password(raw)

    def set_unusable_password(self) -> None:
        """Make every password fail (a user who logs in some other way)."""
        self.password = make_password(None)

    def has_usable_password(self) -> bool:
        """Whether some password can match the stored hash."""
        return is_password_usable(self.password)

    async def check_password(self, raw: str) -> bool:
        """Whether *raw* is the user's password (checked in a worker thread). A hash made
        with older ``PASSWORD_HASHER`` parameters is upgraded and saved on success."""
        matches = await acheck_password(raw, self.password)
        if matches and self.pk is not None and needs_rehash(self.password or ""):
            await self.aset_password(raw)
            await self.save(update_fields=["password"])
        return matches


class AbstractUser(AbstractBaseUser):
    """Django's user fields: a unique ``username``, ``email``, ``is_staff`` (may use admin
    endpoints: ``IsAdminUser``), ``is_superuser`` and ``date_joined``."""

    username = fields.String(max_length=150, unique=True)
    email = fields.String(max_length=254, default="")
    is_staff = fields.Boolean(default=False)
    is_superuser = fields.Boolean(default=False)
    date_joined = fields.DateTime(default=_now)

    class Meta:
        abstract = True


class AnonymousUser:
    """``request.user`` when no credentials were given: not authenticated, no key."""

    pk = None
    id = None
    username = ""
    is_active = False
    is_staff = False
    is_superuser = False
    is_authenticated = False
    is_anonymous = True

    def get_username(self) -> str:
        """The empty string."""
        return ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousUser)

    def __hash__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "AnonymousUser()"


_resolved: dict[Any, type[AbstractBaseUser]] = {}


def get_user_model() -> type[AbstractBaseUser]:
    """The user model: ``USER_MODEL`` (a class or a dotted path), else the one concrete
    subclass of :class:`AbstractBaseUser` defined."""
    choice = settings.USER_MODEL
    found = _resolved.get(choice)
    if found is not None:
        return found
    if isinstance(choice, type):
        model: Any = choice
    elif isinstance(choice, str):
        module_name, _, name = choice.rpartition(".")
        try:
            model = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError, ValueError) as error:
            raise ConfigurationError(f"USER_MODEL {choice!r} cannot be imported: {error}") from None
    else:
        candidates = [
            model
            for model in registry.models()
            if issubclass(model, AbstractBaseUser) and not model._meta.abstract
        ]
        if len(candidates) != 1:
            names = ", ".join(f"{m.__module__}.{m.__qualname__}" for m in candidates)
            raise ConfigurationError(
                "Set USER_MODEL to the user model: "
                + (f"several are defined ({names})." if candidates else "none is defined.")
                + " A user model subclasses aksara.auth.AbstractUser or AbstractBaseUser."
            )
        model = candidates[0]
    if not (isinstance(model, type) and issubclass(model, AbstractBaseUser)):
        raise ConfigurationError(
            f"USER_MODEL {choice!r} is not a subclass of aksara.auth.AbstractBaseUser."
        )
    if model._meta.abstract:
        raise ConfigurationError(f"USER_MODEL {model.__name__} is abstract: name a concrete one.")
    _resolved[choice] = model
    return model


async def load_user(key: Any) -> Any:
    """The active user of :func:`get_user_model` whose primary key is *key* (text from a
    token or a cookie), or None."""
    model = get_user_model()
    if model._meta.pk.kind in _INTEGER_KINDS:
        try:
            key = int(key)
        except (TypeError, ValueError):
            return None
    try:
        user = await model.objects.get(pk=key)
    except ObjectDoesNotExist:
        return None
    return user if user.is_active else None


_INTEGER_KINDS = frozenset({"auto", "integer", "biginteger"})


async def create_user(username: str, password: str | None = None, **values: Any) -> Any:
    """Create and save a user of :func:`get_user_model` whose ``USERNAME_FIELD`` is
    *username*, with *password* hashed (None: an unusable one) and any other *values*."""
    model = get_user_model()
    if not username:
        raise ValueError(f"create_user() needs a {model.USERNAME_FIELD}.")
    user = model(**{model.USERNAME_FIELD: username, **values})
    await user.aset_password(password)
    await user.save()
    return user


async def create_superuser(username: str, password: str | None = None, **values: Any) -> Any:
    """:func:`create_user` with ``is_staff`` and ``is_superuser`` set."""
    values.setdefault("is_staff", True)
    values.setdefault("is_superuser", True)
    return await create_user(username, password, **values)
