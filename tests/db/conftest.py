"""Fixtures of the database layer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI
from tests.db.pgcluster import Cluster, ClusterError, streaming_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL primary and its streaming replica of the session's own, started on
    first use; stopped and deleted after. In CI a failure to start them fails the test."""
    try:
        with streaming_cluster() as running:
            yield running
            return
    except ClusterError as error:
        if IN_CI:
            pytest.fail(f"the replication cluster did not start (CI requires it): {error}")
        pytest.skip(f"the replication cluster did not start: {error}")
