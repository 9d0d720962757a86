"""The ``aksara`` command: serve an app, check it against the production checklist, run the
demo, manage the schema of a project's models (``db``, and migrations: ``makemigrations``,
``migrate``, ``showmigrations``, ``sqlmigrate``, implemented in :mod:`aksara.migrations`) and
show the query plan of an API's viewsets.

A user's mistake (a module that cannot be imported or defines no models, a bad or
unreachable DATABASE_URL) ends with one line on stderr saying what to do, and exit status 1;
a ``serve`` (or ``check``) target that is no ASGI app ends so before the server starts,
with status 2. ``check`` exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import os
import re
import signal
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import aksara
from aksara.api import FieldSelectionError, explain_plan
from aksara.checks import exit_status, render_json, render_text, run_checks
from aksara.conf import mask_url, settings
from aksara.db.dialects import Dialect, PostgresDialect, SQLiteDialect
from aksara.db.url import parse_url
from aksara.exceptions import AksaraError, ConfigurationError, DatabaseError
from aksara.monitoring import multiprocess_metrics
from aksara.orm.models import Model
from aksara.orm.registry import registry
from aksara.orm.schema import create_tables, drop_tables, schema_sql

__all__ = ["main"]

_DIALECTS: dict[str, type[Dialect]] = {
    dialect.name: dialect for dialect in (PostgresDialect, SQLiteDialect)
}

#: uvicorn's log levels, quietest first.
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: Longest wait, on SIGTERM, for in-flight requests before the lifespan closes pools anyway.
GRACEFUL_SHUTDOWN_SECONDS = 30

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


async def _schema(action: str, url: str) -> None:
    await _connect(url)
    try:
        await (create_tables() if action == "create" else drop_tables())
    finally:
        await aksara.disconnect()


async def _demo(url: str) -> None:
    try:
        from examples.blog.demo import run
    except ModuleNotFoundError:
        raise ConfigurationError(
            "The demo is the examples/ directory of Aksara's repository: run `aksara demo` "
            "(or `make demo`) from a checkout of it."
        ) from None
    await _connect(url)
    await aksara.disconnect()
    await run(url)


def _plan(target: str, action: str, fields: str | None) -> str:
    """``aksara plan module:ViewSet``: the viewset's queryset with its serializer's plan."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ConfigurationError(
            f"aksara plan takes module:ViewSet (e.g. myapp.api:PostViewSet), got {target!r}."
        )
    module = _import(module_name)
    viewset = getattr(module, name, None)
    if not isinstance(viewset, type):
        found = sorted(
            key
            for key, value in vars(module).items()
            if isinstance(value, type)
            and (hasattr(value, "serializer_class") or hasattr(value, "get_serializer_class"))
        )
        raise ConfigurationError(
            f"{module_name} has no viewset {name!r}. Viewsets there: {', '.join(found) or 'none'}."
        )
    selected = [part.strip() for part in fields.split(",") if part.strip()] if fields else None
    try:
        return explain_plan(viewset, action=action, fields=selected)
    except FieldSelectionError as error:
        raise ConfigurationError(" ".join(error.detail["fields"])) from None


def _is_asgi_app(value: object) -> bool:
    """True when *value* can be called as ``app(scope, receive, send)``."""
    if not callable(value) or isinstance(value, type):
        return False
    try:
        inspect.signature(value).bind(None, None, None)
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature: let the server decide
        return True
    return True


def _serve_target(target: str, command: str = "serve") -> Any:
    """The ASGI app that ``module:app`` names, imported here so that a mistake is one line
    before any worker starts."""
    module_name, colon, name = target.partition(":")
    if not colon or not module_name or not name:
        raise _TargetError(
            f"aksara {command} takes module:app (e.g. myapp.main:app), got {target!r}."
        )
    try:
        module = _import(module_name, hint="pass the module defining the app, e.g. myapp.main:app")
    except ConfigurationError as error:
        raise _TargetError(str(error)) from None
    app = getattr(module, name, None)
    if not _is_asgi_app(app):
        apps = sorted(key for key, value in vars(module).items() if _is_asgi_app(value))
        found = (
            f"{target} is a {type(app).__name__}, not an ASGI app (app(scope, receive, send))"
            if hasattr(module, name)
            else f"{module_name} has no attribute {name!r}"
        )
        raise _TargetError(f"{found}. ASGI apps there: {', '.join(apps) or 'none'}.")
    return app


