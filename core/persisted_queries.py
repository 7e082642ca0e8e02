"""Automatic persisted queries (Apollo's protocol), stored in Redis.

A client sends `extensions.persistedQuery {version: 1, sha256Hash}` without the text; an
unknown hash answers `PersistedQueryNotFound` (PERSISTED_QUERY_NOT_FOUND) and the client
resends hash and text. The text is stored only once it has passed validation, and only
under the hash of that very text, so the store can hold nothing a client could not have
sent in full.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.metrics import record_cache
from core.redis_keys import PERSISTED_QUERY_PREFIX

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# Long enough for a release of a mobile app to keep hitting; refreshed on every use.
log = logging.getLogger("autobroker.persisted_queries")
PERSISTED_QUERY_TTL_SECONDS = 30 * 24 * 3600


class PersistedQueryError(Exception):
    """The persistedQuery extension is malformed or does not match the text."""


@dataclass(frozen=True, slots=True)
class PersistedQueryRequest:
    sha256: str


def parse_extension(extensions: dict[str, Any] | None) -> PersistedQueryRequest | None:
    """The persisted-query request in `extensions`, None if there is none."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    pq = extensions["persistedQuery"]
    if not isinstance(pq, dict) or pq.get("version") != 1:
        raise PersistedQueryError("extensions.persistedQuery: version 1 expected")
    digest = pq.get("sha256Hash")
    if not isinstance(digest, str) or not SHA256_HEX.match(digest):
        raise PersistedQueryError(
            "extensions.persistedQuery.sha256Hash: 64 lower-case hex digits expected"
        )
    return PersistedQueryRequest(sha256=digest)


def sha256_of(query: str) -> str:
    """The hex SHA-256 of a document's UTF-8 text. A lone surrogate (which no registered
    or stored document holds) is hashed as it came, so the text matches nothing and is
    refused as unknown rather than failing."""
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


class PersistedQueryStore:
    """Document texts by their SHA-256, shared by every replica through Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, sha256: str) -> str | None:
        """The stored text for this hash, refreshing its lifetime; None if unknown."""
        key = PERSISTED_QUERY_PREFIX + sha256
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.expire(key, PERSISTED_QUERY_TTL_SECONDS)
                value, _ = await pipe.execute()
        except RedisError:
            # Redis unavailable: "not found" makes the client send the text again, which
            # runs (without being stored), so automatic persisted queries keep working.
            log.warning("persisted query lookup failed: Redis unavailable")
            return None
        record_cache("persisted_query", hit=value is not None)
        return value.decode() if value is not None else None

    async def put(self, sha256: str, query: str) -> None:
        """Store a validated text under its own hash."""
        if sha256_of(query) != sha256:
            raise PersistedQueryError("the text does not match its hash")
        try:
            await self._redis.set(
                PERSISTED_QUERY_PREFIX + sha256, query, ex=PERSISTED_QUERY_TTL_SECONDS
            )
        except RedisError:
            log.warning("persisted query not stored: Redis unavailable")
