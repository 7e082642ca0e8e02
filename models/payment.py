"""Payments, refunds and the Stripe events that settle them.

A `Payment` is one checkout attempt of one order: its row, with the idempotency key the
Stripe call will use, is committed *before* that call, so a retry after a timeout sends
the same key and Stripe answers with the same PaymentIntent. A `Refund` is the same for
a refund. A `StripeEvent` is a verified webhook (or nothing else: reconciliation writes
no event rows), stored by Stripe's event id so a redelivery is recognised.

The PaymentIntent's client secret is deliberately *not* stored (Stripe: "it should not
be stored, logged, or exposed to anyone other than the customer"); it is returned by
checkout and fetched from Stripe again when the buyer asks for it (services/payments).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class PaymentStatus(enum.StrEnum):
    """Where one PaymentIntent stands; services/payments/statuses.py ranks them."""

    PENDING = "PENDING"  # created (or being created), waiting for the buyer to confirm
    PROCESSING = "PROCESSING"  # confirmed, the bank has not answered yet
    FAILED = "FAILED"  # the last confirmation was declined; the buyer may check out again
    SUCCEEDED = "SUCCEEDED"
    CANCELED = "CANCELED"  # given up (a later attempt replaced it)
    REFUNDED = "REFUNDED"  # the charge was refunded in full


class RefundStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


def _in(column: str, values: tuple[enum.StrEnum, ...] | type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


# The statuses in which an intent may still change without a refund (a FAILED intent
# waits for another payment method): reconciliation asks Stripe about these.
OPEN_PAYMENT_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED)


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        sa.CheckConstraint(_in("status", PaymentStatus), name="payment_status_known"),
        sa.CheckConstraint("attempt >= 1", name="payment_attempt_positive"),
        sa.CheckConstraint("amount_minor > 0", name="payment_amount_positive"),
        sa.UniqueConstraint("order_id", "attempt", name="uq_payment_order_attempt"),
        sa.UniqueConstraint("idempotency_key", name="uq_payment_idempotency_key"),
        sa.UniqueConstraint("stripe_payment_intent_id", name="uq_payment_intent"),
        sa.Index(
            "ix_payment_open_updated",
            "updated_at",
            postgresql_where=sa.text(_in("status", OPEN_PAYMENT_STATUSES)),
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    order_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="orders.id", nullable=False, ondelete="RESTRICT"
    )
    attempt: int = Field(nullable=False)
    idempotency_key: str = Field(max_length=100, nullable=False)
    stripe_payment_intent_id: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=20, nullable=False)
    amount_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    currency: str = Field(sa_type=sa.CHAR(3), nullable=False)
    failure_message: str | None = Field(default=None, max_length=500)
    # Stripe's `created` of the newest fact applied: among the statuses of equal rank,
    # an older fact never overwrites a newer one.
    stripe_updated_at: datetime | None = Field(default=None, sa_type=_aware())
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Refund(SQLModel, table=True):
    __tablename__ = "refund"
    __table_args__ = (
        sa.CheckConstraint(_in("status", RefundStatus), name="refund_status_known"),
        sa.CheckConstraint("attempt >= 1", name="refund_attempt_positive"),
        sa.CheckConstraint("amount_minor > 0", name="refund_amount_positive"),
        sa.UniqueConstraint("payment_id", "attempt", name="uq_refund_payment_attempt"),
        sa.UniqueConstraint("idempotency_key", name="uq_refund_idempotency_key"),
        sa.UniqueConstraint("stripe_refund_id", name="uq_refund_stripe_id"),
        sa.Index("ix_refund_order", "order_id"),
        sa.Index(
            "ix_refund_pending_updated",
            "updated_at",
            postgresql_where=sa.text("status = 'PENDING'"),
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    order_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="orders.id", nullable=False, ondelete="RESTRICT"
    )
    payment_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="payment.id", nullable=False, ondelete="RESTRICT"
    )
    attempt: int = Field(nullable=False)
    idempotency_key: str = Field(max_length=100, nullable=False)
    stripe_refund_id: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=20, nullable=False)
    amount_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    currency: str = Field(sa_type=sa.CHAR(3), nullable=False)
    reason: str = Field(max_length=500, nullable=False)
    requested_by: str = Field(max_length=60, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class StripeEvent(SQLModel, table=True):
    """A verified webhook event, by Stripe's id; `applied_at` once a job applied it."""

    __tablename__ = "stripe_event"
    __table_args__ = (
        sa.Index(
            "ix_stripe_event_unapplied",
            "received_at",
            postgresql_where=sa.text("applied_at IS NULL"),
        ),
    )

    id: str = Field(max_length=255, primary_key=True)
    type: str = Field(max_length=100, nullable=False)
    payload: dict[str, Any] = Field(sa_type=postgresql.JSONB, nullable=False)
    received_at: datetime = created_at_field()
    applied_at: datetime | None = Field(default=None, sa_type=_aware())
    # What applying it did, for operators: "applied", "stale", "unknown payment"...
    outcome: str | None = Field(default=None, max_length=200)
