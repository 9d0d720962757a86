"""What token authentication and a permission check cost per request on the detail endpoint.

    python -m benchmarks.bench_auth                 # about 30 seconds
    python -m benchmarks.bench_auth --rounds 15 --json results.json

The blog example is seeded into a SQLite file (100 users, 1,000 posts). ``GET
/api/posts/{slug}/`` (the post, its author's name, its comment count and tags: two
queries) is called in-process on the ASGI app, no HTTP server, in interleaved rounds of
sequential requests (the order rotating, ``gc.collect()`` first), five ways:

- ``open``: the example's ``PostViewSet`` with no authentication and ``AllowAny`` (the
  router skips access checks entirely);
- ``token``: ``TokenAuthentication`` and ``IsAuthenticated``, an ``Authorization: Bearer``
  access token (HS256) whose verified claims the codec remembers;
- ``token, no memo``: the same with the remembered claims cleared before every request (a
  client sending each token once: a full PyJWT verification each time);
- ``stateless token``: ``StatelessTokenAuthentication`` (the user made from the token's
  claims, no query) and ``IsAuthenticated``;
- ``example``: the example's own ``PostViewSet`` (token and session authentication,
  ``IsAuthenticatedOrReadOnly`` and the ``IsAuthorOrReadOnly`` object permission).

The same checks on an endpoint that runs no query (``no query: open`` against ``no query:
stateless token``) give their cost apart from the database's noise.

The pieces are timed on their own too: PyJWT's HS256 decode, the codec's remembered-claims
hit, loading the user by key (one query), and an argon2 check at the default parameters
(paid only at login). Medians in µs per request: CPU time of the process (every thread: the
figure to read on a shared machine) and wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
from starlette.requests import Request

import aksara
from aksara import Aksara
from aksara.api import (
    AllowAny,
    IsAuthenticated,
    Response,
    Router,
    StatelessTokenAuthentication,
    TokenAuthentication,
    ViewSet,
)
from aksara.api.tokens import issue_tokens
from aksara.auth import check_password, make_password
from aksara.auth.models import load_user
from aksara.auth.tokens import ACCESS, get_token_codec
from aksara.conf import PASSWORD_HASHER_DEFAULTS
from benchmarks import asgi
from examples.blog.models import User
from examples.blog.seed import GUIDE_SLUG, seed_api
from examples.blog.viewsets import PostViewSet

Side = Callable[[], Awaitable[Any]]
SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"


class OpenPostViewSet(PostViewSet):
    authentication_classes = ()
    permission_classes = (AllowAny,)


class TokenPostViewSet(PostViewSet):
    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)


class StatelessPostViewSet(PostViewSet):
    authentication_classes = (StatelessTokenAuthentication,)
    permission_classes = (IsAuthenticated,)


class Ping(ViewSet):
    """No database: what the access checks cost, apart from any query."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    async def retrieve(self, request: Request, pk: str) -> Response:
        return Response({"id": pk})


class StatelessPing(Ping):
    authentication_classes = (StatelessTokenAuthentication,)
    permission_classes = (IsAuthenticated,)


def build_app() -> Aksara:
    router = Router(prefix="/api")
    router.register("open", OpenPostViewSet, basename="open")
    router.register("token", TokenPostViewSet, basename="token")
    router.register("stateless", StatelessPostViewSet, basename="stateless")
    router.register("ping", Ping, basename="ping")
    router.register("stateless-ping", StatelessPing, basename="stateless-ping")
    router.register("posts", PostViewSet, basename="posts")
    app = Aksara()
    app.include_router(router)
    return app


async def timed(side: Side, calls: int) -> tuple[float, float]:
    """Seconds of CPU (this process, every thread) and of wall clock per call of *side*
    over *calls* sequential awaits."""
    gc.collect()
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(calls):
        await side()
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


