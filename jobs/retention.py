"""Retention sweeps, each on its own schedule setting (README "Retention").

A schedule is "HH:MM" (daily) or "*:MM" (hourly), UTC; `retention_cron_jobs` turns the
settings into arq cron jobs, unique across workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from arq import cron
from arq.cron import CronJob

from core.settings import Settings
from jobs.context import resources
from jobs.idempotency import sweep_idempotency_records_job
from services import retention
from services.gdpr.exports import sweep_exports
from services.photos.retention import sweep_photos

log = logging.getLogger(__name__)


def _logged(job: str, count: int) -> int:
    log.info("retention sweep", extra={"job": job, "count": count})
    return count


async def purge_audit_entries_job(ctx: dict[str, Any]) -> int:
    res = resources(ctx)
    age = timedelta(days=res.settings.audit_retention_days)
    return _logged("purge_audit_entries", await retention.purge_audit_entries(
        res.database.engine, age))  # fmt: skip


async def sweep_sessions_job(ctx: dict[str, Any]) -> int:
    res = resources(ctx)
    age = timedelta(days=res.settings.session_retention_days)
    return _logged("sweep_sessions", await retention.sweep_sessions(res.database.engine, age))


async def sweep_quotes_job(ctx: dict[str, Any]) -> int:
    res = resources(ctx)
    age = timedelta(days=res.settings.quote_retention_days)
    return _logged("sweep_quotes", await retention.sweep_quotes(res.database.engine, age))


async def sweep_exports_job(ctx: dict[str, Any]) -> int:
    res = resources(ctx)
    return _logged("sweep_exports", await sweep_exports(res.database.engine))


async def sweep_photos_job(ctx: dict[str, Any]) -> int:
    res = resources(ctx)
    if res.objects is None:
        raise RuntimeError("S3_URL is not set: the photo sweep needs the object store")
    age = timedelta(days=res.settings.photo_retention_days)
    swept = await sweep_photos(res.database.engine, res.objects, age)
    log.info("photo sweep", extra={"pictures": swept.pictures, "uploads": swept.uploads})
    return _logged("sweep_photos", swept.photos)


def schedule_fields(schedule: str) -> dict[str, int]:
    """arq cron fields of "HH:MM" (daily) or "*:MM" (hourly)."""
    hour, minute = schedule.split(":")
    fields = {"minute": int(minute), "second": 0}
    if hour != "*":
        fields["hour"] = int(hour)
    return fields


Job = Callable[[dict[str, Any]], Awaitable[int]]

SWEEPS: tuple[tuple[str, Job, str], ...] = (
    ("sweep_idempotency_records", sweep_idempotency_records_job, "idempotency_retention_schedule"),
    ("purge_audit_entries", purge_audit_entries_job, "audit_retention_schedule"),
    ("sweep_sessions", sweep_sessions_job, "session_retention_schedule"),
    ("sweep_quotes", sweep_quotes_job, "quote_retention_schedule"),
    ("sweep_exports", sweep_exports_job, "export_retention_schedule"),
    ("sweep_photos", sweep_photos_job, "photo_retention_schedule"),
)


def retention_cron_jobs(settings: Settings) -> list[CronJob]:
    """Every retention sweep at the time its setting names."""
    return [
        cron(job, name=f"cron:{name}", unique=True, **schedule_fields(getattr(settings, attr)))  # type: ignore[arg-type]
        for name, job, attr in SWEEPS
    ]
