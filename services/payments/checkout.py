"""Checkout: the order to PAYMENT_PENDING, and one PaymentIntent for its locked total.

1. In one transaction under the order's lock: a RESERVED (reservation not lapsed) or
   PAYMENT_FAILED order takes the CHECKOUT transition and gets a new payment attempt,
   whose row holds its idempotency key `order-<id>-attempt-<n>`; an order already
   PAYMENT_PENDING keeps its current attempt (a retried checkout is not an error).
2. After commit, Stripe is asked for the intent with that key. A retry after a timeout
   sends the same key, so Stripe answers with the intent it made the first time: one
   PaymentIntent per attempt, however often checkout runs.
3. Stripe's answer is applied as a fact (apply.py), which records the intent's id.

A new attempt cancels the previous attempt's intent (best effort: reconciliation
cancels what this misses), so a buyer cannot pay twice. The client secret is not
stored (models/payment.py): checkout returns it from Stripe's answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from models.payment import PaymentStatus
from services.orders.errors import OrderNotFoundError
from services.orders.lifecycle import Actor, OrderEventKind
from services.orders.ordering import after_commit
from services.orders.transitions import AppliedEvent, apply_transition
from services.payments.apply import IntentFact, apply_intent_fact
from services.payments.errors import (
    PaymentRefusedError,
    PaymentsNotConfiguredError,
    ProviderUnavailableError,
    ReservationLapsedError,
)
from services.payments.gateway import (
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    Intent,
    PaymentGateway,
)
from services.payments.records import (
    cancel_key,
    intent_key,
    intent_metadata,
    lock_order,
    payments,
    payments_of,
)
from services.payments.statuses import is_open

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    payment_id: int
    order_id: int
    attempt: int
    idempotency_key: str
    intent_id: str | None
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The attempt's payment, and the client secret Stripe.js confirms it with."""

    payment_id: int
    order_id: int
    client_secret: str | None


async def _prepare(
    engine: AsyncEngine, redis: Redis, order_id: int, buyer: Actor, now: datetime
) -> tuple[Attempt, Attempt | None]:
    """The attempt to pay with, and the previous one when a new attempt replaced it."""
    events: list[AppliedEvent] = []
    async with engine.begin() as conn:
        order = await lock_order(conn, order_id)
        if order is None:
            raise OrderNotFoundError(f"no order {order_id}")
        rows = await payments_of(conn, order_id)
        latest = rows[-1] if rows else None
        status = OrderStatus(order.status)
        if (
            status is OrderStatus.PAYMENT_PENDING
            and latest is not None
            and latest.status in (PaymentStatus.PENDING.value, PaymentStatus.PROCESSING.value)
        ):
            return attempt_of(latest), None
        if status is OrderStatus.RESERVED and order.reserved_until <= now:
            raise ReservationLapsedError(
                "the reservation has lapsed; the vehicle is being released"
            )
        if status is not OrderStatus.PAYMENT_PENDING:
            # Refuses anything but RESERVED and PAYMENT_FAILED, with the table's message.
            number = len(rows) + 1
            events.append(
                await apply_transition(
                    conn,
                    order_id,
                    OrderEventKind.CHECKOUT,
                    buyer,
                    reason=f"payment attempt {number}",
                    now=now,
                )
            )
        attempt = (latest.attempt if latest is not None else 0) + 1
        row = (
            await conn.execute(
                payments.insert()
                .values(
                    order_id=order_id,
                    attempt=attempt,
                    idempotency_key=intent_key(order_id, attempt),
                    status=PaymentStatus.PENDING.value,
                    amount_minor=order.total_minor,
                    currency=order.currency,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*payments.c)
            )
        ).one()
    await after_commit(redis, events, engine=engine)
    replaced = (
        latest is not None
        and latest.stripe_payment_intent_id is not None
        and is_open(PaymentStatus(latest.status))
    )
    return attempt_of(row), attempt_of(latest) if replaced else None


def attempt_of(row: Any) -> Attempt:
    """A payment row as the attempt it is."""
    return Attempt(
        payment_id=row.id,
        order_id=row.order_id,
        attempt=row.attempt,
        idempotency_key=row.idempotency_key,
        intent_id=row.stripe_payment_intent_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
    )


async def _retire(
    engine: AsyncEngine, redis: Redis, gateway: PaymentGateway, previous: Attempt
) -> None:
    """Cancel the replaced attempt's intent; if it succeeded meanwhile, apply that."""
    assert previous.intent_id is not None
    key = cancel_key(previous.order_id, previous.attempt)
    try:
        intent = await gateway.cancel_intent(previous.intent_id, idempotency_key=key)
    except GatewayRefused:
        try:
            intent = await gateway.retrieve_intent(previous.intent_id)
        except GatewayError:
            log.warning("replaced intent not checked", extra={"intent": previous.intent_id})
            return
    except GatewayError:
        log.warning("replaced intent not canceled", extra={"intent": previous.intent_id})
        return
    await apply_intent_fact(engine, redis, IntentFact.from_intent(intent))


async def intent_of(gateway: PaymentGateway, attempt: Attempt) -> Intent:
    """The attempt's intent: retrieved, or created with its saved key (idempotent)."""
    if attempt.intent_id is not None:
        return await gateway.retrieve_intent(attempt.intent_id)
    return await gateway.create_intent(
        amount_minor=attempt.amount_minor,
        currency=attempt.currency,
        idempotency_key=attempt.idempotency_key,
        metadata=intent_metadata(attempt.order_id, attempt.payment_id, attempt.attempt),
        description=f"Auto-Broker order AB-{attempt.order_id:08d}",
    )


async def checkout(
    engine: AsyncEngine,
    redis: Redis,
    gateway: PaymentGateway | None,
    order_id: int,
    buyer: Actor,
    *,
    now: datetime | None = None,
) -> CheckoutResult:
    """Move the order to PAYMENT_PENDING and create (or find again) its PaymentIntent."""
    if gateway is None:
        raise PaymentsNotConfiguredError("payments are not configured on this server")
    attempt, previous = await _prepare(engine, redis, order_id, buyer, now or utcnow())
    if previous is not None:
        await _retire(engine, redis, gateway, previous)
    try:
        intent = await intent_of(gateway, attempt)
    except GatewayUnavailable:
        raise ProviderUnavailableError(
            "the payment provider did not answer; checking out again is safe"
        ) from None
    except GatewayError as error:
        log.error("checkout refused by Stripe", extra={"order_id": order_id, "code": error.code})
        raise PaymentRefusedError(f"the payment provider refused: {error.message}") from None
    await apply_intent_fact(engine, redis, IntentFact.from_intent(intent))
    return CheckoutResult(attempt.payment_id, order_id, intent.client_secret)
