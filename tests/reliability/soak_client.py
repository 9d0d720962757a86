"""The soak test's load when ``wrk`` is not installed: ``python -m
tests.reliability.soak_client BASE SECONDS TOKEN [CONNECTIONS]`` sends the GETs of soak.lua
from CONNECTIONS looping clients for SECONDS and prints the same ``SOAK {json}`` line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

import httpx

from tests.reliability.helpers import percentile

#: (path, signed in) in the order soak.lua sends them.
PATHS = [
    ("/api/posts/", False),
    ("/api/posts/abc-123/", False),
    ("/api/users/me/", True),
    ("/api/comments/?post=1", False),
    ("/api/tags/", False),
]


async def load(base: str, seconds: float, token: str, connections: int) -> dict[str, object]:
    """Loop over PATHS from *connections* clients for *seconds*; the totals and latencies."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0
    started = time.monotonic()
    deadline = started + seconds
    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def loop(offset: int) -> None:
            nonlocal errors
            index = offset
            while time.monotonic() < deadline:
                path, signed = PATHS[index % len(PATHS)]
                index += 1
                sent = time.monotonic()
                try:
                    response = await client.get(path, headers=auth if signed else None)
                except httpx.TransportError:
                    errors += 1
                    continue
                latencies.append((time.monotonic() - sent) * 1e6)
                statuses[response.status_code] += 1

        await asyncio.gather(*(loop(number) for number in range(connections)))
    return {
        "requests": sum(statuses.values()),
        "seconds": time.monotonic() - started,
        "statuses": {str(status): count for status, count in statuses.items()},
        "socket_errors": errors,
        "p50_us": round(percentile(latencies, 0.5)),
        "p99_us": round(percentile(latencies, 0.99)),
        "max_us": round(max(latencies, default=0.0)),
    }


def main() -> None:
    """Run the load the command line describes and print its ``SOAK`` line."""
    base, seconds, token = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    connections = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    print("SOAK " + json.dumps(asyncio.run(load(base, seconds, token, connections))))


if __name__ == "__main__":
    main()
