"""schemathesis against the blog example's own ``/openapi.json``, in process (ASGI), on both
databases: requests generated from the document for every operation must never get a
server error, and every response must be one the document describes (status, content
type, headers, body schema).

The cases are drawn with a fixed seed (``derandomize``), then sent through httpx on the
test's event loop, where the database pool lives. The default run draws a few dozen per
operation; the ``slow`` group 2,000.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from aksara.db import Database
from examples.blog.app import app
from examples.blog.seed import seed_api

#: What every response is held to.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    await seed_api(users=3, posts=8, comments=8)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def draw_cases(operation: Any, count: int) -> list[schemathesis.Case]:
    """*count* generated requests for *operation*, the same ones every run."""
    cases: list[schemathesis.Case] = []

    @hypothesis.given(operation.as_strategy())
    @hypothesis.settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def collect(case: schemathesis.Case) -> None:
        cases.append(case)

    collect()
    return cases


async def fuzz(client: httpx.AsyncClient, count: int) -> tuple[int, list[str]]:
    """Send *count* generated requests per operation; the number sent and the failures."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for case in draw_cases(operation, count):
            kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
            kwargs.pop("cookies", None)
            response = await client.request(**kwargs)
            sent += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as failure:
                failures.append(
                    f"{case.method} {response.request.url} -> {response.status_code} "
                    f"{response.text[:300]!r}: {str(failure)[:500]}"
                )
    return sent, failures


async def test_generated_requests_get_no_server_error_and_conform(
    client: httpx.AsyncClient,
) -> None:
    sent, failures = await fuzz(client, 25)
    assert sent >= 24 * 10  # every operation was exercised
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
async def test_two_thousand_requests_per_operation(client: httpx.AsyncClient) -> None:
    sent, failures = await fuzz(client, 2000)
    assert sent >= 24 * 1000
    assert not failures, "\n".join(failures[:20])
