"""Listings for valuation-model tests: the seeded catalog's generator, without a database."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pricing.model_evaluation import Evaluation, evaluate, split
from services.pricing.model_features import Listing
from services.pricing.model_serving import ACTIVE_MODEL
from services.pricing.model_store import activate_model, save_model
from services.pricing.model_training import TrainingParameters, train_model
from services.pricing.rules import current_rules
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


@functools.cache
def trained_model() -> tuple[bytes, Evaluation]:
    """A model of the seeded catalog (trained once per test process) and its evaluation."""
    training, held_out = split(seeded_listings(4000))
    model = train_model(training, as_of=TODAY, parameters=TrainingParameters())
    return model.to_bytes(), evaluate(model, training, held_out, current_rules(), as_of=TODAY)


@asynccontextmanager
async def stored_models(engine: AsyncEngine) -> AsyncIterator[None]:
    """No valuation model stored or served on entry; any stored inside removed after."""

    async def remove_all() -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM valuation_model"))
        ACTIVE_MODEL.current = None

    await remove_all()
    try:
        yield
    finally:
        await remove_all()


async def serve_model(engine: AsyncEngine, payload: bytes, evaluation: Evaluation) -> int:
    """Store `payload`, activate it and load it in this process; its version."""
    async with engine.begin() as conn:
        version = await save_model(conn, payload, evaluation, trained_at=NOW)
    await activate_model(engine, version)
    await ACTIVE_MODEL.refresh(engine)
    return version
