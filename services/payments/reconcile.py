"""Reconciliation: ask Stripe about what stayed pending, so a lost webhook strands nothing.

Every run (the `reconcile_payments` cron job, each minute) looks at what has not
changed for PAYMENT_RECONCILE_AFTER_SECONDS:

- stored webhook events no job applied: applied now;
- open payments (PENDING, PROCESSING, FAILED): an intent never created (checkout timed
  out and was not retried) is created with its saved key; an intent whose order has
  moved on, or that a later attempt replaced, is cancelled so it can never be paid;
  any other is retrieved. Stripe's answer is applied like a webhook (apply.py);
- pending refunds: one never sent is sent with its saved key, any other retrieved.

Each row asked about is touched (`updated_at`), so it is asked again only after another
window. Everything is idempotent: a run racing a webhook, or another run, changes
nothing twice. Stripe being unavailable ends the run with `GatewayUnavailable`, which
the job retries with backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from models.payment import OPEN_PAYMENT_STATUSES, RefundStatus
from services.orders.transitions import orders
from services.payments.apply import Applied, IntentFact, RefundFact
from services.payments.checkout import Attempt, attempt_of, intent_of
from services.payments.errors import PaymentRefusedError
from services.payments.gateway import GatewayRefused, Intent, PaymentGateway
from services.payments.records import cancel_key, payments, refunds, stripe_events
from services.payments.refunds import give_back, send_refund
from services.payments.webhooks import apply_fact, apply_stored_event

log = logging.getLogger(__name__)
BATCH = 200
_WAITING = (OrderStatus.PAYMENT_PENDING.value, OrderStatus.PAYMENT_FAILED.value)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    events: int
    payments: int
    refunds: int

    @property
    def total(self) -> int:
        """How many rows the run looked at."""
        return self.events + self.payments + self.refunds


async def _due(engine: AsyncEngine, query: sa.Select[Any]) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(query.limit(BATCH)))


async def _touch(engine: AsyncEngine, table: sa.Table, row_id: int, now: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            table.update()
            .where(table.c.id == row_id, table.c.updated_at < now)
            .values(updated_at=now)
        )


async def _ask(gateway: PaymentGateway, attempt: Attempt, row: Any) -> Intent:
    intent = await intent_of(gateway, attempt)
    superseded = row.attempt < row.latest_attempt
    if row.order_status in _WAITING and not superseded:
        return intent
    if intent.status in ("succeeded", "canceled"):
        return intent
    try:
        return await gateway.cancel_intent(
            intent.id, idempotency_key=cancel_key(attempt.order_id, attempt.attempt)
        )
    except GatewayRefused:  # it moved on meanwhile (succeeded, processing): ask again
        return await gateway.retrieve_intent(intent.id)


async def _payments(
    engine: AsyncEngine, redis: Redis, gateway: PaymentGateway, cutoff: datetime, now: datetime
) -> int:
    p = payments.c
    later = payments.alias("later")
    latest = (
        sa.select(sa.func.max(later.c.attempt)).where(later.c.order_id == p.order_id)
    ).scalar_subquery()
    rows = await _due(
        engine,
        sa.select(
            *payments.c, orders.c.status.label("order_status"), latest.label("latest_attempt")
        )
        .join(orders, orders.c.id == p.order_id)
        .where(p.status.in_([s.value for s in OPEN_PAYMENT_STATUSES]), p.updated_at <= cutoff)
        .order_by(p.updated_at),
    )
    for row in rows:
        try:
            intent = await _ask(gateway, attempt_of(row), row)
        except GatewayRefused as error:  # e.g. an intent Stripe does not know
            log.warning("payment not reconciled", extra={"payment_id": row.id, "code": error.code})
        else:
            applied = await apply_fact(engine, redis, IntentFact.from_intent(intent, at=now))
            await _give_back(engine, gateway, applied)
            log.info("payment reconciled", extra={"payment_id": row.id, "outcome": applied.outcome})
        await _touch(engine, payments, row.id, now)
    return len(rows)


async def _give_back(engine: AsyncEngine, gateway: PaymentGateway, applied: Applied) -> None:
    for payment_id in applied.give_back:
        await give_back(engine, gateway, payment_id, reason="the order no longer needs it")


async def _refunds(
    engine: AsyncEngine, redis: Redis, gateway: PaymentGateway, cutoff: datetime, now: datetime
) -> int:
    r = refunds.c
    rows = await _due(
        engine,
        sa.select(refunds)
        .where(r.status == RefundStatus.PENDING.value, r.updated_at <= cutoff)
        .order_by(r.updated_at),
    )
    for row in rows:
        try:
            if row.stripe_refund_id is None:
                await send_refund(engine, gateway, row)
            else:
                found = await gateway.retrieve_refund(row.stripe_refund_id)
                await apply_fact(engine, redis, RefundFact.from_refund(found, at=now))
        except (GatewayRefused, PaymentRefusedError):
            log.warning("refund not reconciled", extra={"refund_id": row.id})
        await _touch(engine, refunds, row.id, now)
    return len(rows)


async def reconcile(
    engine: AsyncEngine,
    redis: Redis,
    gateway: PaymentGateway,
    *,
    older_than: timedelta,
    now: datetime | None = None,
) -> ReconcileReport:
    """Apply unapplied events, and ask Stripe about payments and refunds pending too long."""
    now = now or utcnow()
    cutoff = now - older_than
    e = stripe_events.c
    events = await _due(
        engine,
        sa.select(e.id)
        .where(e.applied_at.is_(None), e.received_at <= cutoff)
        .order_by(e.received_at),
    )
    for event in events:
        applied = await apply_stored_event(engine, redis, event.id)
        await _give_back(engine, gateway, applied)
    return ReconcileReport(
        events=len(events),
        payments=await _payments(engine, redis, gateway, cutoff, now),
        refunds=await _refunds(engine, redis, gateway, cutoff, now),
    )
