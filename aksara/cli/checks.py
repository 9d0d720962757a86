"""``aksara check module:app``: the production checklist's findings on an app, as text or
JSON; the exit status is 1 when a check fails."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aksara.checks import exit_status, render_json, render_text, run_checks
from aksara.cli.serve import _serve_target
from aksara.exceptions import ConfigurationError


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


def _check_parser(commands: Any) -> None:
    """Add ``check`` to the command line's *commands*."""
    check = commands.add_parser("check", help="run the production checklist against an app")
    check.add_argument("app", help="module:app, e.g. myapp.main:app")
    check.add_argument(
        "--workers", type=int, help="processes it will be served by (default: one per CPU)"
    )
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
