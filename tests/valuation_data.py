"""Listings for valuation-model tests: the seeded catalog's generator, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.pricing.model_features import Listing
from services.vehicles.seed_rows import generate_dealers, generate_vehicles

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
TODAY = NOW.date()


def seeded_listings(count: int, *, seed: int = 7) -> list[Listing]:
    """`count` listings of the demo catalog (ids 1..count), as training reads them."""
    dealers = generate_dealers(list(range(1, 61)), seed=seed, now=NOW)
    rows = generate_vehicles(dealers, count, seed=seed, now=NOW)
    return [
        Listing(vehicle_id, row.make, row.model, row.trim, row.year, row.first_registration,
                row.mileage_km, row.fuel, row.transmission, row.body_type, row.power_kw,
                row.location_country, row.price_minor, row.status)
        for vehicle_id, row in enumerate(rows, start=1)
        if row.status != "WITHDRAWN"
    ]  # fmt: skip


def listing(**changes: object) -> Listing:
    """A 2022 Volkswagen Golf 1.5 TSI Style in Germany, with `changes`."""
    fields: dict[str, object] = {
        "vehicle_id": 10_000_001,
        "make": "Volkswagen",
        "model": "Golf",
        "trim": "1.5 TSI Style",
        "year": 2022,
        "first_registration": date(2022, 5, 1),
        "mileage_km": 60_000,
        "fuel": "PETROL",
        "transmission": "MANUAL",
        "body_type": "HATCHBACK",
        "power_kw": 110,
        "country": "DE",
        **changes,
    }
    return Listing(**fields)  # type: ignore[arg-type]
