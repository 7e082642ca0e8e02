"""Quotes on real PostgreSQL and Redis: persisted, cached 5 minutes, invalidated, and
never stale about a vehicle's price or status."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import start_counting
from core.redis_keys import QUOTE_CACHE_PREFIX
from models.quote import QuoteLineKind
from services.pricing import invalidate_vehicle_quotes
from services.pricing.errors import (
    UnsupportedDestinationError,
    VehicleNotFoundError,
    VehicleUnavailableError,
)
from services.pricing.quotes import StoredQuote, fetch_quotes, request_quote
from tests.pricing_data import InsertVehicle, pricing_vehicles, unique_model

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def insert(db_conn: asyncpg.Connection) -> AsyncIterator[InsertVehicle]:
    async with pricing_vehicles(db_conn) as insert:
        yield insert


async def _quote(
    engine: AsyncEngine, redis: Redis, vehicle_id: int, destination: str = "FR", **kw: object
) -> tuple[StoredQuote, list[str]]:
    """The quote and the SQL statements it took."""
    counter = start_counting(keep_text=True)
    stored = await request_quote(engine, redis, vehicle_id, destination, now=NOW, **kw)  # type: ignore[arg-type]
    return stored, counter.statements


def _valued(statements: list[str]) -> bool:
    return any("percentile_cont" in statement for statement in statements)


async def test_a_quote_is_persisted_with_its_lines_and_read_back(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle
) -> None:
    vehicle = await insert(model=unique_model())
    stored, statements = await _quote(engine, redis, vehicle, " fr ")
    # valuation, the quote, its lines
    assert len(statements) == 3
    assert stored.valid_until == NOW + timedelta(minutes=30)
    assert stored.pricing.destination_country == "FR"
    assert [line.kind for line in stored.pricing.lines] == list(QuoteLineKind)
    async with engine.connect() as conn:
        assert await fetch_quotes(conn, [stored.id, stored.id + 1_000_000]) == {stored.id: stored}


async def test_a_second_quote_reuses_the_cached_pricing_but_is_a_new_quote(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle
) -> None:
    vehicle = await insert(model=unique_model())
    first, first_statements = await _quote(engine, redis, vehicle)
    second, second_statements = await _quote(engine, redis, vehicle)
    assert _valued(first_statements)
    assert not _valued(second_statements)
    assert second.id != first.id
    assert second.pricing == first.pricing


async def test_a_cached_pricing_lasts_five_minutes(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle
) -> None:
    vehicle = await insert(model=unique_model())
    await _quote(engine, redis, vehicle)
    counter = start_counting(keep_text=True)
    await request_quote(engine, redis, vehicle, "FR", now=NOW + timedelta(minutes=4, seconds=59))
    assert not _valued(counter.statements)
    counter = start_counting(keep_text=True)
    await request_quote(engine, redis, vehicle, "FR", now=NOW + timedelta(minutes=5))
    assert _valued(counter.statements)


async def test_invalidation_forgets_every_destination_of_the_vehicle_only(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle
) -> None:
    model = unique_model()
    vehicle, other = await insert(model=model), await insert(model=model)
    for destination in ("FR", "DE"):
        await _quote(engine, redis, vehicle, destination)
    await _quote(engine, redis, other)
    fields = await redis.hkeys(f"{QUOTE_CACHE_PREFIX}{vehicle}")  # type: ignore[misc]
    assert sorted(fields) == [b"DE:2026-11", b"FR:2026-11"]

    await invalidate_vehicle_quotes(redis, vehicle)

    assert await redis.exists(f"{QUOTE_CACHE_PREFIX}{vehicle}") == 0
    assert await redis.exists(f"{QUOTE_CACHE_PREFIX}{other}") == 1
    _, statements = await _quote(engine, redis, vehicle)
    assert _valued(statements)


async def test_a_price_changed_without_invalidation_is_seen_all_the_same(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle, db_conn: asyncpg.Connection
) -> None:
    vehicle = await insert(model=unique_model(), price_minor=2_000_000)
    before, _ = await _quote(engine, redis, vehicle)
    await db_conn.execute("UPDATE vehicle SET price_minor = $2 WHERE id = $1", vehicle, 1_800_000)
    after, statements = await _quote(engine, redis, vehicle)
    # The cached facts no longer match the row: a miss, not a stale price.
    assert _valued(statements)
    assert before.pricing.lines[0].amount == 20_000
    assert after.pricing.lines[0].amount == 18_000


async def test_a_sold_vehicle_is_refused_even_with_a_cached_pricing(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle, db_conn: asyncpg.Connection
) -> None:
    vehicle = await insert(model=unique_model())
    await _quote(engine, redis, vehicle)
    await db_conn.execute("UPDATE vehicle SET status = 'SOLD' WHERE id = $1", vehicle)
    with pytest.raises(VehicleUnavailableError) as raised:
        await _quote(engine, redis, vehicle)
    assert (raised.value.code, raised.value.argument) == ("VEHICLE_UNAVAILABLE", "vehicleId")
    assert await db_conn.fetchval("SELECT count(*) FROM quote WHERE vehicle_id = $1", vehicle) == 1


async def test_a_reserved_vehicle_may_be_quoted(
    engine: AsyncEngine, redis: Redis, insert: InsertVehicle
) -> None:
    vehicle = await insert(model=unique_model(), status="RESERVED")
    stored, _ = await _quote(engine, redis, vehicle)
    assert stored.pricing.vehicle_id == vehicle


async def test_refusals_write_nothing(
    engine: AsyncEngine, redis: Redis, db_conn: asyncpg.Connection
) -> None:
    quotes_before = await db_conn.fetchval("SELECT count(*) FROM quote")
    counter = start_counting()
    with pytest.raises(UnsupportedDestinationError):
        await request_quote(engine, redis, 1, "CH", now=NOW)
    assert counter.count == 0  # refused before any I/O
    missing = await db_conn.fetchval("SELECT max(id) + 1 FROM vehicle")
    with pytest.raises(VehicleNotFoundError):
        await _quote(engine, redis, missing)
    assert await db_conn.fetchval("SELECT count(*) FROM quote") == quotes_before


async def test_quotes_are_made_while_redis_is_down(
    engine: AsyncEngine, insert: InsertVehicle, caplog: pytest.LogCaptureFixture
) -> None:
    vehicle = await insert(model=unique_model())
    broken = Redis.from_url("unix:///nonexistent/redis.sock", socket_connect_timeout=0.2)
    try:
        with caplog.at_level(logging.WARNING, logger="autobroker.pricing"):
            stored, _ = await _quote(engine, broken, vehicle)
            await invalidate_vehicle_quotes(broken, vehicle)
    finally:
        await broken.aclose()
    assert stored.pricing.vehicle_id == vehicle
    assert [record.getMessage() for record in caplog.records] == [
        "quote cache read failed",
        "quote cache write failed",
        "quote cache invalidation failed",
    ]