async def interleave(
    sides: dict[str, Side], calls: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    names = list(sides)
    for name in names:
        await timed(sides[name], max(1, calls // 10))  # warm-up
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(await timed(sides[name], calls))
    return samples


async def request_sides(app: Aksara, user: Any) -> dict[str, Side]:
    token = issue_tokens(user)["access"]
    auth = [(b"authorization", f"Bearer {token}".encode())]
    codec = get_token_codec()

    async def check(path: str, headers: list[tuple[bytes, bytes]]) -> None:
        status = await asgi.get(app, path, headers)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}, not 200")

    async def open_side() -> None:
        await asgi.get(app, f"/api/open/{GUIDE_SLUG}/", [])

    async def token_side() -> None:
        await asgi.get(app, f"/api/token/{GUIDE_SLUG}/", auth)

    async def token_unmemoized() -> None:
        codec._verified.clear()
        await asgi.get(app, f"/api/token/{GUIDE_SLUG}/", auth)

    async def stateless_side() -> None:
        await asgi.get(app, f"/api/stateless/{GUIDE_SLUG}/", auth)

    async def example_side() -> None:
        await asgi.get(app, f"/api/posts/{GUIDE_SLUG}/", auth)

    await check(f"/api/open/{GUIDE_SLUG}/", [])
    await check(f"/api/token/{GUIDE_SLUG}/", auth)
    await check(f"/api/posts/{GUIDE_SLUG}/", auth)
    await check(f"/api/stateless/{GUIDE_SLUG}/", auth)
    await check("/api/stateless-ping/1/", auth)
    if await asgi.get(app, f"/api/token/{GUIDE_SLUG}/", []) != 401:
        raise SystemExit("the token side let an anonymous request through")
    return {
        "open": open_side,
        "token": token_side,
        "token, no memo": token_unmemoized,
        "stateless token": stateless_side,
        "example": example_side,
    }


async def ping_sides(app: Aksara, user: Any) -> dict[str, Side]:
    auth = [(b"authorization", f"Bearer {issue_tokens(user)['access']}".encode())]

    async def open_ping() -> None:
        await asgi.get(app, "/api/ping/1/", [])

    async def stateless_ping() -> None:
        await asgi.get(app, "/api/stateless-ping/1/", auth)

    return {"no query: open": open_ping, "no query: stateless token": stateless_ping}


def piece_sides(user: Any) -> dict[str, Side]:
    codec = get_token_codec()
    token = issue_tokens(user)["access"]
    key = codec.verifying_key

    async def pyjwt_decode() -> None:
        jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "sub"]})

    async def memo_hit() -> None:
        codec.decode(token, ACCESS)

    async def user_load() -> None:
        await load_user(str(user.pk))

    return {
        "PyJWT HS256 decode": pyjwt_decode,
        "remembered claims": memo_hit,
        "load user": user_load,
    }


def argon2_ms(rounds: int) -> float:
    aksara.configure(PASSWORD_HASHER=dict(PASSWORD_HASHER_DEFAULTS))
    encoded = make_password("correct horse battery staple")
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        check_password("correct horse battery staple", encoded)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def measure(arguments: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = arguments.database_url or f"sqlite:///{workdir / 'auth.sqlite3'}"
    aksara.configure(
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        SLOW_QUERY_MS=None,
        PASSWORD_HASHER={"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )
    async with aksara.connect(url):
        await aksara.drop_tables()
        await aksara.create_tables()
        await seed_api(users=100, posts=1_000, comments=2_000)
        user = await User.objects.get(pk=1)
        app = build_app()
        requests = await interleave(
            await request_sides(app, user), arguments.requests, arguments.rounds
        )
        pieces = await interleave(piece_sides(user), arguments.requests, arguments.rounds)
        pings = await interleave(await ping_sides(app, user), arguments.requests, arguments.rounds)
    return {
        "database": url.split(":", 1)[0],
        "requests": {name: medians(v) for name, v in requests.items()},
        "pieces": {name: medians(v) for name, v in pieces.items()},
        "pings": {name: medians(v) for name, v in pings.items()},
        "argon2_check_ms": argon2_ms(5),
        "rounds": arguments.rounds,
        "per_round": arguments.requests,
    }


def medians(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Median CPU and wall µs of *samples*."""
    return {
        "cpu": statistics.median(cpu for cpu, _ in samples) * 1e6,
        "wall": statistics.median(wall for _, wall in samples) * 1e6,
    }


def report(results: dict[str, Any]) -> str:
    requests = results["requests"]
    base = requests["open"]
    lines = [
        f"GET /api/posts/{{slug}}/ in-process on {results['database']}, median of "
        f"{results['rounds']} rounds of {results['per_round']} requests:",
        "",
        "| side | CPU µs / request | over open | share of the request | wall µs / request |",
        "|---|---|---|---|---|",
    ]
    for name, value in requests.items():
        extra = value["cpu"] - base["cpu"]
        share = extra / value["cpu"] * 100 if name != "open" else 0.0
        lines.append(
            f"| {name} | {value['cpu']:.1f} | {extra:+.1f} | {share:.1f}% | {value['wall']:.1f} |"
        )
    lines += ["", "| piece | CPU µs | wall µs |", "|---|---|---|"]
    lines += [
        f"| {name} | {value['cpu']:.2f} | {value['wall']:.2f} |"
        for name, value in {**results["pings"], **results["pieces"]}.items()
    ]
    lines.append(
        f"| argon2 check at the default parameters (login only) | | "
        f"{results['argon2_check_ms']:.1f} ms |"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=500, help="per side per round")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a new SQLite file; a database of its own: its tables are made anew",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        results = asyncio.run(measure(arguments, Path(directory)))
    print(report(results))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
