"""Applying one fact from Stripe to a payment, its refunds and its order.

A fact is what Stripe said about one PaymentIntent or refund: in a webhook event, in
an answer to checkout or confirm, or to reconciliation's question. Facts are applied
idempotently, in one transaction per fact under the order's lock (records.py):

1. the payment takes the fact's status only if statuses.supersedes allows it (a payment
   never moves backwards; a duplicate changes nothing);
2. the order then follows the payment's status *as it now is*, whether or not this fact
   changed it, so a fact applied twice, or after a crash between two steps, still
   leaves the order right:

| payment status       | order                    | order events (by)                          |
|----------------------|--------------------------|--------------------------------------------|
| SUCCEEDED            | PAYMENT_PENDING          | PAYMENT_SUCCEEDED (payments)               |
| SUCCEEDED            | PAYMENT_FAILED           | CHECKOUT (buyer), PAYMENT_SUCCEEDED        |
| SUCCEEDED            | paid by another payment, | none; the payment is given back            |
|                      | or CANCELLED             | (refunds.give_back)                        |
| FAILED, CANCELED     | PAYMENT_PENDING, and it  | PAYMENT_FAILED (payments)                  |
|                      | is the latest attempt    |                                            |
| REFUNDED             | PAID … DELIVERED, and no | REFUND_SETTLED (payments)                  |
|                      | other payment stands     |                                            |

The second row: the buyer retried a declined card on the same PaymentIntent (Stripe.js
lets them) after the decline had already moved the order to PAYMENT_FAILED. The table
only lets a buyer check out again, so the order records that retry as the buyer's
CHECKOUT before Stripe's PAYMENT_SUCCEEDED, rather than gaining an edge DESIGN 6.3 lacks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from models.payment import PaymentStatus, RefundStatus
from services.orders.lifecycle import REFUNDABLE_STATUSES, Actor, ActorKind, OrderEventKind
from services.orders.ordering import after_commit
from services.orders.transitions import AppliedEvent, apply_transition
from services.payments.gateway import Intent, RefundState
from services.payments.records import (
    lock_order,
    metadata_id,
    order_of_intent,
    order_of_refund,
    payments,
    payments_of,
    refunds,
)
from services.payments.statuses import intent_status, refund_status, supersedes

log = logging.getLogger(__name__)
P = PaymentStatus
PAYMENTS = Actor(ActorKind.PAYMENTS)


@dataclass(frozen=True, slots=True)
class IntentFact:
    """Stripe stated, at `at`, that a PaymentIntent has our status `status`."""

    intent_id: str
    status: PaymentStatus
    at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str | None = None

    @classmethod
    def from_intent(cls, intent: Intent, *, at: datetime | None = None) -> IntentFact:
        """Stripe's answer about an intent, true as of now (or `at`)."""
        has_error = intent.failure_message is not None
        return cls(
            intent_id=intent.id,
            status=intent_status(intent.status, has_error=has_error),
            at=at or utcnow(),
            metadata=intent.metadata,
            failure_message=intent.failure_message,
        )


@dataclass(frozen=True, slots=True)
class RefundFact:
    """Stripe stated that a refund has our status `status`."""

    refund_id: str
    status: RefundStatus
    at: datetime
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_refund(cls, refund: RefundState, *, at: datetime | None = None) -> RefundFact:
        """Stripe's answer about a refund, true as of now (or `at`)."""
        return cls(refund.id, refund_status(refund.status), at or utcnow(), refund.metadata)


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a fact did: a line for the logs, order events, payments to give back."""

    outcome: str
    events: list[AppliedEvent] = field(default_factory=list)
    give_back: tuple[int, ...] = ()


async def _update_payment(conn: AsyncConnection, payment: Any, fact: IntentFact) -> bool:
    current = PaymentStatus(payment.status)
    values: dict[str, object] = {}
    if payment.stripe_payment_intent_id is None:
        values["stripe_payment_intent_id"] = fact.intent_id
    changed = supersedes(fact.status, fact.at, current, payment.stripe_updated_at)
    if changed:
        values |= {
            "status": fact.status.value,
            "stripe_updated_at": fact.at,
            "failure_message": (fact.failure_message or "")[:500] or None,
        }
    if values:
        values["updated_at"] = utcnow()
        await conn.execute(payments.update().where(payments.c.id == payment.id).values(**values))
    if changed and fact.status is P.REFUNDED:
        # Stripe's word that the charge is refunded settles the refunds we asked for.
        await conn.execute(
            refunds.update()
            .where(
                refunds.c.payment_id == payment.id, refunds.c.status == RefundStatus.PENDING.value
            )
            .values(status=RefundStatus.SUCCEEDED.value, updated_at=utcnow())
        )
    return changed


def _order_steps(
    order: Any, payment_id: int, statuses: dict[int, PaymentStatus], latest_id: int
) -> tuple[list[tuple[OrderEventKind, Actor]], bool]:
    """The order events the payment's status calls for, and whether to give it back."""
    order_status = OrderStatus(order.status)
    status = statuses[payment_id]
    others = [s for pid, s in statuses.items() if pid != payment_id]
    if status is P.SUCCEEDED:
        if order_status is OrderStatus.PAYMENT_PENDING:
            return [(OrderEventKind.PAYMENT_SUCCEEDED, PAYMENTS)], False
        if order_status is OrderStatus.PAYMENT_FAILED:
            buyer = Actor(ActorKind.BUYER, order.buyer_id)
            return [
                (OrderEventKind.CHECKOUT, buyer),
                (OrderEventKind.PAYMENT_SUCCEEDED, PAYMENTS),
            ], False
        paid_by_other = any(s in (P.SUCCEEDED, P.REFUNDED) for s in others)
        return [], paid_by_other or order_status is OrderStatus.CANCELLED
    latest_failed = status in (P.FAILED, P.CANCELED) and payment_id == latest_id
    if latest_failed and order_status is OrderStatus.PAYMENT_PENDING:
        return [(OrderEventKind.PAYMENT_FAILED, PAYMENTS)], False
    if status is P.REFUNDED and order_status in REFUNDABLE_STATUSES and P.SUCCEEDED not in others:
        return [(OrderEventKind.REFUND_SETTLED, PAYMENTS)], False
    return [], False


