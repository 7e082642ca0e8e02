"""The quote cache refresh: recently quoted pricings are recomputed before they expire,
from the vehicle as it is now; others are left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pricing.cache import cached_pricing, pricing_expiries
from services.pricing.quotes import request_quote
from services.pricing.refresh import refresh_quote_cache
from services.pricing.rules import RULES_VERSION
from tests.pricing_data import InsertVehicle, pricing_vehicles, unique_model

# Far from every other test's clock: the refresh reads the last ten minutes' quotes.
T = datetime(2031, 5, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
async def insert(db_conn: asyncpg.Connection) -> AsyncIterator[InsertVehicle]:
    async with pricing_vehicles(db_conn) as insert:
        yield insert


async def _expiry(redis: Redis, vehicle_id: int) -> datetime | None:
    return (await pricing_expiries(redis, [(vehicle_id, "FR", RULES_VERSION)]))[0]


async def test_recent_quotes_are_refreshed_before_they_expire(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle, db_conn: asyncpg.Connection
) -> None:
    model = unique_model()
    hot, old, gone = [await insert(model=model) for _ in range(3)]
    await request_quote(engine, redis, old, "FR", now=T - timedelta(minutes=11))
    for vehicle_id in (hot, gone):
        await request_quote(engine, redis, vehicle_id, "FR", now=T)
    assert await _expiry(redis, hot) == T + timedelta(minutes=5)

    assert await refresh_quote_cache(engine, redis, now=T + timedelta(minutes=1)) == 0  # fresh
    # The price moved without an invalidation; the vehicle next to it was withdrawn.
    await db_conn.execute("UPDATE vehicle SET price_minor = 1800000 WHERE id = $1", hot)
    await db_conn.execute("UPDATE vehicle SET status = 'WITHDRAWN' WHERE id = $1", gone)

    later = T + timedelta(minutes=4)
    assert await refresh_quote_cache(engine, redis, now=later) == 1
    assert await _expiry(redis, hot) == later + timedelta(minutes=5)
    cached = await cached_pricing(redis, hot, "FR", RULES_VERSION, now=later)
    assert cached is not None
    assert cached[0].price == Decimal("18000.00")
    assert await _expiry(redis, gone) == T + timedelta(minutes=5)  # left to expire
    assert await _expiry(redis, old) == T - timedelta(minutes=6)  # quoted too long ago
