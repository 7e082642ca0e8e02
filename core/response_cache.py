"""The response cache: public catalog answers kept in Redis, dropped when what they show changes.

What is kept: the `data` of a query whose root fields are all catalog reads
(`CACHEABLE_ROOT_FIELDS`) and that ran without an error. The key is the document (the
sha256 of its text, which is also its persisted-query hash, or a trusted document's id),
the operation name, the variables, the audience (anonymous, a user's role or a partner,
and whether the trusted-documents rule applies to them), the pricing rules' version and
the UTC date (a delivered price depends on both).

Tags: while an operation runs, each entity made into a GraphQL object tags the response
(`tag()`): `vehicle:<id>`, `dealer:<id>`, `group:<make>/<model>` for a delivered price
(it reads the model's comparables), `prices` for any delivered price, `vehicles` for a
list of vehicles and `dealers` for a list of dealers. Whoever changes one of them calls
`invalidate()` after the commit (services/vehicles/changes.py, services/dealers.py): a
vehicle's change drops its own tag, its comparables' group and `vehicles`; a dealer's
its tag and `dealers`; a bulk change of vehicles `vehicles` and `prices` besides.

A race, and how it is closed: a response computed from rows read before a commit must
not be stored after that commit's invalidation. Every invalidation increments one
sequence and records, per tag, the sequence that last dropped it; a lookup returns the
sequence as it was before the operation ran, and the store script refuses to keep a
response any of whose tags was dropped since (`INVALIDATED_TAG_PREFIX`).

Redis layout (core/redis_keys.py): the entry `response-cache:<sha256>` (bytes, with the
cache's TTL); one sorted set per tag `response-cache-tag:<tag>` whose members are entry
keys scored by their expiry (expired members are trimmed on every store); the sequence
and the per-tag sequences. The scripts name keys they compute, so the cache needs one
Redis, not a cluster.

Failures: the cache is an optimisation. A Redis error on lookup or store is a miss, logged;
on invalidation it is logged and the entries it could not drop expire with their TTL.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.rate_limit import BUCKET_LUA, BucketLimit, BucketState
from core.redis_keys import (
    RATE_LIMIT_PREFIX,
    RESPONSE_CACHE_INVALIDATED_PREFIX,
    RESPONSE_CACHE_PREFIX,
    RESPONSE_CACHE_SEQUENCE,
    RESPONSE_CACHE_TAG_PREFIX,
)

log = logging.getLogger("autobroker.response_cache")

# Root fields whose answers are the same for everyone of an audience and change only when
# a vehicle, a price or a dealer does. A unit test lists every field reachable from them,
# so a field that reads anything else cannot be added without being seen.
CACHEABLE_ROOT_FIELDS = frozenset(
    {"vehicles", "vehicle", "vehicleByVin", "dealers", "dealer", "__typename"}
)

VEHICLES = "vehicles"  # any list of vehicles (and its totalCount)
DEALERS = "dealers"  # any list of dealers
PRICES = "prices"  # any delivered price
ALL = "*"  # every entry: `clear()` drops it, and a store checks it like its own tags

# How long an invalidation is remembered for the race check: longer than any operation.
INVALIDATION_MEMORY_SECONDS = 3600
# A cached answer costs the caller this many points of their rate-limit budget.
HIT_COST = 1


def vehicle_tag(vehicle_id: int) -> str:
    return f"vehicle:{vehicle_id}"


def dealer_tag(dealer_id: int) -> str:
    return f"dealer:{dealer_id}"


def group_tag(group: str) -> str:
    """The tag of a comparables group (services/pricing/valuation.py `comparables_group`)."""
    return f"group:{group}"


# The tags of the response being computed; None when no response is being cached.
_tags: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "response_cache_tags", default=None
)


def tag(*tags: str) -> None:
    """Say that the response being computed shows these entities (no-op outside one)."""
    collected = _tags.get()
    if collected is not None:
        collected.update(tags)


def stored_tags(tags: set[str]) -> list[str]:
    """The tags worth storing: a list of vehicles is dropped by any vehicle's change, so
    it needs no tag of its own vehicles or their prices."""
    if VEHICLES in tags:
        return sorted(t for t in tags if not t.startswith(("vehicle:", "group:")) and t != PRICES)
    return sorted(tags)


@dataclass(slots=True)
class Plan:
    """One request's dealings with the cache, from lookup to store."""

    key: str
    document: str
    sequence: int = 0  # the invalidation sequence before the operation ran
    cacheable: bool | None = None  # set once the operation is known (after validation)
    body: bytes | None = None  # `{"data": ...}` as sent, when it may be kept
    tags: set[str] = field(default_factory=set)


