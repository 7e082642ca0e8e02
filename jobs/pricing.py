"""Pricing jobs: quote cache refresh (every minute; services/pricing/refresh.py)."""

from __future__ import annotations

import logging
from typing import Any

from jobs.context import resources
from services.pricing.refresh import refresh_quote_cache

log = logging.getLogger(__name__)


async def refresh_quote_cache_job(ctx: dict[str, Any]) -> int:
    """Recompute the cached pricings of recently quoted vehicles that are about to expire."""
    res = resources(ctx)
    refreshed = await refresh_quote_cache(res.database.engine, res.redis)
    log.info("quote cache refreshed", extra={"job": "refresh_quote_cache", "count": refreshed})
    return refreshed
