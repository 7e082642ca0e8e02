"""The demo catalog seeder: pure generators, then COPY into the real database.

Database tests run inside a transaction that is rolled back, so the shared catalog the
API tests read stays as the session seeded it.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from models.vehicle import FuelType, VehicleStatus
from services.vehicles.seed import (
    SeedSummary,
    VehicleRow,
    catalog_is_empty,
    generate_dealers,
    generate_vehicles,
    seed_catalog,
)
from services.vehicles.seed_vehicle_data import MODELS
from services.vehicles.vin import is_valid_vin, model_year_code, vin_check_digit

NOW = datetime(2026, 5, 14, 9, 30, tzinfo=UTC)


def _vehicles(seed: int, count: int = 2000) -> list[VehicleRow]:
    dealers = generate_dealers(range(1, 51), seed=seed, now=NOW)
    return list(generate_vehicles(dealers, count, seed=seed, now=NOW))


def test_same_seed_gives_the_same_catalog() -> None:
    assert generate_dealers(range(1, 51), seed=9, now=NOW) == generate_dealers(
        range(1, 51), seed=9, now=NOW
    )
    assert _vehicles(9) == _vehicles(9)


def test_another_seed_gives_another_catalog() -> None:
    first, second = _vehicles(9, 200), _vehicles(10, 200)
    key = [(row.make, row.model, row.price_minor) for row in first]
    assert key != [(row.make, row.model, row.price_minor) for row in second]


def test_dealers_cover_the_markets_with_local_names() -> None:
    dealers = generate_dealers(range(1, 51), seed=1, now=NOW)
    assert len({dealer.country for dealer in dealers}) >= 10
    assert all(
        3 <= dealer.rating <= 5 and dealer.rating == round(dealer.rating, 1) for dealer in dealers
    )
    assert all(dealer.created_at < NOW for dealer in dealers)


def test_vehicle_rows_are_plausible() -> None:
    rows = _vehicles(3, 5000)
    assert len({row.vin for row in rows}) == len(rows)
    for row in rows:
        assert is_valid_vin(row.vin)
        assert row.vin[8] == vin_check_digit(row.vin)
        assert row.vin[9] == model_year_code(row.year)
        assert 2012 <= row.year <= NOW.year
        assert row.price_minor > 0
        assert row.price_minor % 1000 == 0
        assert NOW.timestamp() - row.created_at.timestamp() <= 120 * 86400
        assert row.created_at <= row.updated_at <= NOW
        if row.fuel == FuelType.ELECTRIC:
            assert row.co2_g_km == 0
        if row.year == NOW.year:
            assert row.first_registration is None
            assert row.mileage_km < 100
        else:
            assert row.first_registration is not None
            assert row.first_registration.year == row.year
            assert row.first_registration <= row.created_at.date()
    available = sum(row.status == VehicleStatus.AVAILABLE for row in rows)
    assert 0.85 < available / len(rows) < 0.95
    # RESERVED and SOLD belong to orders, which the seed does not make.
    assert {row.status for row in rows} == {VehicleStatus.AVAILABLE, VehicleStatus.WITHDRAWN}


def test_older_and_more_driven_cars_are_cheaper() -> None:
    list_prices = {(m.model, t.name): t.price_eur * 100 for m in MODELS for t in m.trims}
    rows = [row for row in _vehicles(4, 20_000) if row.year < NOW.year]
    # Residual value: the asking price as a share of the trim's list price.
    residual = {row.vin: row.price_minor / list_prices[row.model, row.trim] for row in rows}

    def median(selected: list[VehicleRow]) -> float:
        return statistics.median(residual[row.vin] for row in selected)

    young, middle, old = (
        [row for row in rows if low <= NOW.year - row.year <= high]
        for low, high in ((1, 3), (4, 7), (8, 20))
    )
    assert median(young) > median(middle) > median(old)
    km_median = statistics.median(row.mileage_km for row in middle)
    assert median([row for row in middle if row.mileage_km < km_median]) > median(
        [row for row in middle if row.mileage_km >= km_median]
    )


@pytest.fixture
async def rolled_back(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    transaction = db_conn.transaction()
    await transaction.start()
    try:
        yield db_conn
    finally:
        await transaction.rollback()


async def _max_ids(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT coalesce(max(id), 0) FROM dealer) AS dealer,"
        " (SELECT coalesce(max(id), 0) FROM vehicle) AS vehicle"
    )
    assert row is not None
    return row["dealer"], row["vehicle"]


async def test_seeding_inserts_consistent_rows(rolled_back: asyncpg.Connection) -> None:
    conn = rolled_back
    last_dealer, last_vehicle = await _max_ids(conn)
    batches: list[int] = []

    summary = await seed_catalog(
        conn, dealers=50, vehicles=1000, seed=11, now=NOW, batch_size=300, progress=batches.append
    )

    assert summary == SeedSummary(dealers=50, vehicles=1000)
    assert batches == [300, 300, 300, 100]
    dealers = await conn.fetch("SELECT * FROM dealer WHERE id > $1", last_dealer)
    assert len(dealers) == 50
    assert len({dealer["country"] for dealer in dealers}) >= 10
    vehicles = await conn.fetch(
        """SELECT v.*, d.country AS dealer_country, d.city AS dealer_city
           FROM vehicle v LEFT JOIN dealer d ON d.id = v.dealer_id WHERE v.id > $1""",
        last_vehicle,
    )
    assert len(vehicles) == 1000
    assert {vehicle["dealer_id"] for vehicle in vehicles} <= {dealer["id"] for dealer in dealers}
    for vehicle in vehicles:
        assert is_valid_vin(vehicle["vin"])
        assert (vehicle["location_country"], vehicle["location_city"]) == (
            vehicle["dealer_country"],
            vehicle["dealer_city"],
        )
        assert isinstance(vehicle["price_minor"], int)
        assert vehicle["price_minor"] > 0
        assert vehicle["currency"] == "EUR"
    assert await conn.fetchval("SELECT count(*) = count(DISTINCT vin) FROM vehicle")
    assert await conn.fetchval("SELECT count(*) FROM vehicle WHERE search @@ 'golf'::tsquery")


async def test_seeding_again_appends_the_same_catalog_with_new_vins(
    rolled_back: asyncpg.Connection,
) -> None:
    conn = rolled_back
    runs = []
    for _ in range(2):
        _, last_vehicle = await _max_ids(conn)
        await seed_catalog(conn, dealers=20, vehicles=500, seed=5, now=NOW)
        runs.append(
            await conn.fetch(
                "SELECT vin, make, model, trim, price_minor FROM vehicle WHERE id > $1 ORDER BY id",
                last_vehicle,
            )
        )
    first, second = ([tuple(row)[1:] for row in run] for run in runs)
    assert first == second
    assert not {row["vin"] for row in runs[0]} & {row["vin"] for row in runs[1]}
    assert await conn.fetchval("SELECT count(*) = count(DISTINCT vin) FROM vehicle")


async def test_seeding_avoids_vins_already_stored(rolled_back: asyncpg.Connection) -> None:
    conn = rolled_back
    # A vehicle from a feed; its VIN becomes the one the next seed would draw first.
    stored_id = await conn.fetchval(
        """INSERT INTO vehicle (vin, make, model, year, mileage_km, fuel, transmission,
                                body_type, colour, power_kw, location_country, location_city,
                                dealer_id, price_minor, currency, source, external_id)
           SELECT 'WVWZZZ1KZ9W386752', 'Volkswagen', 'Golf', 2009, 190000, 'PETROL',
                  'MANUAL', 'HATCHBACK', 'Red', 59, country, city, id, 250000, 'EUR',
                  'feed', 'x-1'
           FROM dealer ORDER BY id LIMIT 1
           RETURNING id"""
    )
    _, last_vehicle = await _max_ids(conn)
    assert last_vehicle == stored_id
    dealers = generate_dealers([0], seed=8, now=NOW)
    upcoming = next(generate_vehicles(dealers, 1, seed=8, now=NOW, first_serial=last_vehicle))
    await conn.execute("UPDATE vehicle SET vin = $1 WHERE id = $2", upcoming.vin, stored_id)

    await seed_catalog(conn, dealers=1, vehicles=50, seed=8, now=NOW)

    seeded = await conn.fetch("SELECT vin FROM vehicle WHERE id > $1", stored_id)
    assert len(seeded) == 50
    assert upcoming.vin not in {row["vin"] for row in seeded}
    assert await conn.fetchval("SELECT count(*) = count(DISTINCT vin) FROM vehicle")


async def test_catalog_is_empty_without_vehicles(rolled_back: asyncpg.Connection) -> None:
    assert not await catalog_is_empty(rolled_back)
    # quotes and orders refer to vehicles; the transaction is rolled back afterwards
    await rolled_back.execute("TRUNCATE vehicle CASCADE")
    assert await catalog_is_empty(rolled_back)


async def test_seeding_refuses_vehicles_without_dealers(db_conn: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="dealer"):
        await seed_catalog(db_conn, dealers=0, vehicles=10)
