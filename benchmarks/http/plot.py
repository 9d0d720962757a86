"""The PNG of the results: grouped bars of each stack's ratio to the floor per endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]


def plot(results: dict[str, Any], path: Path) -> None:
    """Draw the ratio-to-floor bars of *results* (``harness.summarise``) into *path*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = results["results"]
    endpoints = [name for name, row in table.items() if row]
    stacks: list[str] = []
    for row in table.values():
        stacks += [stack for stack in row if stack not in stacks]
    figure, axes = plt.subplots(figsize=(12, 5))
    width = 0.8 / max(len(stacks), 1)
    for index, stack in enumerate(stacks):
        ratios = [(table[name].get(stack) or {}).get("ratio") or 0 for name in endpoints]
        positions = [
            number + (index - (len(stacks) - 1) / 2) * width for number in range(len(endpoints))
        ]
        axes.bar(positions, ratios, width, label=stack)
    axes.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xticks(range(len(endpoints)), endpoints)
    axes.set_ylabel("requests/s relative to the floor (higher is better)")
    conditions = results["conditions"]
    axes.set_title(
        f"HTTP against the peer stacks: {conditions['rounds']} rounds x "
        f"{conditions['duration_s']:g} s, wrk {conditions['wrk']}, one uvicorn worker"
    )
    axes.legend(ncols=min(len(stacks), 5), fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
