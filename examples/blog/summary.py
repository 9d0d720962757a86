"""The short summary of a locust run: per endpoint and in total, requests, failures,
requests/s and the p50 / p95 / p99 latencies (ms).

It reads the final statistics locust saves with ``--json-file`` (its CSV files are
snapshots written every second, so they miss the end of the run).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PERCENTILES", "Summary", "percentile", "summarize"]

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class Summary:
    """The run's totals, the summary as text, and as JSON (one object per endpoint)."""

    requests: int
    failures: int
    text: str
    json: str


def percentile(times: Counter[int], fraction: float) -> int:
    """The response time (ms) *fraction* of the requests took at most, from locust's
    histogram of rounded times."""
    total = sum(times.values())
    seen = 0
    for time in sorted(times):
        seen += times[time]
        if seen >= total * fraction:
            return time
    return 0


def _span(entries: list[dict[str, Any]]) -> float:
    """Seconds from the first request of *entries* to the last."""
    start = min(entry["start_time"] for entry in entries)
    return max((entry["last_request_timestamp"] or start) for entry in entries) - start


def _row(name: str, entries: list[dict[str, Any]], span: float) -> dict[str, Any]:
    times: Counter[int] = Counter()
    for entry in entries:
        times.update({int(key): count for key, count in entry["response_times"].items()})
    requests = sum(entry["num_requests"] for entry in entries)
    row = {
        "name": name,
        "requests": requests,
        "failures": sum(entry["num_failures"] for entry in entries),
        # Over the whole run, so that the endpoints' rates add up to the total.
        "rps": requests / span if span > 0 else 0.0,
    }
    row.update({key: percentile(times, fraction) for key, fraction in PERCENTILES.items()})
    return row


def summarize(stats: Path, *, base: str, seconds: int) -> Summary:
    """The summary of locust's ``--json-file`` output *stats* (a run of *seconds* against
    *base*); a missing file is a run that made no request."""
    entries: list[dict[str, Any]] = json.loads(stats.read_text()) if stats.exists() else []
    span = _span(entries) if entries else 0.0
    rows = [_row(f"{entry['method']} {entry['name']}", [entry], span) for entry in entries]
    total = _row("Total", entries, span) if entries else None
    requests = total["requests"] if total else 0
    failures = total["failures"] if total else 0
    shown = [*rows, total] if total else rows
    width = max((len(row["name"]) for row in shown), default=8)
    lines = [
        f"Load test of {base} for {seconds} s: {requests} requests, {failures} failures.",
        f"{'endpoint':<{width}}  {'requests':>8}  {'failures':>8}  {'req/s':>8}  "
        f"{'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}",
    ]
    for row in shown:
        lines.append(
            f"{row['name']:<{width}}  {row['requests']:>8}  {row['failures']:>8}  "
            f"{row['rps']:>8.1f}  {row['p50']:>7}  {row['p95']:>7}  {row['p99']:>7}"
        )
    document = {"base": base, "seconds": seconds, "endpoints": rows, "total": total}
    return Summary(requests, failures, "\n".join(lines), json.dumps(document, indent=2) + "\n")
