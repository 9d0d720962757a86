"""``aksara serve module:app``: uvicorn with uvloop and httptools, a graceful shutdown on
SIGTERM, and the app named by its target imported first so that a mistake is one line."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import signal
from typing import Any

from aksara.cli.helpers import _import, _TargetError
from aksara.conf import settings
from aksara.exceptions import ConfigurationError
from aksara.monitoring import multiprocess_metrics

#: uvicorn's log levels, quietest first.
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: Longest wait, on SIGTERM, for in-flight requests before the lifespan closes pools anyway.
GRACEFUL_SHUTDOWN_SECONDS = 30


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


def _serve_parser(commands: Any) -> None:
    """Add ``serve`` to the command line's *commands*."""
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
