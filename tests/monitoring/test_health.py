"""/healthz and /readyz: liveness answers while the process serves; readiness checks every
database (SELECT 1) and every Redis cache (PING) within HEALTH["timeout"], 200 or 503 naming
the failing check; both before authentication and metrics, both configurable or off."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import aksara
from aksara import Aksara
from aksara.conf import settings
from aksara.db.database import Database
from aksara.exceptions import ConfigurationError
from aksara.monitoring import HealthMiddleware
from tests.cache.conftest import require_redis
from tests.monitoring.helpers import client_for, total

pytestmark = pytest.mark.usefixtures("db")


def dead_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def redis_cache(url: str, **options: Any) -> dict[str, Any]:
    return {"backend": "redis", "url": url, "key_prefix": f"health-{uuid.uuid4().hex}", **options}


async def get(app: Aksara, path: str, method: str = "GET") -> Any:
    async with client_for(app) as client:
        return await client.request(method, path)


async def test_liveness_answers_without_touching_anything() -> None:
    aksara.configure(AUTHENTICATION=["aksara.api.authentication.TokenAuthentication"])
    response = await get(Aksara(), "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_readiness_checks_every_database_and_redis_cache(db: Database) -> None:
    url = await require_redis()
    aksara.configure(CACHE={"default": redis_cache(url), "local": {"backend": "memory"}})
    response = await get(Aksara(), "/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database:default", "cache:default"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert all(check["ms"] >= 0 for check in body["checks"].values())


async def test_a_redis_on_a_dead_port_fails_readiness_naming_it() -> None:
    url = await require_redis()
    dead = f"redis://127.0.0.1:{dead_port()}/0"
    aksara.configure(
        CACHE={"default": redis_cache(url), "sessions": redis_cache(dead, timeout_ms=500)}
    )
    app = Aksara()
    ready = await get(app, "/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert ready.json()["status"] == "fail"
    assert checks["cache:sessions"]["status"] == "fail"
    assert checks["cache:sessions"]["error"] == "ConnectionError"
    assert checks["cache:default"]["status"] == checks["database:default"]["status"] == "ok"
    assert (await get(app, "/healthz")).status_code == 200  # alive, just not ready


async def test_a_check_that_hangs_fails_after_the_timeout(silent_port: int) -> None:
    silent = f"redis://127.0.0.1:{silent_port}/0"
    aksara.configure(
        CACHE={"default": redis_cache(silent, timeout_ms=30_000)},
        HEALTH={"timeout": 0.2},
    )
    ready = await get(Aksara(), "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["cache:default"] == {
        "status": "fail",
        "error": "timed out after 0.2s",
    }
    assert ready.json()["checks"]["database:default"]["status"] == "ok"


async def test_an_unreachable_database_fails_readiness_naming_its_alias(
    db: Database, tmp_path: Path
) -> None:
    if db.name == "sqlite":
        broken = f"sqlite:///{tmp_path / 'missing-folder' / 'analytics.sqlite3'}"
    else:
        broken = f"postgresql://127.0.0.1:{dead_port()}/test"
    aksara.configure(
        DATABASES={
            "default": {"url": db.url, "pool": db.pool_options},
            "analytics": {"url": broken},
        }
    )
    ready = await get(Aksara(), "/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database:default"]["status"] == "ok"
    assert checks["database:analytics"]["status"] == "fail"
    assert checks["database:analytics"]["error"]


async def test_a_failing_read_replica_degrades_readiness_without_failing_it(
    db: Database, tmp_path: Path
) -> None:
    if db.name == "sqlite":
        broken = f"sqlite:///{tmp_path / 'missing-folder' / 'replica.sqlite3'}"
    else:
        broken = f"postgresql://127.0.0.1:{dead_port()}/test"
    aksara.configure(
        DATABASES={"default": {"url": db.url, "pool": db.pool_options}, "replica": {"url": broken}},
        READ_REPLICAS=["replica"],
    )
    ready = await get(Aksara(), "/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["database:replica"]["status"] == "fail"
    assert ready.json()["checks"]["database:default"]["status"] == "ok"


async def test_probes_skip_the_metrics_and_other_methods_are_refused() -> None:
    aksara.configure(METRICS={})
    app = Aksara()
    before = (await get(app, "/metrics")).text
    assert (await get(app, "/nowhere")).status_code == 404
    assert (await get(app, "/healthz")).status_code == 200
    assert (await get(app, "/readyz")).status_code == 200
    refused = await get(app, "/readyz", method="POST")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"
    after = (await get(app, "/metrics")).text
    name = "aksara_http_requests_total"
    # Only the 404 was counted (metrics are per process: compare with the scrape before).
    assert total(after, name) - total(before, name) == 1
    assert total(after, name, route="<unmatched>") - total(before, name, route="<unmatched>") == 1


async def test_paths_are_settings_and_none_turns_the_probes_off() -> None:
    aksara.configure(HEALTH={"liveness": "/live", "readiness": None})
    app = Aksara()
    assert (await get(app, "/live")).json() == {"status": "ok"}
    assert (await get(app, "/healthz")).status_code == 404
    assert (await get(app, "/readyz")).status_code == 404
    aksara.configure(HEALTH=None)
    off = Aksara()
    assert (await get(off, "/live")).status_code == 404
    assert not any(entry.cls is HealthMiddleware for entry in off.user_middleware)


def test_defaults_and_configuration_errors() -> None:
    assert settings.HEALTH == {"liveness": "/healthz", "readiness": "/readyz", "timeout": 2.0}
    with pytest.raises(ConfigurationError, match="Valid keys: liveness, readiness, timeout"):
        aksara.configure(HEALTH={"readyness": "/ready"})
    with pytest.raises(ConfigurationError, match="HEALTH\\['liveness'\\] must be None or a path"):
        aksara.configure(HEALTH={"liveness": "healthz"})
    with pytest.raises(ConfigurationError, match="different paths"):
        aksara.configure(HEALTH={"liveness": "/h", "readiness": "/h"})
    with pytest.raises(ConfigurationError, match="HEALTH\\['timeout'\\] must be a number"):
        aksara.configure(HEALTH={"timeout": 0})
