"""Valuation models on real PostgreSQL: versions, one active, switching, polling, serving
in the valuation pass, and falling back to the comparables when a model cannot serve."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import start_counting
from services.pricing.model_evaluation import Evaluation
from services.pricing.model_retraining import retrain
from services.pricing.model_serving import ACTIVE_MODEL
from services.pricing.model_store import (
    ModelNotFoundError,
    ModelRefusedError,
    activate_model,
    active_version,
    deactivate_models,
    list_models,
    save_model,
)
from services.pricing.model_training import TrainingParameters
from services.pricing.rules import current_rules
from services.pricing.valuation import value_vehicles
from tests.valuation_data import NOW, serve_model, stored_models, trained_model


@pytest.fixture
async def models(engine: AsyncEngine) -> AsyncIterator[tuple[bytes, Evaluation]]:
    async with stored_models(engine):
        yield trained_model()


async def _active(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        return await active_version(conn)


async def _page(engine: AsyncEngine, count: int = 50) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text(
            # The seeded catalog's first listings: other tests add vehicles at odd prices.
            "SELECT id FROM vehicle WHERE status = 'AVAILABLE' ORDER BY id LIMIT :n"
        ), {"n": count})  # fmt: skip
        return [row.id for row in rows]


async def test_one_model_is_active_at_a_time_and_a_switch_is_atomic(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    payload, evaluation = models
    async with engine.begin() as conn:
        first = await save_model(conn, payload, evaluation, trained_at=NOW)
        second = await save_model(conn, payload, evaluation, trained_at=NOW)
    assert await _active(engine) is None
    await activate_model(engine, first)
    await activate_model(engine, second)
    assert await _active(engine) == second
    async with engine.connect() as conn:
        listed = await list_models(conn)
    assert [(m.version, m.active, m.evaluation) for m in listed] == [
        (second, True, evaluation), (first, False, evaluation)
    ]  # fmt: skip
    assert await deactivate_models(engine) == second
    assert await _active(engine) is None


async def test_a_refused_or_unknown_model_cannot_be_activated(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    payload, evaluation = models
    refused = replace(evaluation, refusal="model MdAPE 12.0 % is not below the comparables'")
    async with engine.begin() as conn:
        serving = await save_model(conn, payload, evaluation, trained_at=NOW)
        version = await save_model(conn, payload, refused, trained_at=NOW)
    await activate_model(engine, serving)
    with pytest.raises(ModelRefusedError, match="is not below the comparables"):
        await activate_model(engine, version)
    with pytest.raises(ModelNotFoundError):
        await activate_model(engine, version + 100)
    assert await _active(engine) == serving  # unchanged


async def test_a_page_is_valued_by_the_model_in_the_same_single_statement(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    page = await _page(engine)
    counter = start_counting()
    async with engine.connect() as conn:
        without = await value_vehicles(conn, page, current_rules())
    assert counter.count == 1
    assert all(subject.market and subject.market.model is None for subject in without.values())

    version = await serve_model(engine, *models)
    counter = start_counting()
    async with engine.connect() as conn:
        valued = await value_vehicles(conn, page, current_rules())
    assert counter.count == 1
    for vehicle_id, subject in valued.items():
        assert subject.market is not None
        model = subject.market.model
        assert model is not None
        assert model.version == version
        assert model.low <= model.value <= model.high
        # The model knows this catalog: within 25 % of the asking price.
        assert abs(model.value / (subject.facts.price) - 1) < 0.25, vehicle_id
        assert replace(subject.market, model=None) == without[vehicle_id].market


async def test_a_corrupt_active_model_falls_back_to_the_comparables_with_a_log_line(
    engine: AsyncEngine, models: tuple[bytes, Evaluation], caplog: pytest.LogCaptureFixture
) -> None:
    _, evaluation = models
    async with engine.begin() as conn:
        version = await save_model(conn, b"\x78\x9c not a model", evaluation, trained_at=NOW)
    await activate_model(engine, version)
    with caplog.at_level(logging.WARNING, logger="services.pricing.model_serving"):
        assert await ACTIVE_MODEL.refresh(engine) is None
        assert await ACTIVE_MODEL.refresh(engine) is None  # logged once, not at every poll
    [record] = [r for r in caplog.records if r.name == "services.pricing.model_serving"]
    assert record.getMessage().startswith(
        f"valuation model v{version} cannot be loaded, the comparables value vehicles: "
    )
    async with engine.connect() as conn:
        valued = await value_vehicles(conn, await _page(engine, 5), current_rules())
    assert all(s.market and s.market.model is None for s in valued.values())


async def test_a_switch_or_a_deactivation_reaches_the_serving_process(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    first = await serve_model(engine, *models)
    assert ACTIVE_MODEL.current is not None
    assert ACTIVE_MODEL.current.version == first
    second = await serve_model(engine, *models)
    assert ACTIVE_MODEL.current.version == second
    await deactivate_models(engine)
    assert await ACTIVE_MODEL.refresh(engine) is None


async def test_a_model_row_deleted_stops_serving(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    await serve_model(engine, *models)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM valuation_model"))
    assert await ACTIVE_MODEL.refresh(engine) is None


async def test_retraining_on_the_catalog_stores_a_version_with_its_evaluation(
    engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    outcome = await retrain(engine, parameters=TrainingParameters(rounds=60), now=NOW)
    async with engine.connect() as conn:
        [stored] = await list_models(conn)
    assert (stored.version, stored.evaluation) == (outcome.version, outcome.evaluation)
    evaluation = outcome.evaluation
    assert evaluation.training_rows + evaluation.held_out_rows > 500
    # Served exactly when the evaluation accepted it.
    assert stored.active is evaluation.accepted is outcome.activated
