"""Fuzzing an app through its own OpenAPI document with schemathesis, in process: cases
drawn with a fixed seed (``derandomize``), sent through httpx on the test's event loop
(where the database pool lives), each response held to the document. Shared by the tests
that fuzz an API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from aksara import Aksara

__all__ = ["CHECKS", "cases_for", "draw_cases", "fuzz"]

#: What every response is held to.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


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


#: The cases drawn per (app, count): the same on both databases, so drawn once.
_drawn: dict[tuple[int, int], list[schemathesis.Case]] = {}


def cases_for(target: Aksara, count: int) -> list[schemathesis.Case]:
    """*count* cases per operation of *target*'s document."""
    key = (id(target), count)
    if key not in _drawn:
        schema = schemathesis.openapi.from_dict(target.openapi())
        _drawn[key] = [
            case
            for result in schema.get_all_operations()
            for case in draw_cases(result.ok(), count)
        ]
    return _drawn[key]


async def fuzz(
    client: httpx.AsyncClient,
    count: int,
    target: Aksara,
    inspect: Callable[[httpx.Response], str | None] | None = None,
) -> tuple[int, list[str]]:
    """Send *count* generated requests per operation of *target*'s document; the number
    sent and the failures. *inspect* may find more failures in a response (returns why)."""
    failures: list[str] = []
    sent = 0
    for case in cases_for(target, count):
        kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
        kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), str | bytes):
            kwargs["content"] = kwargs.pop("data")
        response = await client.request(**kwargs)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as failure:
            failures.append(
                f"{case.method} {response.request.url} -> {response.status_code} "
                f"{response.text[:300]!r}: {str(failure)[:500]}"
            )
        problem = inspect(response) if inspect is not None else None
        if problem:
            failures.append(f"{case.method} {response.request.url}: {problem}")
    return sent, failures