_plan: contextvars.ContextVar[Plan | None] = contextvars.ContextVar(
    "response_cache_plan", default=None
)


def current_plan() -> Plan | None:
    """The plan of the request being served, if its response may be cached."""
    return _plan.get()


def begin(plan: Plan) -> tuple[contextvars.Token[Plan | None], contextvars.Token[set[str] | None]]:
    """Collect tags for `plan` in this context (and the tasks it starts) until `end`."""
    return _plan.set(plan), _tags.set(plan.tags)


def end(tokens: tuple[contextvars.Token[Plan | None], contextvars.Token[set[str] | None]]) -> None:
    _plan.reset(tokens[0])
    _tags.reset(tokens[1])


def document_identity(*, query: Any, persisted_hash: Any, document_id: Any) -> str | None:
    """What names the document: a trusted document's id, else the sha256 of its text
    (equal to its persisted-query hash). None when the request names none consistently."""
    if isinstance(document_id, str) and document_id:
        return f"id:{document_id}"
    if isinstance(query, str):
        digest = hashlib.sha256(query.encode()).hexdigest()
        if persisted_hash is not None and persisted_hash != digest:
            return None  # refused by execution; nothing to serve
        return f"sha256:{digest}"
    if isinstance(persisted_hash, str) and len(persisted_hash) == 64:
        return f"sha256:{persisted_hash.lower()}"
    return None


