"""The per-process tallies: flushed, they leave prometheus_client exactly where the same
observe()/inc() calls would have (the guard on its internals they rely on)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from aksara.monitoring import AksaraMetrics
from aksara.monitoring.metrics import PendingCounter, PendingHistogram

BOUNDS_MS = (1, 2.5, 5, 10, 100)
VALUES_MS = [0.2, 1.0, 1.0001, 2.5, 7, 99.9, 100, 100.5, 5000]


def exposition(registry: CollectorRegistry) -> dict[str, float]:
    """Each sample's value by its line's name and labels (under a common metric name),
    creation timestamps left out."""
    text = generate_latest(registry).decode().replace("direct", "same").replace("tally", "same")
    samples = [line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#")]
    return {name: float(value) for name, value in samples if "_created" not in name}


def test_a_flushed_histogram_equals_one_observed_directly() -> None:
    direct_registry, tally_registry = CollectorRegistry(), CollectorRegistry()
    seconds = [bound / 1000 for bound in BOUNDS_MS]
    direct = Histogram("direct", "d", ["db"], buckets=seconds, registry=direct_registry)
    tallied = Histogram("tally", "d", ["db"], buckets=seconds, registry=tally_registry)
    pending = PendingHistogram(tallied.labels("x"), BOUNDS_MS, scale=0.001)
    for value in VALUES_MS:
        direct.labels("x").observe(value / 1000)
        pending.observe(value)
    assert exposition(direct_registry) != exposition(tally_registry)  # not flushed yet
    pending.flush()
    pending.flush()  # nothing left: adds nothing
    assert exposition(tally_registry) == pytest.approx(exposition(direct_registry), rel=1e-12)


def test_a_flushed_counter_adds_what_it_tallied() -> None:
    registry = CollectorRegistry()
    counter = Counter("hits", "h", ["a"], registry=registry)
    pending = PendingCounter(counter.labels("x"))
    pending.amount += 3
    pending.flush()
    pending.amount += 2
    pending.flush()
    pending.flush()
    assert registry.get_sample_value("hits_total", {"a": "x"}) == 5


def test_buckets_that_do_not_line_up_are_refused() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("h", "h", buckets=(0.1, 1.0), registry=registry)
    with pytest.raises(ValueError, match="do not match"):
        PendingHistogram(histogram, (0.1, 2.0))


def test_one_tally_per_series() -> None:
    metrics = AksaraMetrics.__new__(AksaraMetrics)  # the tallies alone, no registration
    metrics._pending = {}
    registry = CollectorRegistry()
    counter = Counter("c", "c", ["route"], registry=registry)
    first = metrics.pending_counter(counter, "/a")
    assert metrics.pending_counter(counter, "/a") is first
    assert metrics.pending_counter(counter, "/b") is not first
