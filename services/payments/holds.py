"""Holds that end while a payment is under way: PAYMENT_PENDING past the hold's deadline.

A reservation holds its vehicle until `reserved_until` (RESERVATION_MINUTES after the
reservation), and so does paying for it: checkout does not extend the hold. When the
deadline passes with the order PAYMENT_PENDING, the payment may still succeed, so the
order is not simply cancelled (the buyer would be charged for a car released to someone
else). Instead the order's latest PaymentIntent is cancelled on Stripe, and Stripe's
answer is applied like a webhook (apply.py):

- Stripe cancels it: the payment is CANCELED, the order PAYMENT_FAILED; the reservation
  expiry that runs right after (services/orders/maintenance.py) cancels the order and
  releases the vehicle;
- Stripe refuses because the payment succeeded: the order becomes PAID, as it should;
- the payment is processing (a bank transfer, 3-D Secure done): Stripe refuses to cancel,
  the order stays PAYMENT_PENDING and its webhook (or reconciliation) decides;
- Stripe is unavailable: the order is asked about again at the next run.

A payment that succeeds after its order was cancelled anyway is refunded (give_back).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from services.orders.transitions import orders
from services.payments.apply import IntentFact, apply_intent_fact
from services.payments.checkout import attempt_of, intent_of
from services.payments.gateway import GatewayError, GatewayRefused, Intent, PaymentGateway
from services.payments.records import cancel_key, payments
from services.payments.refunds import give_back

log = logging.getLogger(__name__)
BATCH = 200


async def _lapsed_payments(engine: AsyncEngine, now: datetime) -> list[sa.Row[tuple[object, ...]]]:
    """The latest payment of each PAYMENT_PENDING order whose hold has ended."""
    p, o = payments.c, orders.c
    later = payments.alias("later")
    latest = (
        sa.select(sa.func.max(later.c.attempt)).where(later.c.order_id == p.order_id)
    ).scalar_subquery()
    query = (
        sa.select(payments)
        .join(orders, o.id == p.order_id)
        .where(
            o.status == OrderStatus.PAYMENT_PENDING.value,
            o.reserved_until <= now,
            p.attempt == latest,
        )
        .order_by(o.reserved_until)
        .limit(BATCH)
    )
    async with engine.connect() as conn:
        return list(await conn.execute(query))


async def _cancelled_or_current(gateway: PaymentGateway, row: object) -> Intent:
    attempt = attempt_of(row)
    intent = await intent_of(gateway, attempt)
    if intent.status in ("succeeded", "canceled"):
        return intent
    try:
        return await gateway.cancel_intent(
            intent.id, idempotency_key=cancel_key(attempt.order_id, attempt.attempt)
        )
    except GatewayRefused:  # it succeeded or is processing meanwhile: its state decides
        return await gateway.retrieve_intent(intent.id)


async def end_payment_holds(
    engine: AsyncEngine, redis: Redis, gateway: PaymentGateway, *, now: datetime | None = None
) -> int:
    """Cancel the PaymentIntents of PAYMENT_PENDING orders past their hold; how many
    orders left PAYMENT_PENDING (to PAYMENT_FAILED, or PAID if the payment had succeeded)."""
    now = now or utcnow()
    moved = 0
    for row in await _lapsed_payments(engine, now):
        try:
            intent = await _cancelled_or_current(gateway, row)
        except GatewayError as error:
            log.warning("payment hold not ended; next run", extra={"order_id": row.order_id,
                        "error": repr(error)})  # fmt: skip
            continue
        applied = await apply_intent_fact(engine, redis, IntentFact.from_intent(intent, at=now))
        for payment_id in applied.give_back:
            await give_back(engine, gateway, payment_id, reason="the order no longer needs it")
        moved += bool(applied.events)
        log.info("payment hold ended", extra={"order_id": row.order_id, "outcome": applied.outcome})
    return moved
