"""Refunds: asked of Stripe here, settled when Stripe says they succeeded.

`refund_order` (staff) refunds the payment that paid a PAID … DELIVERED order in full.
Like checkout, it writes the refund row with its idempotency key
(`payment-<id>-refund-<n>`) under the order's lock before calling Stripe, and a second
call while a refund is pending or done returns that refund instead of starting another:
a retried refundOrder never refunds twice. Stripe's answer only records the refund's id
(or its failure); the refund, the payment and the order settle on Stripe's event
(`charge.refunded`, `refund.updated`), or on reconciliation asking Stripe, through
apply.py. The order then becomes REFUNDED and its vehicle AVAILABLE again unless it
was delivered (services/orders/lifecycle.py).

`give_back` refunds a payment the order does not need: one that succeeded after
another had paid the order, or after the order was cancelled (apply.py finds them).
Only full refunds exist; a FAILED refund may be started again (attempt n + 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from models.payment import PaymentStatus, RefundStatus
from services.audit.log import SYSTEM, AuditActor, record
from services.orders.errors import OrderNotFoundError
from services.orders.lifecycle import REFUNDABLE_STATUSES, Actor, ActorKind
from services.payments.errors import (
    NotRefundableError,
    PaymentRefusedError,
    PaymentsNotConfiguredError,
    ProviderUnavailableError,
)
from services.payments.gateway import GatewayRefused, GatewayUnavailable, PaymentGateway
from services.payments.records import (
    lock_order,
    payments,
    payments_of,
    refund_key,
    refunds,
    refunds_of,
)

log = logging.getLogger(__name__)
_STANDING = (RefundStatus.PENDING.value, RefundStatus.SUCCEEDED.value)


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: int
    order_id: int
    payment_id: int


async def _start(conn: AsyncConnection, payment: Any, *, reason: str, requested_by: Actor) -> Any:
    """The payment's standing refund, or a new attempt (the order's lock is held)."""
    existing = await refunds_of(conn, payment.id)
    standing = next((r for r in existing if r.status in _STANDING), None)
    if standing is not None:
        return standing
    attempt = len(existing) + 1
    now = utcnow()
    return (
        await conn.execute(
            refunds.insert()
            .values(
                order_id=payment.order_id,
                payment_id=payment.id,
                attempt=attempt,
                idempotency_key=refund_key(payment.id, attempt),
                status=RefundStatus.PENDING.value,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                reason=reason[:500],
                requested_by=requested_by.label,
                created_at=now,
                updated_at=now,
            )
            .returning(*refunds.c)
        )
    ).one()


async def send_refund(engine: AsyncEngine, gateway: PaymentGateway, refund: Any) -> None:
    """Ask Stripe for a pending refund not yet sent (with its saved key); record its id."""
    if refund.stripe_refund_id is not None or refund.status != RefundStatus.PENDING.value:
        return
    async with engine.connect() as conn:
        intent_id = await conn.scalar(
            sa.select(payments.c.stripe_payment_intent_id).where(payments.c.id == refund.payment_id)
        )
    values: dict[str, object]
    try:
        made = await gateway.refund(
            payment_intent_id=str(intent_id),
            amount_minor=refund.amount_minor,
            idempotency_key=refund.idempotency_key,
            metadata={
                "order_id": str(refund.order_id),
                "refund_id": str(refund.id),
                "reason": refund.reason[:450],
            },
        )
    except GatewayUnavailable:
        raise ProviderUnavailableError(
            "the payment provider did not answer; the refund is saved and will be sent again"
        ) from None
    except GatewayRefused as error:
        values = {"status": RefundStatus.FAILED.value}
        log.warning("refund refused by Stripe", extra={"refund": refund.id, "code": error.code})
        failure: PaymentRefusedError | None = PaymentRefusedError(
            f"the payment provider refused the refund: {error.message}"
        )
    else:
        values, failure = {"stripe_refund_id": made.id}, None
        if made.status in ("failed", "canceled"):
            values["status"] = made.status.upper()
    async with engine.begin() as conn:
        await conn.execute(
            refunds.update()
            .where(refunds.c.id == refund.id, refunds.c.status == RefundStatus.PENDING.value)
            .values(**values, updated_at=utcnow())
        )
    if failure is not None:
        raise failure


async def refund_order(
    engine: AsyncEngine,
    redis: Redis,
    gateway: PaymentGateway | None,
    order_id: int,
    *,
    reason: str,
    requested_by: Actor,
) -> RefundResult:
    """Refund the order's payment in full at Stripe; the order settles on Stripe's event."""
    if gateway is None:
        raise PaymentsNotConfiguredError("payments are not configured on this server")
    async with engine.begin() as conn:
        order = await lock_order(conn, order_id)
        if order is None:
            raise OrderNotFoundError(f"no order {order_id}")
        status = OrderStatus(order.status)
        if status not in REFUNDABLE_STATUSES:
            raise NotRefundableError(
                f"the order is {status.value}: only a paid order not yet completed is refunded"
            )
        paid = [
            r
            for r in await payments_of(conn, order_id)
            if r.status == PaymentStatus.SUCCEEDED.value
        ]
        if not paid:
            raise NotRefundableError("the order has no succeeded payment to refund")
        refund = await _start(conn, paid[-1], reason=reason, requested_by=requested_by)
        await record(
            conn, "payment.refund_requested",
            actor=AuditActor.user(requested_by.id) if requested_by.id is not None else SYSTEM,
            subject=("Order", order_id), subject_user_id=order.buyer_id,
            details={"refund": refund.id, "amount_minor": refund.amount_minor,
                     "currency": refund.currency},
        )  # fmt: skip
    await send_refund(engine, gateway, refund)
    return RefundResult(refund.id, order_id, refund.payment_id)


async def give_back(
    engine: AsyncEngine, gateway: PaymentGateway, payment_id: int, *, reason: str
) -> None:
    """Refund a succeeded payment the order does not need (duplicate, or order cancelled)."""
    async with engine.begin() as conn:
        order_id = await conn.scalar(
            sa.select(payments.c.order_id).where(payments.c.id == payment_id)
        )
        if order_id is None:
            return
        await lock_order(conn, order_id)
        payment = next(r for r in await payments_of(conn, order_id) if r.id == payment_id)
        if payment.status != PaymentStatus.SUCCEEDED.value:
            return
        refund = await _start(conn, payment, reason=reason, requested_by=Actor(ActorKind.SYSTEM))
    log.warning(
        "giving back a payment the order does not need",
        extra={"payment_id": payment_id, "order_id": order_id},
    )
    await send_refund(engine, gateway, refund)
