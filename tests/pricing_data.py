"""Vehicles made for pricing tests: a make and model of their own, so the seeded catalog
never counts among their comparables, removed again with their quotes."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import asyncpg

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O or Q

InsertVehicle = Callable[..., Awaitable[int]]


def unique_model() -> str:
    return f"Test-{uuid.uuid4().hex[:12]}"


def random_vin() -> str:
    return "".join(secrets.choice(VIN_ALPHABET) for _ in range(17))


@asynccontextmanager
async def pricing_vehicles(conn: asyncpg.Connection) -> AsyncIterator[InsertVehicle]:
    """`insert(**columns) -> id` for a dedicated make; every vehicle and quote removed after."""
    dealer = await conn.fetchrow("SELECT id, country, city FROM dealer ORDER BY id LIMIT 1")
    assert dealer is not None
    ids: list[int] = []

    async def insert(**columns: Any) -> int:
        row: dict[str, Any] = {
            "vin": random_vin(),
            "make": "Pricingtest",
            "model": "Model",
            "trim": None,
            "year": 2020,
            "first_registration": date(2020, 3, 1),
            "mileage_km": 50_000,
            "fuel": "PETROL",
            "transmission": "MANUAL",
            "body_type": "HATCHBACK",
            "colour": "Grey",
            "power_kw": 85,
            "location_country": dealer["country"],
            "location_city": dealer["city"],
            "dealer_id": dealer["id"],
            "price_minor": 2_000_000,
            "currency": "EUR",
            "status": "AVAILABLE",
            **columns,
        }
        names = ", ".join(row)
        placeholders = ", ".join(f"${index}" for index in range(1, len(row) + 1))
        vehicle_id: int = await conn.fetchval(
            f"INSERT INTO vehicle ({names}) VALUES ({placeholders}) RETURNING id", *row.values()
        )
        ids.append(vehicle_id)
        return vehicle_id

    try:
        yield insert
    finally:
        await conn.execute("DELETE FROM quote WHERE vehicle_id = ANY($1::bigint[])", ids)
        await conn.execute("DELETE FROM vehicle WHERE id = ANY($1::bigint[])", ids)
