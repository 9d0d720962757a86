"""Throttles on both cache backends (memory and a real Redis): rates, sliding windows rolling
over on a hand-moved clock, anonymous, per-user and scoped counts, the 429 with
``Retry-After``, one Redis counter shared by two processes, and Redis down (fail open)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request

import aksara
from aksara.api import AnonRateThrottle, Router, Throttled, ViewSet
from aksara.api.rates import Rate, count_request, parse_rate, wait_time
from aksara.api.throttling import request_user
from aksara.cache import Cache, caches
from aksara.exceptions import ConfigurationError
from tests.api import throttle_app
from tests.api.throttle_app import AnonThrottle, Reads, build_app, client, clock
from tests.cache.conftest import require_redis, unique_prefix

ROOT = pathlib.Path(__file__).resolve().parents[2]
WINDOW_START = 7_200.0  # the start of a second, a minute and an hour


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """The default cache on each backend, with a key prefix of the test's own."""
    config: dict[str, Any] = {"backend": request.param, "key_prefix": unique_prefix()}
    if request.param == "redis":
        config.update(url=await require_redis(), timeout_ms=2000)
    aksara.configure(CACHE={"default": config})
    cache = caches["default"]
    await cache.open()
    clock.now = WINDOW_START
    yield cache
    await cache.clear()
    await caches.close_all()


@pytest.fixture
async def app() -> Any:
    return build_app()


# --- rates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("100/min", Rate(100, 60)),
        ("10/s", Rate(10, 1)),
        ("1000/hour", Rate(1000, 3600)),
        ("5000/day", Rate(5000, 86400)),
        (" 3 / minutes ", Rate(3, 60)),
        ("7/sec", Rate(7, 1)),
        ("2/h", Rate(2, 3600)),
        ("1/d", Rate(1, 86400)),
    ],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["100", "100/fortnight", "0/min", "-1/s", "ten/min", "/min"])
def test_a_bad_rate_names_the_form(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r'"<requests>/<period>".*"100/min"'):
        parse_rate(text)


def test_the_settings_check_rates_and_throttles() -> None:
    with pytest.raises(ConfigurationError, match=r"THROTTLE_RATES\['anon'\].*<requests>"):
        aksara.configure(THROTTLE_RATES={"anon": "100 per minute"})
    with pytest.raises(ConfigurationError, match="THROTTLES must be a list"):
        aksara.configure(THROTTLES="aksara.api.throttling.AnonRateThrottle")
    with pytest.raises(ConfigurationError, match="THROTTLE_CACHE"):
        aksara.configure(THROTTLE_CACHE="")
    with pytest.raises(ConfigurationError, match="NUM_PROXIES"):
        aksara.configure(NUM_PROXIES=-1)
    aksara.configure(THROTTLE_RATES={"anon": "100/min", "user": None}, NUM_PROXIES=2)
    assert aksara.settings.THROTTLE_RATES == {"anon": "100/min", "user": None}


def test_a_scope_without_a_rate_is_a_configuration_error() -> None:
    aksara.configure(THROTTLE_RATES={"user": "5/min"})
    with pytest.raises(ConfigurationError, match=r"scope 'anon'.*Scopes with a rate: user"):
        AnonRateThrottle().get_rate()


def test_the_user_is_read_from_the_scope_or_the_state() -> None:
    user = throttle_app.User(5)
    assert request_user(Request({"type": "http", "user": user})) is user
    assert request_user(Request({"type": "http", "state": {"user": user}})) is user
    assert request_user(Request({"type": "http"})) is None


def test_wait_times_follow_the_sliding_window() -> None:
    rate = Rate(10, 60)
    # Full in this window and none before: the next window, which counts this one fully
    # at its start, allows one more once 1/10 of the period has slid out.
    assert wait_time(rate, 15.0, 10, 0) == pytest.approx(45.0 + 6.0)
    # Room in this window once the previous one weighs less: 4 + 6 * w + 1 <= 10 at w = 5/6.
    assert wait_time(rate, 0.0, 4, 6) == pytest.approx(10.0)


def test_throttled_says_when_to_come_back() -> None:
    error = Throttled(41.2)
    assert (error.status_code, error.wait) == (429, 42)
    assert error.detail == "Request was throttled. Expected available in 42 seconds."
    assert error.headers == {"Retry-After": "42"}
    assert Throttled(0.3).detail == "Request was throttled. Expected available in 1 second."
    unknown = Throttled()
    assert (unknown.detail, unknown.headers) == ("Request was throttled.", {})


# --- counters on both backends -----------------------------------------------------------------


