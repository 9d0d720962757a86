"""Reading the exposition text back: one sample's value, by metric name and labels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aksara import Aksara


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition *text*: (name, labels) -> value."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The value of the sample *name* with exactly *labels* (0.0 when absent)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples *name* whose labels include *labels*."""
    wanted = set(labels.items())
    return sum(
        sample_value
        for (sample_name, sample_labels), sample_value in samples(text).items()
        if sample_name == name and wanted <= sample_labels
    )


@asynccontextmanager
async def client_for(app: Aksara, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of *app* (peer 127.0.0.1 unless ``client=`` says otherwise)."""
    transport = httpx.ASGITransport(app=app, **options)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def scrape(client: httpx.AsyncClient, path: str = "/metrics") -> str:
    """The metrics text, asserting the scrape succeeded."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text
