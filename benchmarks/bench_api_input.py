"""Request validation of a 6-field body, valid and invalid: µs per validation.

    python -m benchmarks.bench_api_input [--rounds 15] [--calls 20000]

Sides, run in interleaved rounds (each round runs every side once, in turn, for ``--calls``
validations; the figure is the median over rounds, the minimum beside it):

- ``is_valid, valid``: ``PostInput(data=body)`` then ``await serializer.is_valid()`` on a raw
  JSON body, what a viewset runs for POST (the serializer instance included);
- ``run, valid``: the compiled validation alone (``compile_input(...).run(body)``: decoding
  into the Struct and the generated code);
- ``is_valid, invalid`` / ``run, invalid``: a body with all six fields wrong (six messages:
  the fast path fails and the checking path collects every error);
- ``msgspec decode``: the plan's ``Decoder(TypedDict).decode(body)`` alone, the floor;
- ``serializer init``: ``PostInput(data=body)`` alone (the instance, no validation).

The serializer has no unique or foreign-key field, so nothing touches a database. Times are
the process's CPU time (``time.process_time``), so that other processes on a shared machine
do not count. Targets (issue 9): valid ≤ 2 µs, invalid ≤ 10 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Callable
from time import process_time

from aksara.api import serializers
from aksara.api.serializers.input import compile_input

__all__ = ["PostInput", "main", "measure"]

TARGETS = {"is_valid, valid": 2.0, "is_valid, invalid": 10.0}


class PostInput(serializers.Serializer):
    """Six writable fields of the spec's Post."""

    title = serializers.String(max_length=200)
    slug = serializers.String(max_length=200)
    content = serializers.String(allow_blank=True, required=False)
    is_published = serializers.Boolean(required=False)
    view_count = serializers.Integer(min_value=0, required=False)
    published_at = serializers.DateTime(required=False, allow_null=True)


VALID = (
    b'{"title": "Serializers compile", "slug": "serializers-compile", "content": "Once per '
    b'class, not per request.", "is_published": true, "view_count": 12, "published_at": '
    b'"2026-11-29T12:00:00Z"}'
)
INVALID = (
    b'{"title": "", "slug": null, "content": ["x"], "is_published": "perhaps", '
    b'"view_count": -1, "published_at": "yesterday"}'
)


def _timer(run: Callable[[], object], calls: int) -> Callable[[], float]:
    def timed() -> float:
        start = process_time()
        for _ in range(calls):
            run()
        return (process_time() - start) / calls * 1e6

    return timed


def _instance_timer(body: bytes, calls: int) -> Callable[[], float]:
    async def loop() -> float:
        start = process_time()
        for _ in range(calls):
            await PostInput(data=body).is_valid()
        return (process_time() - start) / calls * 1e6

    return lambda: asyncio.run(loop())


def measure(rounds: int, calls: int) -> dict[str, list[float]]:
    """µs per validation of each side, one figure per round."""
    plan = compile_input(PostInput, partial=False)
    assert plan.run(VALID)[1] == {}
    assert len(plan.run(INVALID)[1]) == 6
    sides = {
        "is_valid, valid": _instance_timer(VALID, calls),
        "run, valid": _timer(lambda: plan.run(VALID), calls),
        "is_valid, invalid": _instance_timer(INVALID, calls),
        "run, invalid": _timer(lambda: plan.run(INVALID), calls),
        "msgspec decode": _timer(lambda: plan.decoder.decode(VALID), calls),
        "serializer init": _timer(lambda: PostInput(data=VALID), calls),
    }
    for side in sides.values():  # warm-up
        side()
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            results[name].append(side())
    return results


def main(argv: list[str] | None = None) -> None:
    """Run the rounds and print a table (median, min, target)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20_000)
    options = parser.parse_args(argv)
    results = measure(options.rounds, options.calls)
    print(f"{'side':<20} {'median µs':>10} {'min µs':>8}  target")
    for name, figures in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f"≤ {target:g} µs " + (
                "met" if statistics.median(figures) <= target else "MISSED"
            )
        print(f"{name:<20} {statistics.median(figures):>10.2f} {min(figures):>8.2f}  {verdict}")


if __name__ == "__main__":
    main()