def _reason(event: OrderEventKind, intent_id: str, failure: str | None) -> str:
    if event is OrderEventKind.PAYMENT_SUCCEEDED:
        return f"payment {intent_id} succeeded"
    if event is OrderEventKind.PAYMENT_FAILED:
        return (
            f"payment {intent_id} failed: {failure}" if failure else f"payment {intent_id} failed"
        )[:500]
    if event is OrderEventKind.CHECKOUT:
        return f"payment {intent_id} retried on Stripe"
    return f"refund of payment {intent_id} settled"


async def _apply_locked(
    conn: AsyncConnection, order: Any, fact: IntentFact, *, payment_id: int | None = None
) -> Applied:
    rows = await payments_of(conn, order.id)
    payment = next(
        (
            r
            for r in rows
            if r.stripe_payment_intent_id == fact.intent_id
            or (r.stripe_payment_intent_id is None and r.id == payment_id)
        ),
        None,
    )
    if payment is None:
        return Applied("unknown payment intent")
    changed = await _update_payment(conn, payment, fact)
    statuses = {r.id: PaymentStatus(r.status) for r in rows}
    if changed:
        statuses[payment.id] = fact.status
    steps, give_back = _order_steps(order, payment.id, statuses, rows[-1].id)
    events = [
        await apply_transition(
            conn,
            order.id,
            event,
            actor,
            reason=_reason(event, fact.intent_id, fact.failure_message),
        )
        for event, actor in steps
    ]
    status = statuses[payment.id].value
    outcome = f"payment {status.lower()}" if changed else f"stale or repeated ({status.lower()})"
    if events:
        outcome += f"; order {events[-1].to_status.value}"
    return Applied(outcome, events, (payment.id,) if give_back else ())


async def apply_intent_fact(engine: AsyncEngine, redis: Redis, fact: IntentFact) -> Applied:
    """Apply a fact about a PaymentIntent to its payment and order, idempotently."""
    async with engine.begin() as conn:
        order_id = await order_of_intent(conn, fact.intent_id, fact.metadata)
        if order_id is None:
            return Applied("unknown payment intent")
        order = await lock_order(conn, order_id)
        applied = await _apply_locked(
            conn, order, fact, payment_id=metadata_id(fact.metadata, "payment_id")
        )
    await after_commit(redis, applied.events, engine=engine)
    return applied


async def apply_refund_fact(engine: AsyncEngine, redis: Redis, fact: RefundFact) -> Applied:
    """Apply a fact about a refund; a succeeded refund settles its payment and order."""
    async with engine.begin() as conn:
        order_id = await order_of_refund(conn, fact.refund_id, fact.metadata)
        if order_id is None:
            return Applied("unknown refund")
        order = await lock_order(conn, order_id)
        c = refunds.c
        refund = (
            await conn.execute(
                sa.select(c.id, c.status, c.payment_id, c.stripe_refund_id).where(
                    c.order_id == order_id,
                    sa.or_(
                        c.stripe_refund_id == fact.refund_id,
                        c.id == (metadata_id(fact.metadata, "refund_id") or 0),
                    ),
                )
            )
        ).first()
        if refund is None:
            return Applied("unknown refund")
        values: dict[str, object] = {}
        if refund.stripe_refund_id is None:
            values["stripe_refund_id"] = fact.refund_id
        final = refund.status != RefundStatus.PENDING.value
        if not final and fact.status is not RefundStatus.PENDING:
            values["status"] = fact.status.value
        if values:
            await conn.execute(
                refunds.update().where(c.id == refund.id).values(**values, updated_at=utcnow())
            )
        applied = Applied(f"refund {(values.get('status') or refund.status)!s}".lower())
        if fact.status is RefundStatus.SUCCEEDED:
            intent_id = await conn.scalar(
                sa.select(payments.c.stripe_payment_intent_id).where(
                    payments.c.id == refund.payment_id
                )
            )
            settled = IntentFact(str(intent_id), P.REFUNDED, fact.at)
            inner = await _apply_locked(conn, order, settled)
            applied = Applied(f"{applied.outcome}; {inner.outcome}", inner.events)
    await after_commit(redis, applied.events, engine=engine)
    return applied
