"""The hourly sweep of idempotency records older than IDEMPOTENCY_RETENTION_SECONDS."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from core.idempotency import sweep_expired
from jobs.context import resources

log = logging.getLogger(__name__)


async def sweep_idempotency_records_job(ctx: dict[str, Any]) -> int:
    """Delete the Idempotency-Key records past their retention (safe to run twice)."""
    res = resources(ctx)
    retention = timedelta(seconds=res.settings.idempotency_retention_seconds)
    swept = await sweep_expired(res.database.engine, retention)
    log.info(
        "idempotency records swept", extra={"job": "sweep_idempotency_records", "count": swept}
    )
    return swept
