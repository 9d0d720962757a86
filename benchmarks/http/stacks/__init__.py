"""The stacks of the peer HTTP benchmark: each module (or package) exposes an ASGI app
factory ``app()`` for ``uvicorn --factory benchmarks.http.stacks.<stack>:app``."""
