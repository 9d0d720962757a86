"""``aksara check``: the performance guide's production checklist run against an app."""

from aksara.checks.configuration import (
    check_cache,
    check_compression,
    check_debug,
    check_debug_tools,
    check_pool,
    check_secret_key,
)
from aksara.checks.endpoints import check_indexes, check_pagination, is_indexed, viewset_routes
from aksara.checks.report import Finding, Status, exit_status, render_json, render_text
from aksara.checks.requests import check_requests
from aksara.checks.runner import run_checks

__all__ = [
    "Finding",
    "Status",
    "check_cache",
    "check_compression",
    "check_debug",
    "check_debug_tools",
    "check_indexes",
    "check_pagination",
    "check_pool",
    "check_requests",
    "check_secret_key",
    "exit_status",
    "is_indexed",
    "render_json",
    "render_text",
    "run_checks",
    "viewset_routes",
]
