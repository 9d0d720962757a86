"""The deployment benchmark's arithmetic and settings: medians per shape and endpoint, each
comparison the median of its per-round ratios, and the database settings of each shape."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from benchmarks import bench_deploy
from tests.db.pgcluster import Cluster


def sample(rps: float) -> dict[str, float]:
    return {"rps": rps, "p50_us": 2000.0, "p99_us": 9000.0, "load": 1.5}


def test_medians_and_per_round_ratios() -> None:
    rounds = {
        "primary-1w": [100.0, 200.0, 400.0],
        "primary-2w": [150.0, 300.0, 600.0],
        "replica-1w": [90.0, 220.0, 200.0],
        "pgbouncer-1w": [50.0, 100.0, 400.0],
    }
    samples = {
        (shape, endpoint): [sample(rps) for rps in figures]
        for shape, figures in rounds.items()
        for endpoint in bench_deploy.ENDPOINTS
    }
    results = bench_deploy.summarise(samples)
    assert results["shapes"]["primary-1w"]["list"]["rps"] == 200.0
    assert results["shapes"]["replica-1w"]["detail"]["p99_ms"] == 9.0
    assert results["ratios"]["2 workers / 1 (list)"] == 1.5
    # Rounds 0.9, 1.1, 0.5: the median ratio, not the ratio of the medians (200 / 200).
    assert results["ratios"]["replica / primary (detail)"] == 0.9
    assert results["ratios"]["PgBouncer / direct (list)"] == 0.5
    arguments = argparse.Namespace(rounds=3, duration=5, threads=1, connections=16)
    report = bench_deploy.format_report(results, arguments)
    assert re.search(r"\nreplica / primary \(detail\) +0\.90x\n", report)
    assert "load average (1 min) during the rounds: 1.50-1.50" in report


def test_each_shape_reads_where_it_says() -> None:
    cluster = Cluster(Path("/bin"), Path("/tmp"), 5001, 5002, as_postgres=False)
    primary = bench_deploy._databases("primary-2w", cluster, 6001)
    assert primary["DATABASE_URL"] == cluster.primary_url
    replica = bench_deploy._databases("replica-1w", cluster, 6001)
    assert replica["READ_REPLICAS"] == ["replica"]
    assert replica["DATABASES"]["replica"]["url"] == cluster.replica_url
    bouncer = bench_deploy._databases("pgbouncer-1w", cluster, 6001)["DATABASES"]["default"]
    assert bouncer["pgbouncer"] is True
    assert ":6001/" in bouncer["url"]
