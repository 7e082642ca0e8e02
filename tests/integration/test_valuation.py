"""Market valuation on real PostgreSQL: comparables, mileage adjustment, median, batching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import start_counting
from models.vehicle import VehicleStatus
from services.pricing.engine import MarketData, VehicleFacts
from services.pricing.rules import current_rules
from services.pricing.valuation import Subject, fetch_subject, value_vehicles
from tests.pricing_data import InsertVehicle, pricing_vehicles, unique_model
from tests.valuation_data import stored_models


@pytest.fixture(autouse=True)
async def comparables_only(engine: AsyncEngine) -> AsyncIterator[None]:
    """These rules are the comparables': no valuation model serves meanwhile."""
    async with stored_models(engine):
        yield


@pytest.fixture
async def insert(db_conn: asyncpg.Connection) -> AsyncIterator[InsertVehicle]:
    async with pricing_vehicles(db_conn) as insert:
        yield insert


async def _value(engine: AsyncEngine, *ids: int) -> dict[int, Subject]:
    async with engine.connect() as conn:
        return await value_vehicles(conn, ids, current_rules())


async def test_the_market_value_is_the_median_of_mileage_adjusted_comparables(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    model = unique_model()
    subject = await insert(model=model, year=2020, mileage_km=50_000, price_minor=2_000_000)
    # Each comparable's price moved to 50,000 km at 0.2 % per 1,000 km, clamped to +-25 %:
    await insert(model=model, year=2020, mileage_km=50_000, price_minor=1_800_000)  # 18,000
    await insert(model=model, year=2019, mileage_km=60_000, price_minor=1_900_000)  # 19,380
    await insert(model=model, year=2021, mileage_km=40_000, price_minor=2_100_000)  # 20,580
    await insert(model=model, year=2020, mileage_km=150_000, price_minor=1_500_000)  # 18,000
    await insert(model=model, year=2020, mileage_km=300_000, price_minor=1_000_000)  # 12,500
    await insert(model=model, year=2020, price_minor=2_200_000, status="SOLD")  # 22,000
    await insert(model=model, year=2021, price_minor=2_000_000, status="RESERVED")  # 20,000
    # Not comparables: withdrawn, two model years away, another model, another currency.
    await insert(model=model, year=2020, price_minor=500_000, status="WITHDRAWN")
    await insert(model=model, year=2018, price_minor=500_000)
    await insert(model=unique_model(), year=2020, price_minor=500_000)
    await insert(model=model, year=2020, price_minor=500_000, currency="SEK")
    # Make and model match whatever their case.
    await insert(make="PRICINGTEST", model=model.lower(), year=2020, price_minor=1_938_000)

    valued = await _value(engine, subject)

    assert valued == {
        subject: Subject(
            facts=VehicleFacts(
                vehicle_id=subject,
                make="Pricingtest",
                model=model,
                year=2020,
                price=Decimal("20000"),
                currency="EUR",
                location_country=valued[subject].facts.location_country,
                first_registration=date(2020, 3, 1),
                mileage_km=50_000,
            ),
            status=VehicleStatus.AVAILABLE,
            price_minor=2_000_000,
            market=MarketData(
                comparable_count=8,
                # 12,500 18,000 18,000 19,380 | 19,380 20,000 20,580 22,000
                market_value=Decimal("19380"),
                reserved_count=1,
                listed_count=7,  # the sold one is evidence, not on the market
            ),
        )
    }


async def test_an_even_count_takes_the_midpoint_rounded_to_the_cent(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    model = unique_model()
    subject = await insert(model=model)
    await insert(model=model, price_minor=1_000_000)
    await insert(model=model, price_minor=1_000_001)
    market = (await _value(engine, subject))[subject].market
    assert market is not None
    # (1,000,000 + 1,000,001) / 2 = 1,000,000.5 minor units: half a cent rounds up
    assert market.market_value == Decimal("10000.01")


async def test_only_the_comparables_nearest_in_mileage_are_read(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    model = unique_model()
    subject = await insert(model=model, mileage_km=50_000)
    # Two per side: 40,000 and 30,000 km below, 60,000 and 70,000 km above.
    for km, price in [(40_000, 1_000_000), (30_000, 1_000_000), (60_000, 1_000_000),
                      (70_000, 1_000_000), (10_000, 9_000_000), (20_000, 9_000_000),
                      (80_000, 9_000_000)]:  # fmt: skip
        await insert(model=model, mileage_km=km, price_minor=price)
    rules = replace(current_rules(), comparable_nearest_per_side=2)
    async with engine.connect() as conn:
        market = (await value_vehicles(conn, [subject], rules))[subject].market
    assert market is not None
    # adjusted: 9,600 9,800 | 10,200 10,400; the far, dear ones are not read
    assert (market.comparable_count, market.market_value) == (4, Decimal("10000"))


async def test_a_vehicle_without_comparables_has_no_market_value(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    subject = await insert(model=unique_model())
    market = (await _value(engine, subject))[subject].market
    assert market == MarketData(
        comparable_count=0, market_value=None, reserved_count=0, listed_count=0
    )


async def test_a_page_of_vehicles_is_valued_in_one_statement(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    models = [unique_model() for _ in range(3)]
    subjects = [await insert(model=model, price_minor=1_000_000) for model in models]
    for index, model in enumerate(models):
        for _ in range(index + 1):
            await insert(model=model, price_minor=1_500_000)
    missing = max(subjects) + 1_000_000
    async with engine.connect() as conn:
        counter = start_counting()
        valued = await value_vehicles(conn, [*subjects, missing], current_rules())
    assert counter.count == 1
    assert sorted(valued) == sorted(subjects)
    counts = [valued[subject].market.comparable_count for subject in subjects]  # type: ignore[union-attr]
    assert counts == [1, 2, 3]


async def test_a_vehicle_is_read_without_valuing_it(
    engine: AsyncEngine, insert: InsertVehicle
) -> None:
    subject = await insert(model=unique_model(), status="RESERVED")
    async with engine.connect() as conn:
        found = await fetch_subject(conn, subject)
        missing = await fetch_subject(conn, subject + 1_000_000)
    assert found is not None
    assert (found.status, found.price_minor, found.market) == (
        VehicleStatus.RESERVED,
        2_000_000,
        None,
    )
    assert missing is None
