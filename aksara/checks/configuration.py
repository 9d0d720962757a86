"""The settings half of the production checklist: DEBUG, SECRET_KEY, the pool against the
workers and the server's connection limit, the cache, compression and the debug tools."""

from __future__ import annotations

from typing import Any

from aksara.checks.report import Finding, Status
from aksara.conf import settings
from aksara.db.database import Database

__all__ = [
    "MIN_SECRET_KEY_LENGTH",
    "POOL_HEADROOM",
    "check_cache",
    "check_compression",
    "check_debug",
    "check_debug_tools",
    "check_pool",
    "check_secret_key",
]

#: The shortest SECRET_KEY taken as random enough (32 characters, as token_urlsafe(24)).
MIN_SECRET_KEY_LENGTH = 32

#: The share of the server's connections the workers' pools may take before a warning:
#: the rest is for migrations, an admin shell, cron jobs and a deploy's second set of workers.
POOL_HEADROOM = 0.8


def check_debug() -> Finding:
    """FAIL with DEBUG on: it shows SQL in errors and makes query budgets fail requests."""
    if settings.DEBUG:
        return Finding(
            "debug",
            Status.FAIL,
            "DEBUG is on: set AKSARA['DEBUG'] = False in production (errors show SQL, "
            "a query budget overrun answers 500).",
        )
    return Finding("debug", Status.PASS, "DEBUG is off.")


def check_secret_key(signing: bool = False) -> Finding | None:
    """FAIL for an empty SECRET_KEY, WARN for a short one; None when none is set and
    nothing is *signing* (no endpoint issues or verifies tokens or session cookies)."""
    values = settings.as_dict()
    key = values.get("SECRET_KEY")
    if key is None and not signing:
        return None
    advice = "set it from the environment, e.g. secrets.token_urlsafe(48)"
    if not key:
        reason = " tokens and session cookies cannot be signed;" if signing else ""
        return Finding("secret_key", Status.FAIL, f"SECRET_KEY is not set:{reason} {advice}.")
    if not isinstance(key, str | bytes) or len(key) < MIN_SECRET_KEY_LENGTH:
        return Finding(
            "secret_key",
            Status.WARN,
            f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters: {advice}.",
        )
    return Finding("secret_key", Status.PASS, "SECRET_KEY is set.")


async def check_pool(database: Database, workers: int) -> Finding:
    """The connections *workers* pools may open against the server's limit: FAIL past it,
    WARN past ``POOL_HEADROOM`` of it; an embedded database has no such limit."""
    pool: dict[str, Any] = database.pool_options
    size = int(pool["max_size"])
    total = size * workers
    details: dict[str, Any] = {"workers": workers, "max_size": size, "connections": total}
    query = database.dialect.connection_limit_sql
    if query is None:
        return Finding(
            "pool",
            Status.PASS,
            f"{database.name}: {workers} worker(s) x max_size {size}; an embedded database "
            "has no server connection limit.",
            details,
        )
    limit = int(await database.fetchval(query, read_only=True))
    details["server_limit"] = limit
    figures = f"{workers} worker(s) x DATABASE_POOL max_size {size} = {total} connections"
    if total > limit:
        fits = max(limit // workers, 1)
        return Finding(
            "pool",
            Status.FAIL,
            f"{figures}, the server takes {limit}: set max_size <= {fits}, run fewer "
            "workers, or put PgBouncer in front.",
            details,
        )
    if total > limit * POOL_HEADROOM:
        return Finding(
            "pool",
            Status.WARN,
            f"{figures} of the server's {limit}: leave room for other clients (max_size <= "
            f"{max(int(limit * POOL_HEADROOM) // workers, 1)}) or use PgBouncer.",
            details,
        )
    return Finding("pool", Status.PASS, f"{figures}, within the server's {limit}.", details)


def check_cache(workers: int) -> Finding:
    """WARN when the default cache is the per-process memory backend and several workers
    each keep their own copy (and their own invalidations)."""
    backend = settings.CACHE["default"]["backend"]
    if backend == "memory" and workers > 1:
        return Finding(
            "cache",
            Status.WARN,
            f"The default cache is in memory, one per process: {workers} workers keep "
            f"{workers} copies that never see each other's invalidations. Use "
            "CACHE = {'default': {'backend': 'redis', 'url': 'redis://...'}}.",
            {"backend": backend},
        )
    return Finding(
        "cache", Status.PASS, f"The default cache is {backend} ({workers} worker(s)).", {}
    )


def check_compression() -> Finding:
    """WARN when COMPRESSION is off (fine when a proxy in front compresses)."""
    if settings.COMPRESSION is None:
        return Finding(
            "compression",
            Status.WARN,
            "Responses are not compressed: set COMPRESSION = {'minimum_size': 500, "
            "'level': 6}, unless the proxy in front compresses them.",
        )
    return Finding("compression", Status.PASS, f"COMPRESSION is on: {settings.COMPRESSION}.")


def check_debug_tools() -> Finding:
    """WARN when per-request N+1 detection or query logging runs in production: each costs
    every request time for a report nobody reads there."""
    on = [
        name
        for name, value in (
            ("DETECT_N_PLUS_ONE", settings.DETECT_N_PLUS_ONE),
            ("LOG_QUERIES", settings.LOG_QUERIES),
        )
        if value
    ]
    if on:
        return Finding(
            "debug_tools",
            Status.WARN,
            f"{' and '.join(on)} on: set {' and '.join(f'{name} = False' for name in on)} in "
            "production (the tools cost every request; use them in development and tests).",
        )
    return Finding("debug_tools", Status.PASS, "DETECT_N_PLUS_ONE and LOG_QUERIES are off.")
