"""Token-bucket rate limits: per API key, and per client address for the website widget.

A bucket holds up to `per_minute` tokens and refills at `per_minute / 60` tokens a second; each
request takes one. An empty bucket answers how long until the next token (Retry-After).

Backends: in-process (the default; one set of buckets per process — with N workers a client
gets up to N times the limit) or Redis when REDIS_URL is set (one atomic Lua script per request;
every worker shares the buckets). If Redis fails, the limiter logs it and uses the in-process
buckets for 30 s before trying Redis again, rather than refusing, erroring or waiting on it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("crystal_bay.ratelimit")

MAX_MEMORY_BUCKETS = 50_000
REDIS_RETRY_S = 30  # after a Redis failure, how long to use the in-process buckets


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int  # whole seconds until a token is available (0 when allowed)


def _take(tokens: float, last: float, now: float, rate: float, capacity: float) -> tuple[float, Decision]:
    """One token from a bucket that had `tokens` at time `last`; the new level and the decision."""
    tokens = min(capacity, tokens + max(0.0, now - last) * rate)
    if tokens >= 1:
        return tokens - 1, Decision(True, 0)
    return tokens, Decision(False, max(1, math.ceil((1 - tokens) / rate)))


class MemoryLimiter:
    """Buckets in this process, behind one lock; idle buckets are dropped when there are too many."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str, per_minute: int) -> Decision:
        rate, capacity = per_minute / 60.0, float(per_minute)
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens, decision = _take(tokens, last, now, rate, capacity)
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_MEMORY_BUCKETS:
                self._prune(now)
            return decision

    def _prune(self, now: float) -> None:
        """Forget buckets idle for over ten minutes (they would be full again anyway, for any limit ≥ 6/min)."""
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisLimiter:
    """Buckets in Redis (keys `cb:rl:<key>`), shared by every worker; falls back to memory on errors."""

    def __init__(self, url: str, fallback: MemoryLimiter):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._client.register_script(_LUA)
        self._fallback = fallback
        self._down_until = 0.0

    def hit(self, key: str, per_minute: int) -> Decision:
        rate = per_minute / 60.0
        if time.monotonic() < self._down_until:
            return self._fallback.hit(key, per_minute)
        try:
            allowed, tokens = self._script(keys=[f"cb:rl:{key}"], args=[rate, per_minute])
        except Exception as exc:  # noqa: BLE001 - any Redis failure: limit in-process instead
            self._down_until = time.monotonic() + REDIS_RETRY_S
            log.warning("Redis rate limiter unavailable (%s); in-process buckets for %d s", exc, REDIS_RETRY_S)
            return self._fallback.hit(key, per_minute)
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil((1 - float(tokens)) / rate)))


_memory = MemoryLimiter()
_limiters: dict[str, RedisLimiter] = {}


def limiter(redis_url: str | None):
    """The limiter for this configuration (Redis when a URL is given)."""
    if not redis_url:
        return _memory
    if redis_url not in _limiters:
        _limiters[redis_url] = RedisLimiter(redis_url, _memory)
    return _limiters[redis_url]


def reset() -> None:
    """Empty the in-process buckets (tests)."""
    _memory.reset()
