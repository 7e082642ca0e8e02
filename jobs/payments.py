"""Payment jobs: apply a stored Stripe event (enqueued by the webhook), reconcile (cron).

Both are safe to run twice (services/payments applies facts idempotently). A transient
failure (Stripe, PostgreSQL or Redis unavailable) is retried by arq with a growing
delay, up to the worker's `max_tries`; the outcome of every run is logged. The payment
gateway is made once per worker, at its start, and closed when it stops.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from core.settings import Settings
from jobs.context import resources
from services.payments.errors import ProviderUnavailableError
from services.payments.gateway import GatewayUnavailable, PaymentGateway
from services.payments.reconcile import reconcile
from services.payments.refunds import give_back
from services.payments.stripe_gateway import create_payment_gateway
from services.payments.webhooks import apply_stored_event

log = logging.getLogger(__name__)
APPLY_STRIPE_EVENT = "apply_stripe_event"
RECONCILE_PAYMENTS = "reconcile_payments"
_GATEWAY = "payment_gateway"
_UNAVAILABLE = (GatewayUnavailable, ProviderUnavailableError, OperationalError, InterfaceError,
                RedisError, OSError)  # fmt: skip


def _transient(error: BaseException) -> bool:
    """Whether trying again later may succeed: a service was unavailable, not a bug."""
    return isinstance(error, _UNAVAILABLE) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def stripe_event_job_id(event_id: str) -> str:
    """The job id of an event's application: arq keeps one job per id."""
    return f"stripe-event:{event_id}"


def open_payment_gateway(ctx: dict[str, Any], settings: Settings) -> None:
    """Make the worker's gateway (the worker's startup; None: payments not configured)."""
    ctx[_GATEWAY] = create_payment_gateway(settings)


def payment_gateway(ctx: dict[str, Any]) -> PaymentGateway | None:
    """The worker's gateway; None when payments are not configured."""
    gateway: PaymentGateway | None = ctx.get(_GATEWAY)
    return gateway


async def close_payment_gateway(ctx: dict[str, Any]) -> None:
    """Release the gateway's connections (the worker's shutdown)."""
    gateway: PaymentGateway | None = ctx.pop(_GATEWAY, None)
    if gateway is not None:
        await gateway.aclose()


def _retry(ctx: dict[str, Any], error: BaseException) -> Retry:
    delay = min(2 ** int(ctx.get("job_try", 1)), 120)
    log.warning("payment job will retry: %r", error, extra={"in_seconds": delay})
    return Retry(defer=delay)


async def apply_stripe_event_job(ctx: dict[str, Any], event_id: str) -> str:
    """Apply one stored Stripe event to its payment and order."""
    res = resources(ctx)
    try:
        applied = await apply_stored_event(res.database.engine, res.redis, event_id)
        gateway = payment_gateway(ctx)
        if gateway is not None:
            for payment_id in applied.give_back:
                await give_back(
                    res.database.engine, gateway, payment_id, reason="the order no longer needs it"
                )
    except Exception as error:
        if not _transient(error):
            raise
        raise _retry(ctx, error) from error
    log.info(
        "stripe event applied",
        extra={"job": APPLY_STRIPE_EVENT, "event": event_id, "outcome": applied.outcome},
    )
    return applied.outcome


async def reconcile_payments_job(ctx: dict[str, Any]) -> int:
    """Ask Stripe about payments and refunds pending too long; how many were looked at."""
    res = resources(ctx)
    gateway = payment_gateway(ctx)
    if gateway is None:
        return 0  # payments are not configured
    older_than = timedelta(seconds=res.settings.payment_reconcile_after_seconds)
    try:
        report = await reconcile(res.database.engine, res.redis, gateway, older_than=older_than)
    except Exception as error:
        if not _transient(error):
            raise
        raise _retry(ctx, error) from error
    log.info(
        "payments reconciled",
        extra={
            "job": RECONCILE_PAYMENTS,
            "events": report.events,
            "payments": report.payments,
            "refunds": report.refunds,
        },
    )
    return report.total