def cache_key(
    document: str, operation_name: Any, variables: Any, audience: str, *, rules_version: str
) -> str:
    """The entry's key; variables are compared as JSON values (key order does not matter)."""
    canonical = orjson.dumps(
        [
            document,
            operation_name if isinstance(operation_name, str) else None,
            variables or {},
            audience,
            rules_version,
            datetime.now(UTC).date().isoformat(),
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return RESPONSE_CACHE_PREFIX + hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class Lookup:
    body: bytes | None  # the cached `{"data": ...}`, None on a miss
    sequence: int
    bucket: BucketState | None  # the caller's budget after paying for a hit


# KEYS: entry, bucket, sequence; ARGV: capacity, rate, cost of a hit.
# Returns {body or nil, sequence, allowed, level, retry}; a miss charges nothing.
_LOOKUP = (
    BUCKET_LUA
    + """
local body = redis.call('GET', KEYS[1])
local sequence = redis.call('GET', KEYS[3]) or '0'
if not body then return {false, sequence} end
local state = take(KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return {body, sequence, state[1], state[2], state[3]}
"""
)

# KEYS[1] entry; ARGV: body, ttl seconds, sequence seen before the operation, tags...
# Returns 1 when stored, 0 when a tag was dropped since (the body may be stale).
_STORE = f"""
local seen = tonumber(ARGV[3])
local ttl = tonumber(ARGV[2])
local all = tonumber(redis.call('GET', '{RESPONSE_CACHE_INVALIDATED_PREFIX}{ALL}') or '0')
if all > seen then return 0 end
for i = 4, #ARGV do
  local dropped = redis.call('GET', '{RESPONSE_CACHE_INVALIDATED_PREFIX}' .. ARGV[i])
  if dropped and tonumber(dropped) > seen then return 0 end
end
local now = tonumber(redis.call('TIME')[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
for i = 4, #ARGV do
  local set = '{RESPONSE_CACHE_TAG_PREFIX}' .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
  redis.call('ZADD', set, now + ttl, KEYS[1])
  redis.call('EXPIRE', set, ttl)
end
return 1
"""

# ARGV: how long to remember the invalidation, tags... Returns the entries dropped.
_INVALIDATE = f"""
local sequence = redis.call('INCR', '{RESPONSE_CACHE_SEQUENCE}')
local dropped = 0
for i = 2, #ARGV do
  redis.call('SET', '{RESPONSE_CACHE_INVALIDATED_PREFIX}' .. ARGV[i], sequence, 'EX', ARGV[1])
  local set = '{RESPONSE_CACHE_TAG_PREFIX}' .. ARGV[i]
  local members = redis.call('ZRANGE', set, 0, -1)
  for j = 1, #members, 500 do
    dropped = dropped + redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', set)
end
return dropped
"""


class ResponseCache:
    """Lookup and store for the HTTP view; `invalidate` and `clear` for whoever changes data."""

    def __init__(self, redis: Redis, *, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self._lookup = redis.register_script(_LOOKUP)
        self._store = redis.register_script(_STORE)
        # document identity -> may its answers be cached? (learnt from the first run)
        self._documents: OrderedDict[str, bool] = OrderedDict()

    # Documents --------------------------------------------------------------------
    DOCUMENTS_KEPT = 4096

    def known_uncacheable(self, document: str) -> bool:
        """True when this process has run the document and its answers are never kept."""
        return self._documents.get(document) is False

    def learn(self, document: str, cacheable: bool) -> None:
        self._documents[document] = cacheable
        self._documents.move_to_end(document)
        if len(self._documents) > self.DOCUMENTS_KEPT:
            self._documents.popitem(last=False)

    # Entries ----------------------------------------------------------------------
    async def lookup(self, key: str, identity: str, limit: BucketLimit) -> Lookup | None:
        """The entry and, on a hit, the caller's budget after paying HIT_COST; None on error."""
        try:
            reply = await self._lookup(
                keys=[key, RATE_LIMIT_PREFIX + identity, RESPONSE_CACHE_SEQUENCE],
                args=[limit.capacity, limit.restore_rate, HIT_COST],
            )
        except RedisError as error:
            log.warning("response cache lookup failed", extra={"error": repr(error)})
            return None
        body, sequence = reply[0], int(reply[1])
        if body is None:
            return Lookup(None, sequence, None)
        return Lookup(bytes(body), sequence, BucketState.from_reply(*reply[2:5]))

    async def store(self, plan: Plan) -> bool:
        """Keep the plan's body under its tags, unless one was dropped since its lookup."""
        if plan.body is None:
            return False
        try:
            stored = await self._store(
                keys=[plan.key],
                args=[plan.body, self.ttl_seconds, plan.sequence, *stored_tags(plan.tags)],
            )
        except RedisError as error:
            log.warning("response cache store failed", extra={"error": repr(error)})
            return False
        return bool(stored)


async def invalidate(redis: Redis, tags: Iterable[str]) -> int:
    """Drop every cached response tagged with any of `tags`; call it after the commit."""
    unique = sorted(set(tags))
    if not unique:
        return 0
    try:
        script = redis.register_script(_INVALIDATE)
        dropped = await script(args=[INVALIDATION_MEMORY_SECONDS, *unique])
    except RedisError as error:
        log.error(
            "response cache invalidation failed; entries expire with their TTL",
            extra={"error": repr(error), "tags": unique[:20]},
        )
        return 0
    return int(dropped)


async def clear(redis: Redis) -> int:
    """Drop every cached response (after a bulk load such as seeding)."""
    dropped = await invalidate(redis, [ALL])
    async for key in redis.scan_iter(match=RESPONSE_CACHE_PREFIX + "*", count=1000):
        dropped += await redis.delete(key)
    return dropped
