"""Who may read ``/metrics``: a bearer token, or a peer in the allowed networks.

The peer is the address the server saw (behind a proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so that it is the client's).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MetricsAccess"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MetricsAccess:
    """The METRICS setting's guard: :meth:`check` returns None (allowed) or the status and
    message of the refusal."""

    def __init__(self, token: str | None, allowed_networks: Sequence[str]) -> None:
        self.token = token.encode() if token is not None else None
        self.networks: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_networks
        )

    @classmethod
    def from_settings(cls, options: Mapping[str, Any]) -> MetricsAccess:
        """The guard a validated ``METRICS`` dict describes."""
        return cls(options["token"], options["allowed_networks"])

    def is_allowed_peer(self, client: Any) -> bool:
        """True when the ASGI ``client`` (host, port) is in an allowed network."""
        if not client or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a test client's "testclient", a unix socket's path
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def check(self, scope: Mapping[str, Any]) -> tuple[int, str] | None:
        """None when the request may read the metrics, else ``(status, detail)``: 401 for a
        missing or wrong token, 403 for a peer outside the allowed networks."""
        if self.is_allowed_peer(scope.get("client")):
            return None
        if self.token is None:
            return 403, "Metrics are served to the networks in METRICS['allowed_networks'] only."
        given = _bearer(scope)
        if given is None:
            return 401, "Metrics need an 'Authorization: Bearer <token>' header."
        if not hmac.compare_digest(given, self.token):
            return 401, "The metrics token is wrong."
        return None


def _bearer(scope: Mapping[str, Any]) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return bytes(token.strip())
            return None
    return None
