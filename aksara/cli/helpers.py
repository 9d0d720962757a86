"""What the commands share: importing the user's modules with one-line errors, connecting
to the database, the URL a command uses, and hiding passwords in what is printed."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from urllib.parse import unquote, urlsplit

import aksara
from aksara.conf import mask_url, settings
from aksara.db.dialects import Dialect, PostgresDialect, SQLiteDialect
from aksara.db.url import parse_url
from aksara.exceptions import AksaraError, ConfigurationError, DatabaseError
from aksara.orm.models import Model
from aksara.orm.registry import registry

_DIALECTS: dict[str, type[Dialect]] = {
    dialect.name: dialect for dialect in (PostgresDialect, SQLiteDialect)
}


_MODELS_HINT = "pass the dotted name of the module defining your models, e.g. --models myapp.models"


class _TargetError(ConfigurationError):
    """A ``serve`` target that does not name an ASGI app (exit status 2)."""


def _importable_from_working_directory() -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _import_models(modules: Sequence[str]) -> None:
    """Import each module; a module that cannot be imported or defines no model is an error."""
    for name in modules:
        module = _import(name)
        if not _defines_models(module):
            raise ConfigurationError(
                f"Module {name!r} ({module.__file__}) defines no models. Pass the module where "
                "your Model subclasses are defined, e.g. --models myapp.models."
            )


def _import(name: str, hint: str = _MODELS_HINT) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise ConfigurationError(
                f"No module named {name!r} on the path (searched from {os.getcwd()}). Run the "
                f"command from your project's directory, or {hint}."
            ) from None
        raise ConfigurationError(
            f"Importing {name!r} failed: it imports {missing!r}, which is not installed."
        ) from None
    except AksaraError as error:
        raise ConfigurationError(
            f"The models of {name!r} are invalid: {error}{_where(error)}"
        ) from None
    except Exception as error:
        raise ConfigurationError(
            f"Importing {name!r} failed: {type(error).__name__}: {error}{_where(error)}"
        ) from None


def _where(error: BaseException) -> str:
    """`` (at file:line)``: the innermost frame of *error* outside Aksara and importlib."""
    if isinstance(error, SyntaxError) and error.filename:
        return f" (at {error.filename}:{error.lineno})"
    package = os.path.dirname(aksara.__file__)
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith((package, "<frozen"))
    ]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _defines_models(module: ModuleType) -> bool:
    """True when *module* (or a module inside it) defines a model, or re-exports one."""
    prefix = module.__name__ + "."
    for model in registry.models():
        if model.__module__ == module.__name__ or model.__module__.startswith(prefix):
            return True
    return any(
        isinstance(value, type) and issubclass(value, Model) and value is not Model
        for value in vars(module).values()
    )


#: The password of a ``scheme://user:password@host`` URL (up to the last ``@``).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^\s:/@'\"]*:)[^\s'\"]*(?=@)")


def _hide_password(text: str, url: str | None = None) -> str:
    """*text* with the password of every URL in it, and of *url*, replaced by ``***``: the
    last guard of what the command prints (a URL it shows itself goes through mask_url)."""
    text = _URL_PASSWORD.sub(r"\g<head>***", text)
    try:
        password = urlsplit(url).password if url else None
    except ValueError:
        password = None
    for secret in {password, unquote(password)} if password else ():
        text = text.replace(secret, "***")
    return text


async def _connect(url: str) -> None:
    """Open the default database on *url*; failing to reach it is a DatabaseError that says
    what to check (the driver's own exceptions would end in a traceback)."""
    try:
        await aksara.connect(url)
    except AksaraError:
        await aksara.disconnect()
        raise
    except Exception as error:
        await aksara.disconnect()
        raise DatabaseError(
            f"Cannot connect to {mask_url(url)}: {type(error).__name__}: {error}. "
            "Check DATABASE_URL (or --database-url): a server must be running and accept "
            "connections, a SQLite file's directory must exist and be writable."
        ) from error


def _url(arguments: argparse.Namespace) -> str:
    """The database URL the command uses; a malformed one fails here, before any import."""
    url: str = arguments.database_url or settings.DATABASE_URL
    parse_url(url)
    return url
