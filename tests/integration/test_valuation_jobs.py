"""Valuation jobs through a real arq worker: a large feed run queues a retraining, which
stores a new model version with its evaluation; a small one does not; the daily schedule
exists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.job_queue import ArqJobQueue
from core.settings import Settings
from jobs.worker import CRON_JOBS, create_worker
from services.feeds.runs import start_run
from services.pricing.model_store import list_models
from tests.feeds_data import a_dealer, csv_text, feed_row_count, feed_rows, new_source
from tests.valuation_data import stored_models


@pytest.fixture
async def no_models(engine: AsyncEngine) -> AsyncIterator[None]:
    async with stored_models(engine):
        yield


async def _ingest_with_worker(
    engine: AsyncEngine, redis: Redis, settings: Settings, rows: int, tmp_path: Path
) -> str:
    source = new_source("valuation")
    feed = tmp_path / "feed.csv"
    feed.write_text(csv_text(feed_rows(rows)))
    await start_run(engine, ArqJobQueue(redis), source=source, url=str(feed),
                    dealer_id=await a_dealer(engine))  # fmt: skip
    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()
    return source


async def _remove(engine: AsyncEngine, source: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM vehicle WHERE source = :s"), {"s": source})


@pytest.mark.usefixtures("no_models")
async def test_a_large_feed_run_retrains_the_model(
    engine: AsyncEngine, redis: Redis, settings: Settings, tmp_path: Path
) -> None:
    large = settings.model_copy(update={"valuation_retrain_after_feed_rows": 300})
    source = await _ingest_with_worker(engine, redis, large, 300, tmp_path)
    try:
        assert await feed_row_count(engine, source) == 300
        async with engine.connect() as conn:
            [model] = await list_models(conn)
        assert model.evaluation.training_rows + model.evaluation.held_out_rows > 800
    finally:
        await _remove(engine, source)


@pytest.mark.usefixtures("no_models")
async def test_a_small_feed_run_does_not(
    engine: AsyncEngine, redis: Redis, settings: Settings, tmp_path: Path
) -> None:
    small = settings.model_copy(update={"valuation_retrain_after_feed_rows": 301})
    source = await _ingest_with_worker(engine, redis, small, 300, tmp_path)
    try:
        async with engine.connect() as conn:
            assert await list_models(conn) == []
    finally:
        await _remove(engine, source)


def test_the_model_is_retrained_daily() -> None:
    [job] = [job for job in CRON_JOBS if job.name == "cron:retrain_valuation"]
    assert (job.hour, job.minute, job.second, job.unique) == (3, 17, 0, True)
