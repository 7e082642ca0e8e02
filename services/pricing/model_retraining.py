"""Retraining as a use-case: read the catalog, train, evaluate, store, and activate.

The listings are every vehicle in the rules' currency that is not withdrawn, priced, as
the comparables see them. Training runs in a worker thread (LightGBM releases the GIL),
so a worker's event loop keeps serving its other jobs meanwhile. A model is stored
whatever its evaluation (so `valuation list` shows why one was refused) and activated
only when accepted and `activate` is set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from services.pricing.model_evaluation import Evaluation, evaluate, split
from services.pricing.model_features import Listing
from services.pricing.model_store import activate_model, save_model
from services.pricing.model_training import TrainingParameters, train_model
from services.pricing.rules import RuleSet, current_rules

logger = logging.getLogger(__name__)

_LISTINGS = sa.text("""
SELECT id, make, model, trim, year, first_registration, mileage_km, fuel, transmission,
       body_type, power_kw, location_country, price_minor, status
FROM vehicle
WHERE currency = :currency AND status <> 'WITHDRAWN' AND price_minor > 0
ORDER BY id
""")


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    version: int
    evaluation: Evaluation
    activated: bool
    seconds: float  # training and evaluation, without reading the catalog


async def fetch_listings(conn: AsyncConnection, rules: RuleSet) -> list[Listing]:
    """The catalog's listings the model learns from, by id."""
    rows = await conn.execute(_LISTINGS, {"currency": rules.currency})
    return [Listing(row.id, row.make, row.model, row.trim, row.year, row.first_registration,
                    row.mileage_km, row.fuel, row.transmission, row.body_type, row.power_kw,
                    row.location_country, row.price_minor, row.status)
            for row in rows]  # fmt: skip


def _train_and_evaluate(
    listings: list[Listing], rules: RuleSet, now: datetime, parameters: TrainingParameters
) -> tuple[bytes, Evaluation]:
    training, held_out = split(listings)
    if not training:
        raise ValueError("the catalog has no listings to train a valuation model on")
    model = train_model(training, as_of=now.date(), parameters=parameters)
    return model.to_bytes(), evaluate(model, training, held_out, rules, as_of=now.date())


async def retrain(
    engine: AsyncEngine,
    *,
    activate: bool = True,
    parameters: TrainingParameters | None = None,
    now: datetime | None = None,
) -> TrainingOutcome:
    """Train a model on the catalog, store it as a new version, activate it if accepted."""
    now, rules = now or utcnow(), current_rules()
    async with engine.connect() as conn:
        listings = await fetch_listings(conn, rules)
    started = time.perf_counter()
    payload, evaluation = await asyncio.to_thread(
        _train_and_evaluate, listings, rules, now, parameters or TrainingParameters()
    )
    seconds = round(time.perf_counter() - started, 2)
    async with engine.begin() as conn:
        version = await save_model(conn, payload, evaluation, trained_at=now)
    activated = activate and evaluation.accepted
    if activated:
        await activate_model(engine, version)
    logger.info(
        "valuation model %s trained on %s listings in %s s: MdAPE %s %% (comparables %s %%), "
        "coverage %s %%; %s", version, evaluation.training_rows, seconds, evaluation.model_mdape,
        evaluation.comparables_mdape, evaluation.interval_coverage,
        "activated" if activated else (evaluation.refusal or "not activated"),
    )  # fmt: skip
    return TrainingOutcome(version, evaluation, activated, seconds)