async def test_a_window_allows_the_rate_then_refuses(backend: Cache) -> None:
    rate = Rate(3, 60)
    answers = [await count_request(backend, "k", rate, WINDOW_START + 10) for _ in range(5)]
    assert [answer.allowed for answer in answers if answer] == [True, True, True, False, False]
    refused = answers[3]
    assert refused is not None and refused.wait == pytest.approx(50.0 + 60 * (1 - 2 / 3))
    # Refusals are not counted: the stored count is the rate.
    window = int(WINDOW_START // 60)
    assert await backend.get(f"k:{window}") == 3


async def test_windows_roll_over(backend: Cache) -> None:
    rate = Rate(4, 60)
    now = WINDOW_START
    for _ in range(4):
        assert (await count_request(backend, "k", rate, now)).allowed  # type: ignore[union-attr]
    assert not (await count_request(backend, "k", rate, now + 59)).allowed  # type: ignore[union-attr]
    # Half way through the next window the previous one weighs 4 * 0.5 = 2: two more fit.
    later = now + 90
    allowed = [(await count_request(backend, "k", rate, later)).allowed for _ in range(3)]  # type: ignore[union-attr]
    assert allowed == [True, True, False]
    # Two windows on, the window of the four has slid out; the last one weighs 2 * 0.75.
    last = now + 135
    allowed = [(await count_request(backend, "k", rate, last)).allowed for _ in range(4)]  # type: ignore[union-attr]
    assert allowed == [True, True, False, False]
    # Keys of other clients are counted apart.
    assert (await count_request(backend, "other", rate, last)).allowed  # type: ignore[union-attr]


# --- over HTTP -------------------------------------------------------------------------------


async def test_anonymous_reads_get_a_429_with_retry_after(backend: Cache, app: Any) -> None:
    aksara.configure(THROTTLE_RATES={"anon": "3/min"})
    clock.now = WINDOW_START + 20
    async with client(app) as http:
        statuses = [(await http.get("/api/reads/")).status_code for _ in range(3)]
        refused = await http.get("/api/reads/1/")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    # The next window counts the three at weight 1 - t/60: 3 * (1 - t/60) + 1 <= 3 at t = 20.
    assert refused.json() == {"detail": "Request was throttled. Expected available in 60 seconds."}
    assert refused.headers["retry-after"] == "60"
    # Another address has a count of its own; the first one comes back in time.
    async with client(app, "10.0.0.2") as other:
        assert (await other.get("/api/reads/")).status_code == 200
    clock.advance(60)
    async with client(app) as http:
        assert (await http.get("/api/reads/")).status_code == 200


async def test_num_proxies_reads_the_client_from_x_forwarded_for(backend: Cache, app: Any) -> None:
    aksara.configure(THROTTLE_RATES={"anon": "1/min"}, NUM_PROXIES=1)

    async def status(forwarded: str) -> int:
        async with client(app, "192.168.0.1") as http:
            headers = {"X-Forwarded-For": forwarded}
            return (await http.get("/api/reads/", headers=headers)).status_code

    # The proxy appends the address it saw; whatever the client put before it is ignored.
    assert await status("1.1.1.1, 203.0.113.5") == 200
    assert await status("9.9.9.9, 203.0.113.5") == 429
    assert await status("203.0.113.6") == 200
    # Without NUM_PROXIES the header is not trusted: the socket's peer is the client.
    aksara.configure(NUM_PROXIES=0)
    assert await status("203.0.113.7") == 200
    assert await status("203.0.113.8") == 429


async def test_users_are_counted_by_key_and_anonymous_reads_by_address(
    backend: Cache, app: Any
) -> None:
    aksara.configure(THROTTLE_RATES={"anon": "2/min", "user": "3/min"})
    async with client(app) as http:

        async def get(path: str, user: int | None = None) -> int:
            headers = {"X-User": str(user)} if user is not None else {}
            return (await http.get(path, headers=headers)).status_code

        # AnonRateThrottle leaves authenticated users alone.
        assert [await get("/api/reads/", user=7) for _ in range(4)] == [200] * 4
        # UserRateThrottle: per user, whatever the address, and anonymous by address.
        assert [await get("/api/accounts/", user=7) for _ in range(4)] == [200] * 3 + [429]
        assert await get("/api/accounts/", user=8) == 200
        assert [await get("/api/accounts/") for _ in range(4)] == [200] * 3 + [429]
    async with client(app, "10.0.0.9") as http:
        response = await http.get("/api/accounts/", headers={"X-User": "7"})
        assert response.status_code == 429


async def test_scoped_rates_count_each_scope_apart(backend: Cache, app: Any) -> None:
    aksara.configure(THROTTLE_RATES={"uploads": "2/min", "searches": "3/min"})
    async with client(app) as http:
        uploads = [(await http.get("/api/uploads/")).status_code for _ in range(3)]
        searches = [(await http.get("/api/searches/")).status_code for _ in range(4)]
        unscoped = [(await http.get("/api/unscoped/")).status_code for _ in range(5)]
        user_uploads = await http.get("/api/uploads/", headers={"X-User": "3"})
    assert uploads == [200, 200, 429]
    assert searches == [200, 200, 200, 429]
    assert unscoped == [200] * 5
    assert user_uploads.status_code == 200


async def test_every_throttle_counts_and_the_longest_wait_is_given(
    backend: Cache, app: Any
) -> None:
    aksara.configure(THROTTLE_RATES={"anon": "1/min", "user": "1/hour"})
    clock.now = WINDOW_START + 30 * 60
    async with client(app) as http:
        assert (await http.get("/api/both/")).status_code == 200
        refused = await http.get("/api/both/")
    assert refused.status_code == 429
    # anon: 2 minutes (the next minute's start counts this one's request fully); user: the
    # rest of this hour and all the next, for the same reason: the longer wait is given.
    assert refused.headers["retry-after"] == str(30 * 60 + 3600)


async def test_the_throttles_setting_applies_to_viewsets_without_their_own(
    backend: Cache, app: Any
) -> None:
    async with client(app) as http:
        assert [(await http.get("/api/free/")).status_code for _ in range(3)] == [200] * 3
        aksara.configure(
            THROTTLES=["tests.api.throttle_app.AnonThrottle"], THROTTLE_RATES={"anon": "1/min"}
        )
        assert [(await http.get("/api/free/")).status_code for _ in range(2)] == [200, 429]
        aksara.configure(THROTTLES=["tests.api.throttle_app.Missing"])
        assert (await http.get("/api/free/")).status_code == 500
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        throttle_app.Free.resolve_throttle_classes()


async def test_throttles_can_vary_by_action(backend: Cache) -> None:
    aksara.configure(THROTTLE_RATES={"anon": "1/min"})

    class PerAction(ViewSet):
        def get_throttles(self) -> list[Any]:
            return [AnonThrottle()] if self.action == "retrieve" else []

        def list(self, request: Request) -> dict[str, bool]:
            return {"ok": True}

        def retrieve(self, request: Request, pk: str) -> dict[str, bool]:
            return {"ok": True}

    router = Router()
    router.register("things", PerAction, basename="things")
    app = aksara.Aksara()
    app.include_router(router)
    async with client(app) as http:
        assert [(await http.get("/api/things/")).status_code for _ in range(3)] == [200] * 3
        assert [(await http.get("/api/things/1/")).status_code for _ in range(2)] == [200, 429]


async def test_a_viewset_without_throttles_never_checks_them() -> None:
    calls: list[str] = []

    class Unthrottled(ViewSet):
        def list(self, request: Request) -> dict[str, bool]:
            return {"ok": True}

    async def spy(self: ViewSet, request: Request) -> None:
        calls.append("checked")

    router = Router()
    router.register("plain", Unthrottled, basename="plain")
    plain = aksara.Aksara()
    plain.include_router(router)
    Unthrottled.check_throttles = spy  # type: ignore[method-assign]
    async with client(plain) as http:
        assert (await http.get("/api/plain/")).status_code == 200
    assert calls == []
    assert Unthrottled.resolve_throttle_classes() == ()
    # Reads is throttled: the same check runs.
    assert Reads.resolve_throttle_classes() == (AnonThrottle,)


# --- processes and outages -----------------------------------------------------------------------


async def test_two_processes_share_one_redis_counter() -> None:
    url = await require_redis()
    prefix = unique_prefix()
    now = WINDOW_START + 5
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.api.throttle_app",
        url,
        prefix,
        "25",
        str(now),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        mine = await throttle_app.main(url, prefix, 25, now)
        async with asyncio.timeout(60):
            out, err = await other.communicate()
    finally:
        if other.returncode is None:
            other.kill()
            await other.wait()
        await caches["default"].clear()
        await caches.close_all()
    assert other.returncode == 0, err.decode()
    theirs = json.loads(out)
    # 50 requests from one address at 30/min, split between two processes: 30 allowed.
    assert mine["allowed"] + theirs["allowed"] == 30, (mine, theirs)
    assert mine["refused"] + theirs["refused"] == 20
    assert theirs["allowed"] > 0 and mine["allowed"] > 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class StrictThrottle(AnonThrottle):
    fail_open = False


async def test_redis_down_fails_open_unless_the_throttle_says_otherwise(app: Any) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    aksara.configure(
        CACHE={"default": {"backend": "redis", "url": url, "key_prefix": unique_prefix()}},
        THROTTLE_RATES={"anon": "1/min"},
    )
    try:
        async with client(app) as http:
            statuses = [(await http.get("/api/reads/")).status_code for _ in range(3)]
        cache = caches["default"]
        assert statuses == [200, 200, 200]
        assert cache.errors >= 3
        Reads.throttle_classes = [StrictThrottle]
        async with client(app) as http:
            refused = await http.get("/api/reads/")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
    finally:
        Reads.throttle_classes = [AnonThrottle]
        await caches.close_all()


async def test_the_memory_backend_counts_in_the_throttle_cache(app: Any) -> None:
    aksara.configure(
        CACHE={"default": {"backend": "memory"}, "throttles": {"backend": "memory"}},
        THROTTLE_CACHE="throttles",
        THROTTLE_RATES={"anon": "2/min"},
    )
    clock.now = WINDOW_START
    async with client(app) as http:
        assert [(await http.get("/api/reads/")).status_code for _ in range(3)] == [200, 200, 429]
    key = f"throttle:anon:10.0.0.1:{int(WINDOW_START // 60)}"
    assert await caches["throttles"].get(key) == 2
    assert await caches["default"].get(key) is None
