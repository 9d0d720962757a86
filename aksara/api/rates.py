"""Request rates (``"100/min"``) and the sliding-window counters that enforce them in a cache.

A counter is the sliding-window estimate of Cloudflare's rate limiter: the count of the
current fixed window plus the previous window's count weighted by how much of it still lies
within one period of now. It needs two integers per client, never a list of timestamps, and
it does not let a client send twice the rate across a window boundary as a fixed window does.

On Redis one Lua script reads both windows, decides and counts the request, atomically and in
one round trip, so every worker and machine sharing the Redis shares the count. On the memory
backend the same steps run without a suspension point in between, so they are atomic within
the process, whose counts are its own. Requests that are refused are not counted, as DRF does.

The estimate takes the previous window's requests as spread evenly over it. A client that
spent a small quota early (``"1/hour"`` at 0:10) is therefore refused until that window has
slid out entirely (2:00), up to one period longer than an exact log of timestamps would say.
"""

from __future__ import annotations

import functools
import re
import weakref
from typing import Any, NamedTuple

from aksara.cache.backends.base import Cache
from aksara.exceptions import ConfigurationError

__all__ = ["PERIODS", "Rate", "WindowCount", "count_request", "parse_rate"]

#: The period names a rate may use, in seconds (a trailing "s" is allowed: "5/hours").
PERIODS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+?)s?\s*$")
_FORM = (
    '"<requests>/<period>" with a period of s, sec, second, m, min, minute, h, hour, d or day '
    '(e.g. "100/min", "10/s", "1000/hour", "5000/day")'
)

#: KEYS: the current window's counter, the previous one's. ARGV: the limit, the previous
#: window's weight, the counter's time to live (ms). Returns {allowed, current, previous}.
_SCRIPT = """
local counts = redis.call('MGET', KEYS[1], KEYS[2])
local current = tonumber(counts[1]) or 0
local previous = tonumber(counts[2]) or 0
if previous * tonumber(ARGV[2]) + current + 1 > tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, current, previous}
"""


class Rate(NamedTuple):
    """A parsed rate: ``requests`` allowed per ``period`` seconds."""

    requests: int
    period: int


@functools.lru_cache(maxsize=256)
def parse_rate(text: str) -> Rate:
    """The :class:`Rate` of *text* (``"100/min"``); a ConfigurationError names the valid form."""
    found = _RATE.match(text) if isinstance(text, str) else None
    if found is None or found[2] not in PERIODS or int(found[1]) < 1:
        raise ConfigurationError(f"Bad throttle rate {text!r}: write it as {_FORM}.")
    return Rate(int(found[1]), PERIODS[found[2]])


class WindowCount(NamedTuple):
    """What a counter answered: whether the request was allowed, and how long until the next
    one would be (0.0 when allowed; None when the cache failed and nothing is known)."""

    allowed: bool
    wait: float | None


async def count_request(cache: Cache, key: str, rate: Rate, now: float) -> WindowCount | None:
    """Count one request of *key* against *rate* at time *now* (seconds since the epoch),
    unless it is over the rate. None when the cache failed to answer."""
    period = rate.period
    window, elapsed = divmod(now, period)
    current_key = f"{key}:{int(window)}"
    previous_key = f"{key}:{int(window) - 1}"
    weight = 1.0 - elapsed / period
    # A counter lives on as the next window's previous one, then expires.
    ttl = 2 * period
    client = cache.redis
    if client is not None:
        answer = await cache.run(
            _script(client)(
                keys=[cache.make_key(current_key), cache.make_key(previous_key)],
                args=[rate.requests, repr(weight), ttl * 1000],
                client=client,
            ),
            None,
        )
        if answer is None:
            return None
        allowed, current, previous = answer
    else:
        # The backend's own byte operations under the cache's guard: throttle counters are
        # not the cache's hits and misses, which measure what it serves (and Server-Timing
        # reports per request).
        current_key, previous_key = cache.make_key(current_key), cache.make_key(previous_key)
        found = await cache.run(cache._get_many([current_key, previous_key]), None)
        if found is None:
            return None
        current = int(found[0]) if found[0] else 0
        previous = int(found[1]) if found[1] else 0
        allowed = previous * weight + current + 1 <= rate.requests
        if allowed:
            current += 1
            await cache.run(cache._set(current_key, str(current).encode(), ttl), False)
    if allowed:
        return WindowCount(True, 0.0)
    return WindowCount(False, wait_time(rate, elapsed, current, previous))


def wait_time(rate: Rate, elapsed: float, current: int, previous: int) -> float:
    """Seconds until a request refused *elapsed* seconds into its window (with *current* and
    *previous* windows' counts) would be allowed, if no other request is counted meanwhile."""
    period, limit = rate.period, rate.requests
    if current + 1 <= limit and previous:
        # Within this window, once enough of the previous one has slid out.
        return max(0.0, period * (1.0 - (limit - current - 1) / previous) - elapsed)
    # In the next window, where this window's count is the previous one.
    slide = max(0.0, 1.0 - (limit - 1) / current) if current else 0.0
    return (period - elapsed) + period * slide


_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _script(client: Any) -> Any:
    # One script object per client (its digest is computed once); EVALSHA runs it, loading
    # it first only when the server does not know it yet.
    script = _scripts.get(client)
    if script is None:
        script = _scripts[client] = client.register_script(_SCRIPT)
    return script