def _serve(arguments: argparse.Namespace) -> None:
    """Run uvicorn (uvloop, httptools) on the app; SIGTERM lets in-flight requests finish
    and the app's lifespan close its pools and caches."""
    _serve_target(arguments.app)
    workers = arguments.workers
    if workers is not None and workers < 1:
        raise ConfigurationError(
            f"--workers takes a number of processes, 1 or more, got {workers}."
        )
    if arguments.reload and workers not in (None, 1):
        raise ConfigurationError("--reload runs one worker: drop --workers, or --reload.")
    import uvicorn  # the other commands do without its import time

    processes = 1 if arguments.reload else workers or os.cpu_count() or 1
    # Workers are spawned, so they import prometheus_client after the directory is named.
    metrics = (
        multiprocess_metrics()
        if processes > 1 and settings.METRICS is not None
        else contextlib.nullcontext()
    )
    # uvicorn raises SIGTERM again once its graceful shutdown is done, which would end the
    # process by the signal; the shutdown is complete by then, so the command exits 0.
    previous = signal.signal(signal.SIGTERM, lambda number, frame: None)
    try:
        with metrics:
            uvicorn.run(
                arguments.app,
                host=arguments.host,
                port=arguments.port,
                workers=processes,
                reload=arguments.reload,
                log_level=arguments.log_level,
                loop="uvloop",
                http="httptools",
                lifespan="on",
                timeout_graceful_shutdown=arguments.graceful_timeout,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check(arguments: argparse.Namespace) -> int:
    """``aksara check module:app``: print the production checklist's findings; 1 on a FAIL."""
    app = _serve_target(arguments.app, "check")
    if arguments.workers is not None and arguments.workers < 1:
        raise ConfigurationError(
            f"--workers takes a number of processes, 1 or more, got {arguments.workers}."
        )
    findings = asyncio.run(run_checks(app, workers=arguments.workers))
    print(render_json(findings) if arguments.json else render_text(findings))
    return exit_status(findings)


def _url(arguments: argparse.Namespace) -> str:
    """The database URL the command uses; a malformed one fails here, before any import."""
    url: str = arguments.database_url or settings.DATABASE_URL
    parse_url(url)
    return url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aksara", description="Aksara's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an ASGI app with uvicorn")
    serve.add_argument("app", help="module:app, e.g. myapp.main:app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, help="processes (default: one per CPU)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--log-level", choices=_LOG_LEVELS, default="info")
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=GRACEFUL_SHUTDOWN_SECONDS,
        help=f"seconds in-flight requests get on shutdown (default: {GRACEFUL_SHUTDOWN_SECONDS})",
    )
    check = commands.add_parser("check", help="run the production checklist against an app")
    check.add_argument("app", help="module:app, e.g. myapp.main:app")
    check.add_argument(
        "--workers", type=int, help="processes it will be served by (default: one per CPU)"
    )
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    demo = commands.add_parser("demo", help="seed a blog and run the performance guide's patterns")
    demo.add_argument("--database-url", default="sqlite:///demo.sqlite3")
    db = commands.add_parser("db", help="create or drop the tables of your models")
    db.add_argument("action", choices=("create", "drop", "sql"))
    db.add_argument("--models", action="append", required=True, help="module defining models")
    db.add_argument("--database-url", help="overrides the settings' DATABASE_URL")
    db.add_argument("--dialect", choices=sorted(_DIALECTS), help="for `sql` without a database")
    plan = commands.add_parser("plan", help="print the queryset a viewset's action runs")
    plan.add_argument("viewset", help="module:ViewSet, e.g. myapp.api:PostViewSet")
    plan.add_argument("--action", default="list", help="list, retrieve, ... (default: list)")
    plan.add_argument("--fields", help="the ?fields= selection, e.g. id,title,author.name")
    _migration_commands(commands)
    commands.add_parser("version", help="print Aksara's version")
    return parser


def _migration_options(command: argparse.ArgumentParser, *, models: bool = True) -> None:
    command.add_argument("--path", help="the migrations folder (default: MIGRATIONS['path'])")
    command.add_argument("--database-url", help="overrides the settings' DATABASE_URL")
    if models:
        command.add_argument(
            "--models", action="append", help="module defining models (default: MIGRATIONS)"
        )


def _migration_commands(commands: Any) -> None:
    make = commands.add_parser("makemigrations", help="write a revision for model changes")
    make.add_argument("-m", "--message", default="", help="the revision's message")
    make.add_argument("--empty", action="store_true", help="a revision with no change (data)")
    make.add_argument("--check", action="store_true", help="exit 1 if models and migrations differ")
    make.add_argument(
        "--rename", action="append", default=[], help="table.old:new (column) or old:new (table)"
    )
    make.add_argument("--allow-drop", action="store_true", help="write drops that may be renames")
    make.add_argument(
        "--concurrently", action="store_true", help="PostgreSQL: CREATE INDEX CONCURRENTLY"
    )
    make.add_argument("--no-input", action="store_true", help="never prompt (refuse instead)")
    _migration_options(make)
    migrate = commands.add_parser("migrate", help="apply (or go back to) a revision")
    migrate.add_argument("target", nargs="?", default="heads", help="revision, heads or zero")
    migrate.add_argument("--allow-drop", action="store_true", help="drop columns holding data")
    _migration_options(migrate)
    show = commands.add_parser("showmigrations", help="list revisions, [X] when applied")
    _migration_options(show, models=False)
    sql = commands.add_parser("sqlmigrate", help="print a revision's SQL (no database)")
    sql.add_argument("revision")
    sql.add_argument("--dialect", choices=sorted(_DIALECTS), help="default: DATABASE_URL's")
    sql.add_argument("--downgrade", action="store_true", help="the SQL going back down")
    sql.add_argument("--path", help="the migrations folder (default: MIGRATIONS['path'])")


def _ask(question: str) -> bool:
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


async def _migrations(arguments: argparse.Namespace) -> None:
    from aksara import migrations  # Alembic and SQLAlchemy load for these commands only

    url = _url(arguments)
    await _connect(url)
    try:
        path = arguments.path
        models = getattr(arguments, "models", None)
        if arguments.command == "migrate":
            heads = await migrations.migrate(
                arguments.target, allow_drop=arguments.allow_drop, path=path, models=models
            )
            print(f"The database is at {', '.join(heads) or 'zero (no revision)'}.")
        elif arguments.command == "showmigrations":
            for state in await migrations.show_migrations(path=path):
                mark = "X" if state.applied else " "
                print(f"[{mark}] {state.revision}  {state.message}")
        elif arguments.check:
            differences = await migrations.check_migrations(path=path, models=models)
            if differences:
                raise migrations.MigrationError(
                    "The models and the migrations differ; run `aksara makemigrations`:\n  "
                    + "\n  ".join(differences)
                )
            print("The models and the migrations agree.")
        else:
            interactive = not arguments.no_input and sys.stdin.isatty()
            written = await migrations.make_migrations(
                arguments.message,
                empty=arguments.empty,
                renames=arguments.rename,
                allow_drop=arguments.allow_drop,
                prompt=_ask if interactive else None,
                concurrently=arguments.concurrently,
                path=path,
                models=models,
            )
            print(f"Wrote {written}." if written else "No changes: no revision written.")
    finally:
        await aksara.disconnect()


def _run(arguments: argparse.Namespace) -> int:
    # The project's settings and models modules are found from where the command runs.
    _importable_from_working_directory()
    if arguments.command == "check":
        return _check(arguments)
    if arguments.command == "version":
        print(aksara.__version__)
    elif arguments.command == "serve":
        _serve(arguments)
    elif arguments.command == "demo":
        asyncio.run(_demo(_url(arguments)))
    elif arguments.command == "plan":
        print(_plan(arguments.viewset, arguments.action, arguments.fields))
    elif arguments.command == "sqlmigrate":
        from aksara.migrations import sql_migrate

        print(
            sql_migrate(
                arguments.revision,
                dialect=arguments.dialect,
                downgrade=arguments.downgrade,
                path=arguments.path,
            ),
            end="",
        )
    elif arguments.command in ("makemigrations", "migrate", "showmigrations"):
        if getattr(arguments, "models", None):
            _import_models(arguments.models)  # before the loop runs, with clear errors
        asyncio.run(_migrations(arguments))
    elif arguments.action == "sql":
        name = arguments.dialect or parse_url(_url(arguments)).backend
        _import_models(arguments.models)
        print(";\n\n".join(schema_sql(dialect=_DIALECTS[name]())) + ";")
    else:
        url = _url(arguments)
        _import_models(arguments.models)
        asyncio.run(_schema(arguments.action, url))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aksara`` command with *argv* (default: ``sys.argv[1:]``); return its status."""
    arguments = _parser().parse_args(argv)
    try:
        status = _run(arguments)
    except AksaraError as error:
        message = _hide_password(str(error), getattr(arguments, "database_url", None))
        print(f"aksara: error: {message}", file=sys.stderr)
        return 2 if isinstance(error, _TargetError) else 1
    except KeyboardInterrupt:
        print("aksara: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
