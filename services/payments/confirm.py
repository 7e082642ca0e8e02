"""Development only: confirm a payment with a Stripe test payment method.

In production the buyer's browser confirms the PaymentIntent with Stripe.js and the
client secret; nothing of ours is involved until Stripe's webhook arrives. On a laptop
there is no browser integration, so `confirmTestPayment` does what Stripe.js would:
it confirms the intent with a test payment method (`pm_card_visa` succeeds,
`pm_card_chargeDeclined` is declined, see core/stripe_emulator) using the secret key,
then applies Stripe's answer at once, as reconciliation would; the webhook that
follows finds nothing left to do. The resolver refuses it in production, and the
gateway refuses it with a live key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.payments.apply import IntentFact, apply_intent_fact
from services.payments.errors import (
    PaymentNotFoundError,
    PaymentRefusedError,
    PaymentsNotConfiguredError,
    ProviderUnavailableError,
)
from services.payments.gateway import (
    GatewayDeclined,
    GatewayError,
    GatewayUnavailable,
    Intent,
    PaymentGateway,
)
from services.payments.records import payments
from services.payments.refunds import give_back

TEST_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,60}")


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """The confirmed payment, and the decline message when the card was declined."""

    payment_id: int
    order_id: int
    declined: str | None


async def confirm_test_payment(
    engine: AsyncEngine,
    redis: Redis,
    gateway: PaymentGateway | None,
    payment_id: int,
    payment_method: str,
) -> ConfirmResult:
    """Confirm a payment's intent with a test payment method and apply Stripe's answer."""
    if gateway is None:
        raise PaymentsNotConfiguredError("payments are not configured on this server")
    if not gateway.allows_test_payments:
        raise PaymentRefusedError("test payments are refused with a live Stripe key")
    if not TEST_PAYMENT_METHOD.fullmatch(payment_method):
        raise PaymentRefusedError("not a test payment method id", field="paymentMethod")
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(payments.c.order_id, payments.c.stripe_payment_intent_id).where(
                    payments.c.id == payment_id
                )
            )
        ).first()
    if row is None:
        raise PaymentNotFoundError(f"no payment {payment_id}")
    if row.stripe_payment_intent_id is None:
        raise PaymentRefusedError("the payment has no PaymentIntent yet: check out again")
    declined: str | None = None
    intent: Intent | None
    try:
        intent = await gateway.confirm_intent(
            row.stripe_payment_intent_id,
            payment_method=payment_method,
            idempotency_key=f"payment-{payment_id}-confirm-{payment_method}",
        )
    except GatewayDeclined as error:
        intent, declined = error.intent, error.message
    except GatewayUnavailable:
        raise ProviderUnavailableError("the payment provider did not answer") from None
    except GatewayError as error:
        raise PaymentRefusedError(error.message, field="paymentMethod") from None
    if intent is not None:
        applied = await apply_intent_fact(engine, redis, IntentFact.from_intent(intent))
        for unneeded in applied.give_back:
            await give_back(engine, gateway, unneeded, reason="the order no longer needs it")
    return ConfirmResult(payment_id, row.order_id, declined)
