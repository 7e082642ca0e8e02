"""Cost-based rate limits: a leaky bucket per identity in Redis, one atomic script.

The bucket holds up to `capacity` points and refills at `rate` points a second. A request
reserves its requested cost before it runs and gets back the part it did not use. Time is
Redis's own clock, so every API replica drains the same bucket at the same pace.

While Redis is unavailable, each process falls back to buckets of its own with the same
budgets (`LocalBuckets`, the same arithmetic on the process's clock). Honest bound: with
N replicas behind a load balancer a client may spend up to N times its budget during an
outage; once Redis answers again the shared bucket rules (it was not drained meanwhile).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import metrics
from core.redis_keys import RATE_LIMIT_PREFIX

# `take(key, capacity, rate, cost)`: the bucket's arithmetic as a Lua function, so that
# another script (core/response_cache.py charges a cached response) takes from the same
# bucket in the same round trip. Capacity in points, rate in points a second, cost in
# points (negative: a refund). Returns {allowed (0/1), available after (milli-points),
# retry after (ms)}.
BUCKET_LUA = """
local function take(key, capacity_points, rate, cost_points)
  local capacity = tonumber(capacity_points) * 1000
  rate = tonumber(rate)
  local cost = tonumber(cost_points) * 1000
  local now = redis.call('TIME')
  local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now_ms
  level = math.min(capacity, level + math.max(0, now_ms - at) * rate)
  local allowed = 1
  local retry = 0
  if cost > 0 and cost > level then
    allowed = 0
    retry = math.ceil((cost - level) / rate)
  else
    level = math.min(capacity, level - cost)
  end
  redis.call('HSET', key, 'level', level, 'at', now_ms)
  redis.call('PEXPIRE', key, math.ceil(capacity / rate) + 1000)
  return {allowed, math.floor(level), retry}
end
"""

# KEYS[1] bucket; ARGV: capacity, rate per second, cost.
_BUCKET_SCRIPT = BUCKET_LUA + "return take(KEYS[1], ARGV[1], ARGV[2], ARGV[3])\n"


@dataclass(frozen=True, slots=True)
class BucketLimit:
    capacity: int
    restore_rate: int  # points a second


@dataclass(frozen=True, slots=True)
class BucketState:
    allowed: bool
    available: int
    retry_after_seconds: int

    @classmethod
    def from_reply(cls, allowed: Any, level: Any, retry_ms: Any) -> BucketState:
        """The state `take` returned (milli-points, milliseconds) in points and seconds."""
        return cls(
            allowed=bool(allowed),
            available=int(level) // 1000,
            retry_after_seconds=max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0,
        )


log = logging.getLogger("autobroker.rate_limit")
LOCAL_BUCKETS_MAX = 100_000  # identities a process remembers during an outage


class LocalBuckets:
    """The bucket arithmetic of BUCKET_LUA in one process, for when Redis is unavailable."""

    def __init__(self, *, max_buckets: int = LOCAL_BUCKETS_MAX) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # identity: (level ms-points, at ms)
        self._max = max_buckets
        self._lock = threading.Lock()

    def take(self, identity: str, limit: BucketLimit, cost: int) -> BucketState:
        capacity = limit.capacity * 1000.0
        rate = float(limit.restore_rate)
        now = time.monotonic() * 1000.0
        with self._lock:
            level, at = self._buckets.get(identity, (capacity, now))
            level = min(capacity, level + max(0.0, now - at) * rate)
            amount = cost * 1000.0
            allowed, retry = True, 0.0
            if amount > 0 and amount > level:
                allowed, retry = False, math.ceil((amount - level) / rate)
            else:
                level = min(capacity, level - amount)
            if identity not in self._buckets and len(self._buckets) >= self._max:
                self._buckets.pop(next(iter(self._buckets)))  # the oldest identity goes
            self._buckets[identity] = (level, now)
        return BucketState.from_reply(allowed, math.floor(level), retry)


class RateLimiter:
    """Reserves and refunds query cost against per-identity buckets."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_BUCKET_SCRIPT)
        self.local = LocalBuckets()

    async def _run(self, identity: str, limit: BucketLimit, cost: int) -> BucketState:
        # The script works in milli-points per millisecond: rate points/s = rate milli/ms.
        try:
            allowed, level, retry_ms = await self._script(
                keys=[RATE_LIMIT_PREFIX + identity],
                args=[limit.capacity, limit.restore_rate, cost],
            )
        except RedisError:
            metrics.record_fallback("rate_limit")
            return self.local.take(identity, limit, cost)
        return BucketState.from_reply(allowed, level, retry_ms)

    async def reserve(self, identity: str, limit: BucketLimit, cost: int) -> BucketState:
        """Take `cost` points if the bucket holds them; otherwise say when it will."""
        return await self._run(identity, limit, max(cost, 0))

    async def refund(self, identity: str, limit: BucketLimit, points: int) -> BucketState:
        """Give back `points` a request reserved but did not use."""
        return await self._run(identity, limit, -max(points, 0))
