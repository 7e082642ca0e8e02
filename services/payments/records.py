"""The payment tables, the order lock every payment change takes, and idempotency keys.

Lock order, everywhere in services/payments: the order's row first (`lock_order`, the
same `FOR UPDATE` a transition takes), then its payments and refunds. So a payment
change and the order transition it causes are one transaction, two facts about one
order are applied one after the other, and no two writers wait on each other in a circle.

Idempotency keys are derived, never random, and saved before the Stripe call they are
for: `order-<id>-attempt-<n>` creates attempt n's PaymentIntent,
`order-<id>-attempt-<n>-cancel` cancels it, `payment-<id>-refund-<n>` is refund n of a
payment, `payment-<id>-confirm-<method>` is a development confirm.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.payment import Payment, Refund, StripeEvent
from services.orders.transitions import orders

payments: sa.Table = Payment.__table__  # type: ignore[attr-defined]
refunds: sa.Table = Refund.__table__  # type: ignore[attr-defined]
stripe_events: sa.Table = StripeEvent.__table__  # type: ignore[attr-defined]


def intent_key(order_id: int, attempt: int) -> str:
    """The key that creates attempt `attempt`'s PaymentIntent."""
    return f"order-{order_id}-attempt-{attempt}"


def cancel_key(order_id: int, attempt: int) -> str:
    """The key that cancels attempt `attempt`'s PaymentIntent."""
    return f"order-{order_id}-attempt-{attempt}-cancel"


def refund_key(payment_id: int, attempt: int) -> str:
    """The key of refund `attempt` of a payment."""
    return f"payment-{payment_id}-refund-{attempt}"


def intent_metadata(order_id: int, payment_id: int, attempt: int) -> dict[str, str]:
    """What a PaymentIntent carries back to us: enough to find its payment without its id."""
    return {"order_id": str(order_id), "payment_id": str(payment_id), "attempt": str(attempt)}


async def lock_order(conn: AsyncConnection, order_id: int) -> Any:
    """The order's row, locked for this transaction (None when there is none)."""
    c = orders.c
    return (
        await conn.execute(
            sa.select(c.id, c.status, c.buyer_id, c.total_minor, c.currency, c.reserved_until)
            .where(c.id == order_id)
            .with_for_update()
        )
    ).first()


async def payments_of(conn: AsyncConnection, order_id: int) -> list[Any]:
    """The order's payments, attempt by attempt (the caller holds the order's lock)."""
    rows = await conn.execute(
        sa.select(payments).where(payments.c.order_id == order_id).order_by(payments.c.attempt)
    )
    return list(rows)


async def refunds_of(conn: AsyncConnection, payment_id: int) -> list[Any]:
    """The payment's refunds, attempt by attempt (the caller holds the order's lock)."""
    rows = await conn.execute(
        sa.select(refunds).where(refunds.c.payment_id == payment_id).order_by(refunds.c.attempt)
    )
    return list(rows)


def metadata_id(metadata: dict[str, str], name: str) -> int | None:
    """An id we put in a Stripe object's metadata, if it is one."""
    value = metadata.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


async def order_of_intent(
    conn: AsyncConnection, intent_id: str, metadata: dict[str, str]
) -> int | None:
    """The order a PaymentIntent pays: by its id, or by its metadata when the checkout
    that created it has not recorded the id yet (its webhook can overtake it)."""
    order_id = await conn.scalar(
        sa.select(payments.c.order_id).where(payments.c.stripe_payment_intent_id == intent_id)
    )
    if order_id is not None:
        return int(order_id)
    payment_id = metadata_id(metadata, "payment_id")
    if payment_id is None:
        return None
    found = await conn.scalar(
        sa.select(payments.c.order_id).where(
            payments.c.id == payment_id,
            payments.c.order_id == metadata_id(metadata, "order_id"),
            payments.c.stripe_payment_intent_id.is_(None),
        )
    )
    return None if found is None else int(found)


async def order_of_refund(
    conn: AsyncConnection, refund_id: str, metadata: dict[str, str]
) -> int | None:
    """The order a Stripe refund belongs to: by its id, or by its metadata."""
    c = refunds.c
    order_id = await conn.scalar(sa.select(c.order_id).where(c.stripe_refund_id == refund_id))
    if order_id is None and (ours := metadata_id(metadata, "refund_id")) is not None:
        order_id = await conn.scalar(
            sa.select(c.order_id).where(c.id == ours, c.stripe_refund_id.is_(None))
        )
    return None if order_id is None else int(order_id)
