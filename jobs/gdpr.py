"""The job that builds a requested personal-data export (services/gdpr/exports.py)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from jobs.context import resources
from services.crypto import FieldCipher
from services.gdpr.exports import BUILD_EXPORT_JOB, build_export, mark_failed

log = logging.getLogger(__name__)
# The worker's tries of one job (jobs/worker.py MAX_TRIES).
MAX_TRIES = 5

__all__ = ["BUILD_EXPORT_JOB", "build_data_export_job"]


async def build_data_export_job(ctx: dict[str, Any], export_id: str) -> bool:
    """Build export `export_id` once (a second run finds it READY and does nothing); on
    the last try a failure marks it FAILED, so the person sees it and may ask again."""
    res = resources(ctx)
    try:
        built = await build_export(
            res.database.engine,
            FieldCipher.from_settings(res.settings),
            uuid.UUID(export_id),
            ttl=timedelta(seconds=res.settings.export_link_ttl_seconds),
        )
    except Exception as error:
        if ctx.get("job_try", 1) >= MAX_TRIES:
            await mark_failed(res.database.engine, uuid.UUID(export_id), repr(error))
            log.warning("data export failed", extra={"job": BUILD_EXPORT_JOB, "export": export_id})
            return False
        raise
    log.info("data export built", extra={"job": BUILD_EXPORT_JOB, "export": export_id,
                                         "built": built})  # fmt: skip
    return built
