"""Benchmarks of the Aksara ORM against the raw drivers (asyncpg, aiosqlite).

Run ``python -m benchmarks.bench_orm`` from the repository root; see BENCHMARKS.md.
"""
