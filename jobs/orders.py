"""Order maintenance jobs: reservation expiry (every minute), auto-completion (hourly)."""

from __future__ import annotations

import logging
from typing import Any

from jobs.context import resources
from services.orders.maintenance import complete_delivered, expire_reservations

log = logging.getLogger(__name__)


async def expire_reservations_job(ctx: dict[str, Any]) -> int:
    """Release lapsed reservations."""
    res = resources(ctx)
    released = await expire_reservations(res.database.engine, res.redis)
    log.info("reservations expired", extra={"job": "expire_reservations", "count": released})
    return released


async def complete_delivered_job(ctx: dict[str, Any]) -> int:
    """Complete orders delivered 14 days ago."""
    res = resources(ctx)
    completed = await complete_delivered(res.database.engine, res.redis)
    log.info("delivered orders completed", extra={"job": "complete_delivered", "count": completed})
    return completed
