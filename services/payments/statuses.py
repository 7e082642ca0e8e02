"""Pure rules: Stripe's statuses in our words, and which fact may replace which.

A payment never moves backwards. Facts about a PaymentIntent arrive late, twice and out
of order (webhooks), or fresh (reconciliation, a confirm answer); each is a status and
the time Stripe stated it. The rank decides:

| rank | statuses                     | meaning                                           |
|------|------------------------------|---------------------------------------------------|
| 0    | PENDING, PROCESSING, FAILED  | open: the buyer may still (re)confirm the intent  |
| 1    | SUCCEEDED, CANCELED          | final for the intent                              |
| 2    | REFUNDED                     | after SUCCEEDED only                              |

A fact of higher rank always wins; of lower rank, never. Among open statuses the newer
fact wins (a decline, then a successful retry with another card, then a stale
`processing`): Stripe's `created` time orders them, and on a tie the later status in
PENDING < FAILED < PROCESSING wins. SUCCEEDED and CANCELED never replace each other
(Stripe cannot cancel a succeeded intent nor charge a canceled one).
"""

from __future__ import annotations

from datetime import datetime

from models.payment import PaymentStatus, RefundStatus

P = PaymentStatus

RANK: dict[PaymentStatus, int] = {
    P.PENDING: 0,
    P.PROCESSING: 0,
    P.FAILED: 0,
    P.SUCCEEDED: 1,
    P.CANCELED: 1,
    P.REFUNDED: 2,
}
_TIE_ORDER = {P.PENDING: 0, P.FAILED: 1, P.PROCESSING: 2}

# PaymentIntent statuses (https://docs.stripe.com/payments/paymentintents/lifecycle).
_INTENT_STATUSES: dict[str, PaymentStatus] = {
    "requires_payment_method": P.PENDING,
    "requires_confirmation": P.PENDING,
    "requires_action": P.PENDING,
    "requires_capture": P.PENDING,
    "processing": P.PROCESSING,
    "succeeded": P.SUCCEEDED,
    "canceled": P.CANCELED,
}

# Webhook event types that state a PaymentIntent's status.
INTENT_EVENTS: dict[str, PaymentStatus] = {
    "payment_intent.created": P.PENDING,
    "payment_intent.requires_action": P.PENDING,
    "payment_intent.processing": P.PROCESSING,
    "payment_intent.payment_failed": P.FAILED,
    "payment_intent.succeeded": P.SUCCEEDED,
    "payment_intent.canceled": P.CANCELED,
}
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
CHARGE_REFUNDED = "charge.refunded"

_REFUND_STATUSES: dict[str, RefundStatus] = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def intent_status(stripe_status: str, *, has_error: bool = False) -> PaymentStatus:
    """Our status for a PaymentIntent's; a declined intent waits for a new payment method."""
    status = _INTENT_STATUSES.get(stripe_status)
    if status is None:
        raise ValueError(f"unknown PaymentIntent status {stripe_status!r}")
    if status is P.PENDING and stripe_status == "requires_payment_method" and has_error:
        return P.FAILED
    return status


def refund_status(stripe_status: str) -> RefundStatus:
    """Our status for a refund's."""
    status = _REFUND_STATUSES.get(stripe_status)
    if status is None:
        raise ValueError(f"unknown refund status {stripe_status!r}")
    return status


def supersedes(
    new: PaymentStatus,
    new_at: datetime,
    current: PaymentStatus,
    current_at: datetime | None,
) -> bool:
    """Whether a fact (`new`, stated at `new_at`) replaces the payment's current status."""
    if new is current:
        return False
    if RANK[new] != RANK[current]:
        return RANK[new] > RANK[current]
    if RANK[new] > 0:
        return False  # SUCCEEDED and CANCELED never replace each other
    if current_at is None or new_at > current_at:
        return True
    return new_at == current_at and _TIE_ORDER[new] > _TIE_ORDER[current]


def is_open(status: PaymentStatus) -> bool:
    """Whether the intent may still change without a refund (rank 0)."""
    return RANK[status] == 0
