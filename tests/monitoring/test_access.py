"""Who may read /metrics: nobody when METRICS is off, loopback alone by default, a bearer
token or an allowed network otherwise; refusals are JSON 401/403, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

import aksara
from aksara import Aksara
from aksara.conf import settings
from aksara.exceptions import ConfigurationError
from aksara.monitoring import MetricsAccess, MonitoringMiddleware
from tests.monitoring.helpers import client_for

TOKEN = "s3cret-metrics-token"


def app_with(metrics: dict[str, Any] | None) -> Aksara:
    aksara.configure(METRICS=metrics)
    return Aksara()


async def get(app: Aksara, peer: str, path: str = "/metrics", **headers: str) -> Any:
    async with client_for(app, client=(peer, 4321)) as client:
        return await client.get(path, headers=headers)


async def test_off_by_default_nothing_is_served_or_installed() -> None:
    assert settings.METRICS is None
    app = Aksara()
    response = await get(app, "127.0.0.1")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert not any(entry.cls is MonitoringMiddleware for entry in app.user_middleware)


@pytest.mark.parametrize(("peer", "status"), [("127.0.0.1", 200), ("::1", 200), ("10.1.2.3", 403)])
async def test_neither_token_nor_networks_means_loopback_only(peer: str, status: int) -> None:
    response = await get(app_with({}), peer)
    assert response.status_code == status
    if status == 403:
        assert response.json() == {
            "detail": "Metrics are served to the networks in METRICS['allowed_networks'] only."
        }


async def test_a_token_is_checked_when_the_peer_is_not_allowed() -> None:
    app = app_with({"token": TOKEN})
    missing = await get(app, "10.1.2.3")
    wrong = await get(app, "10.1.2.3", authorization="Bearer not-the-token")
    basic = await get(app, "10.1.2.3", authorization=f"Basic {TOKEN}")
    right = await get(app, "10.1.2.3", authorization=f"Bearer {TOKEN}")
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json() == {"detail": "Metrics need an 'Authorization: Bearer <token>' header."}
    assert wrong.json() == {"detail": "The metrics token is wrong."}
    assert right.status_code == 200
    assert "aksara_db_pool_size" in right.text
    # With a token alone, loopback is not trusted either.
    assert (await get(app, "127.0.0.1")).status_code == 401


async def test_allowed_networks_and_a_custom_path() -> None:
    app = app_with({"path": "/internal/metrics", "allowed_networks": ["10.0.0.0/8"]})
    assert (await get(app, "10.9.8.7", "/internal/metrics")).status_code == 200
    assert (await get(app, "192.168.1.1", "/internal/metrics")).status_code == 403
    assert (await get(app, "127.0.0.1", "/internal/metrics")).status_code == 403
    assert (await get(app, "10.9.8.7", "/metrics")).status_code == 404


async def test_only_get_and_head() -> None:
    app = app_with({})
    async with client_for(app) as client:
        post = await client.post("/metrics")
        head = await client.head("/metrics")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert head.status_code == 200 and head.content == b""


def test_a_peer_that_is_no_address_is_not_allowed() -> None:
    access = MetricsAccess(None, ["127.0.0.1/32"])
    assert not access.is_allowed_peer(("testclient", 50000))
    assert not access.is_allowed_peer(None)
    assert access.is_allowed_peer(("::ffff:127.0.0.1", 1))


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ("on", "METRICS must be None or a dict"),
        ({"tokn": "x"}, "Unknown METRICS key 'tokn'. Did you mean 'token'?"),
        ({"path": "metrics"}, "METRICS['path'] must be a path such as '/metrics'"),
        ({"token": ""}, "METRICS['token'] must be None or a non-empty string"),
        ({"allowed_networks": "10.0.0.0/8"}, "must be a list of networks"),
        ({"allowed_networks": ["10.0.0.300/8"]}, "holds '10.0.0.300/8', which is not a network"),
    ],
)
def test_bad_metrics_settings_say_what_is_valid(metrics: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        aksara.configure(METRICS=metrics)
    assert message in str(error.value)


def test_validated_metrics_settings() -> None:
    aksara.configure(METRICS={"token": TOKEN})
    assert settings.METRICS == {"path": "/metrics", "token": TOKEN, "allowed_networks": []}
    aksara.configure(METRICS={})
    assert settings.METRICS["allowed_networks"] == ["127.0.0.1/32", "::1/128"]
    aksara.configure(METRICS={"allowed_networks": ["10.1.0.0/16"]})
    assert settings.METRICS["allowed_networks"] == ["10.1.0.0/16"]


@pytest.mark.parametrize("value", [-1, "slow", True])
def test_bad_slow_request_ms(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="SLOW_REQUEST_MS must be a number >= 0"):
        aksara.configure(SLOW_REQUEST_MS=value)
