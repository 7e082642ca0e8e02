"""The shared Redis client."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    """A pooled client on `url` (redis://, rediss:// or unix://)."""
    client: Redis = Redis.from_url(url, decode_responses=False, health_check_interval=30)
    return client
