"""The HTTP benchmark against the peer stacks: ``python -m benchmarks.http``.

Five stacks (``benchmarks/http/stacks/``) serve the same endpoints on the same PostgreSQL
data (``benchmarks/http/schema.py``) under uvicorn, loaded by ``wrk`` in alternating rounds.
"""
