"""gzip against brotli on the blog example's list page JSON: bytes and µs per response.

    python -m benchmarks.bench_compression [--posts 1000] [--repeat 7] [--number 300]

The example API is seeded on a temporary SQLite file (``seed_api``), the list page
``/api/posts/?page=3`` (20 posts) and a 100-post page are fetched once through ASGI without
compression, and each body is compressed as CompressionMiddleware does (gzip framing through
zlib, brotli's streaming compressor) at each level. Figures are the median of *repeat* runs
of *number* compressions each, in alternating order; then the list page through the app
(in-process ASGI, 200 requests per run) with COMPRESSION off, serving gzip, serving brotli.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import httpx

import aksara
from aksara import Aksara
from examples.blog.app import router
from examples.blog.seed import seed_api

PAGES = {
    "list page (20 posts)": "/api/posts/?page=3",
    "100 posts": "/api/posts/?page_size=100",
}


def gzip_at(level: int) -> Callable[[bytes], bytes]:
    def run(body: bytes) -> bytes:
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        return compressor.compress(body) + compressor.flush()

    return run


def brotli_at(quality: int) -> Callable[[bytes], bytes]:
    def run(body: bytes) -> bytes:
        compressor = brotli.Compressor(quality=quality)
        result: bytes = compressor.process(body) + compressor.finish()
        return result

    return run


CODECS: dict[str, Callable[[bytes], bytes]] = {
    "gzip 1": gzip_at(1),
    "gzip 6": gzip_at(6),
    "gzip 9": gzip_at(9),
    "brotli 4": brotli_at(4),
    "brotli 6": brotli_at(6),
    "brotli 11": brotli_at(11),
}


def build_app(compression: dict[str, Any] | None) -> Aksara:
    """The example's API with the COMPRESSION setting *compression*."""
    aksara.configure(COMPRESSION=compression)
    app = Aksara()
    app.include_router(router)
    return app


async def time_requests(
    apps: dict[str, tuple[Aksara, str]], path: str, repeat: int, number: int
) -> dict[str, float]:
    """Median µs per in-process ASGI request of *path* for each (app, Accept-Encoding)."""
    samples: dict[str, list[float]] = {name: [] for name in apps}
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        for name, (app, _) in apps.items()
    }
    try:
        for _ in range(repeat):
            for name, (_, accept) in apps.items():
                client, headers = clients[name], {"Accept-Encoding": accept}
                started = time.perf_counter()
                for _ in range(number):
                    # The raw body: httpx's own decoding is the client's cost, not the server's.
                    request = client.build_request("GET", path, headers=headers)
                    response = await client.send(request, stream=True)
                    async for _chunk in response.aiter_raw():
                        pass
                    await response.aclose()
                samples[name].append((time.perf_counter() - started) / number * 1e6)
    finally:
        for client in clients.values():
            await client.aclose()
    return {name: statistics.median(values) for name, values in samples.items()}


async def fetch(posts: int, repeat: int) -> tuple[dict[str, bytes], dict[str, float]]:
    """The uncompressed JSON of each page from a freshly seeded SQLite blog, and the list
    page's µs per request through the app without compression, with gzip and with brotli."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'blog.sqlite3'}"
        aksara.configure(DATABASE_URL=url)
        async with aksara.connect(url):
            await aksara.create_tables()
            await seed_api(posts=posts)
            plain = build_app(None)
            compressed = build_app({"minimum_size": 500, "level": 6, "brotli": True})
            bodies = {}
            transport = httpx.ASGITransport(app=plain)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for label, path in PAGES.items():
                    response = await client.get(path, headers={"Accept-Encoding": "identity"})
                    response.raise_for_status()
                    bodies[label] = response.content
            apps = {
                "COMPRESSION off": (plain, "gzip, br"),
                "on, identity": (compressed, "identity"),
                "on, gzip 6": (compressed, "gzip"),
                "on, brotli 6": (compressed, "gzip, br"),
            }
            timings = await time_requests(apps, PAGES["list page (20 posts)"], repeat, 200)
    return bodies, timings


def measure(body: bytes, repeat: int, number: int) -> dict[str, list[float]]:
    """µs per compression of *body* for every codec, *repeat* samples each."""
    samples: dict[str, list[float]] = {name: [] for name in CODECS}
    for _ in range(repeat):
        for name, run in CODECS.items():
            started = time.perf_counter()
            for _ in range(number):
                run(body)
            samples[name].append((time.perf_counter() - started) / number * 1e6)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=300)
    arguments = parser.parse_args()
    bodies, timings = asyncio.run(fetch(arguments.posts, arguments.repeat))
    print("GET /api/posts/?page=3 in-process (ASGI), µs per request:")
    for name, value in timings.items():
        print(f"  {name:<16} {value:8.1f}")
    for label, body in bodies.items():
        print(f"\n{label}: {len(body):,} bytes of JSON")
        print(f"{'codec':<10} {'bytes':>8} {'ratio':>6} {'µs':>8}")
        samples = measure(body, arguments.repeat, arguments.number)
        for name, run in CODECS.items():
            size = len(run(body))
            decoded = (
                zlib.decompress(run(body), 47) if "gzip" in name else brotli.decompress(run(body))
            )
            assert decoded == body, name
            median = statistics.median(samples[name])
            print(f"{name:<10} {size:>8,} {len(body) / size:>6.2f} {median:>8.1f}")


if __name__ == "__main__":
    main()
