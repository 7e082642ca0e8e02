"""Order maintenance jobs: hold expiry (every minute), auto-completion (hourly)."""

from __future__ import annotations

import logging
from typing import Any

from jobs.context import resources
from jobs.payments import payment_gateway
from services.orders.maintenance import complete_delivered, expire_reservations
from services.payments.gateway import GatewayError
from services.payments.holds import end_payment_holds

log = logging.getLogger(__name__)


async def expire_reservations_job(ctx: dict[str, Any]) -> int:
    """Release lapsed holds: pending payments past the deadline are cancelled on Stripe
    first (services/payments/holds.py), then lapsed reservations and failed payments."""
    res = resources(ctx)
    gateway = payment_gateway(ctx)
    if gateway is not None:
        try:
            ended = await end_payment_holds(res.database.engine, res.redis, gateway)
        except GatewayError as error:  # Stripe down: the holds are asked about next minute
            log.warning("payment holds not ended", extra={"error": repr(error)})
        else:
            log.info("payment holds ended", extra={"job": "expire_reservations", "count": ended})
    released = await expire_reservations(res.database.engine, res.redis)
    log.info("reservations expired", extra={"job": "expire_reservations", "count": released})
    return released


async def complete_delivered_job(ctx: dict[str, Any]) -> int:
    """Complete orders delivered 14 days ago."""
    res = resources(ctx)
    completed = await complete_delivered(res.database.engine, res.redis)
    log.info("delivered orders completed", extra={"job": "complete_delivered", "count": completed})
    return completed
