"""Sign-in throttling: Redis counters per account and per client address.

Every attempt counts, before the password is checked, in one atomic script per attempt:
aliases in one document, batched operations and concurrent requests each spend one,
however they arrive and on whichever replica. A fixed window starts at an account's or
address's first attempt; over the limit the attempt is refused with the seconds left.
A successful sign-in clears its account's counter (not its address's).

The account counter is keyed by a hash of the normalised e-mail, so the key names no
address and case variants share one budget. Registration spends the address budget too
(it costs an argon2 hash and tells whether an e-mail is taken).

While Redis is unavailable the counting falls back to windows kept by this process
(`LocalWindows`, the same budgets): with N replicas an attacker may make up to N times
the attempts during an outage, never more per replica.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import metrics
from core.redis_keys import AUTH_CLIENT_THROTTLE_PREFIX, LOGIN_ACCOUNT_THROTTLE_PREFIX

ACCOUNT_PREFIX = LOGIN_ACCOUNT_THROTTLE_PREFIX
CLIENT_PREFIX = AUTH_CLIENT_THROTTLE_PREFIX

# KEYS: counters; ARGV[1]: window in seconds. Returns count and seconds left per key.
_COUNT_SCRIPT = """
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  result[#result + 1] = count
  result[#result + 1] = ttl
end
return result
"""


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    per_account: int
    per_client: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    allowed: bool
    retry_after: int


def account_key(email: str) -> str:
    """The counter of sign-in attempts on one (normalised) e-mail."""
    return ACCOUNT_PREFIX + hashlib.sha256(email.encode()).hexdigest()[:32]


def client_key(client: str) -> str:
    """The counter of attempts from one client address."""
    return CLIENT_PREFIX + client[:64]


class LocalWindows:
    """The counting script's fixed windows in one process, for when Redis is unavailable."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # key: (count, window end)
        self._lock = threading.Lock()

    def count(self, keys: list[str], window_seconds: int) -> list[int]:
        now = time.monotonic()
        values: list[int] = []
        with self._lock:
            for key in keys:
                count, ends = self._windows.get(key, (0, now + window_seconds))
                if ends <= now:
                    count, ends = 0, now + window_seconds
                if key not in self._windows and len(self._windows) >= self.MAX_KEYS:
                    self._windows.pop(next(iter(self._windows)))
                self._windows[key] = (count + 1, ends)
                values += [count + 1, max(1, math.ceil(ends - now))]
        return values

    def forget(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


LOCAL_WINDOWS = LocalWindows()


async def count_attempt(
    redis: Redis, limits: ThrottleLimits, *, client: str, email: str | None = None
) -> ThrottleVerdict:
    """Spend one attempt of the client's (and the account's) budget; say if it is allowed."""
    keys = [client_key(client)]
    budgets = [limits.per_client]
    if email is not None:
        keys.append(account_key(email))
        budgets.append(limits.per_account)
    script = redis.register_script(_COUNT_SCRIPT)
    try:
        values = [int(value) for value in await script(keys=keys, args=[limits.window_seconds])]
    except RedisError:
        metrics.record_fallback("sign_in")
        values = LOCAL_WINDOWS.count(keys, limits.window_seconds)
    waits = [
        values[2 * index + 1] for index, budget in enumerate(budgets) if values[2 * index] > budget
    ]
    return ThrottleVerdict(allowed=not waits, retry_after=max(waits, default=0))


async def clear_account(redis: Redis, email: str) -> None:
    """Forget an account's failed attempts (after a successful sign-in)."""
    LOCAL_WINDOWS.forget(account_key(email))
    with contextlib.suppress(RedisError):  # else the Redis counter expires with its window
        await redis.delete(account_key(email))
