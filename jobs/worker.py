"""The arq worker: its functions, schedules, shared clients and retry policy.

Every job is safe to run twice (arq delivers at least once). A job that raises is retried
up to `MAX_TRIES` times, `arq.Retry` backing off as the job asks; the outcome of each run
is logged. Feature modules add their job functions to `FUNCTIONS` and schedules to
`CRON_JOBS` here, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Function, Worker, func

from core.db import Database, create_engine
from core.object_store import ObjectStore
from core.redis import create_pool, create_redis
from core.redis_keys import JOB_QUEUE
from core.settings import Settings
from jobs.context import JobResources
from jobs.feeds import ingest_feed_job, sweep_unfinished_job
from jobs.gdpr import BUILD_EXPORT_JOB, build_data_export_job
from jobs.idempotency import sweep_idempotency_records_job
from jobs.observed import observed
from jobs.orders import complete_delivered_job, expire_reservations_job
from jobs.payments import (
    apply_stripe_event_job,
    close_payment_gateway,
    open_payment_gateway,
    reconcile_payments_job,
)
from jobs.photos import fetch_feed_photos_job, process_photo_job
from jobs.pricing import refresh_quote_cache_job
from jobs.resilient import ResilientWorker
from jobs.retention import (
    purge_audit_entries_job,
    retention_cron_jobs,
    sweep_exports_job,
    sweep_quotes_job,
    sweep_sessions_job,
)
from jobs.valuation import RETRAIN_JOB, retrain_valuation_job
from services.pricing.model_serving import watch_active_model

MAX_TRIES = 5
JOB_TIMEOUT_SECONDS = 300

FUNCTIONS: list[Any] = [
    func(expire_reservations_job, name="expire_reservations", max_tries=MAX_TRIES),
    func(complete_delivered_job, name="complete_delivered", max_tries=MAX_TRIES),
    func(ingest_feed_job, name="ingest_feed", max_tries=MAX_TRIES),
    func(sweep_unfinished_job, name="sweep_unfinished", max_tries=MAX_TRIES),
    func(refresh_quote_cache_job, name="refresh_quote_cache", max_tries=MAX_TRIES),
    func(apply_stripe_event_job, name="apply_stripe_event", max_tries=MAX_TRIES),
    func(reconcile_payments_job, name="reconcile_payments", max_tries=MAX_TRIES),
    func(sweep_idempotency_records_job, name="sweep_idempotency_records", max_tries=MAX_TRIES),
    func(purge_audit_entries_job, name="purge_audit_entries", max_tries=MAX_TRIES),
    func(sweep_sessions_job, name="sweep_sessions", max_tries=MAX_TRIES),
    func(sweep_quotes_job, name="sweep_quotes", max_tries=MAX_TRIES),
    func(sweep_exports_job, name="sweep_exports", max_tries=MAX_TRIES),
    func(build_data_export_job, name=BUILD_EXPORT_JOB, max_tries=MAX_TRIES),
    # Training is minutes at most; a failed one waits for the next trigger, not 5 tries.
    func(retrain_valuation_job, name=RETRAIN_JOB, max_tries=2),
    func(process_photo_job, name="process_photo", max_tries=MAX_TRIES),
    func(fetch_feed_photos_job, name="fetch_feed_photos", max_tries=MAX_TRIES),
]

CRON_JOBS: list[Any] = [
    # unique: with several workers, one run per tick (arq locks the cron job's id)
    cron(expire_reservations_job, name="cron:expire_reservations", second=0, unique=True),
    cron(complete_delivered_job, name="cron:complete_delivered", minute=7, second=30, unique=True),
    cron(sweep_unfinished_job, name="cron:sweep_unfinished", second=20, unique=True),
    cron(refresh_quote_cache_job, name="cron:refresh_quote_cache", second=40, unique=True),
    cron(reconcile_payments_job, name="cron:reconcile_payments", second=50, unique=True),
    # Daily, at a quiet hour (UTC).
    cron(
        retrain_valuation_job,
        name="cron:retrain_valuation",
        hour=3,
        minute=17,
        second=0,
        unique=True,
    ),
]


def _startup(settings: Settings) -> Any:
    async def startup(ctx: dict[str, Any]) -> None:
        assert settings.redis_url is not None
        ctx["resources"] = JobResources(
            settings=settings,
            database=Database(create_engine(settings)),
            redis=create_redis(settings.redis_url),
            objects=ObjectStore(settings) if settings.s3_url else None,
        )
        open_payment_gateway(ctx, settings)
        # The worker quotes too (refresh_quote_cache): it follows the active valuation model.
        ctx["valuation_model_watch"] = asyncio.create_task(
            watch_active_model(ctx["resources"].database.engine,
                               settings.valuation_model_check_seconds)
        )  # fmt: skip

    return startup


async def _shutdown(ctx: dict[str, Any]) -> None:
    watch: asyncio.Task[None] | None = ctx.get("valuation_model_watch")
    if watch is not None:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    await close_payment_gateway(ctx)
    res: JobResources | None = ctx.get("resources")
    if res is not None:
        await res.redis.aclose()
        if res.objects is not None:
            await res.objects.close()
        await res.database.dispose()


def redis_settings(settings: Settings) -> RedisSettings:
    assert settings.redis_url is not None
    return RedisSettings.from_dsn(settings.redis_url)


POLL_DELAY_SECONDS = 0.05


def create_worker(
    settings: Settings, *, handle_signals: bool = True, burst: bool = False
) -> Worker:
    """A worker on the configured Redis, with every job and schedule; it outlives Redis
    outages (jobs/resilient.py) on the same bounded, circuit-guarded pool as the API."""
    assert settings.redis_url is not None
    return ResilientWorker(
        # Every run measured and traced (jobs/observed.py).
        functions=[observed(f if isinstance(f, Function) else func(f)) for f in FUNCTIONS],
        # Retention sweeps run on their schedule settings (jobs/retention.py).
        cron_jobs=[observed(job) for job in (*CRON_JOBS, *retention_cron_jobs(settings))],
        queue_name=JOB_QUEUE,
        redis_settings=redis_settings(settings),
        redis_pool=ArqRedis(create_pool(settings.redis_url), default_queue_name=JOB_QUEUE),
        on_startup=_startup(settings),
        on_shutdown=_shutdown,
        handle_signals=handle_signals,
        burst=burst,
        max_tries=MAX_TRIES,
        job_timeout=JOB_TIMEOUT_SECONDS,
        # On SIGTERM, running jobs get this long to finish before they are handed back.
        job_completion_wait=settings.worker_shutdown_seconds,
        keep_result=3600,
        # How often an idle worker asks Redis for due jobs (arq's default is 0.5 s): a
        # payment's webhook waits this long at most before its job starts.
        poll_delay=POLL_DELAY_SECONDS,
    )
