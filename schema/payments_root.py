"""Payment root fields: checkout, refundOrder, and (development only) confirmTestPayment.

Who may: checkout, the order's buyer (a buyer-role user who owns it); refundOrder, staff;
confirmTestPayment, the buyer of the payment's order, and never in production.
Business refusals are userErrors: TRANSITION_NOT_ALLOWED, RESERVATION_EXPIRED,
PAYMENT_PROVIDER_UNAVAILABLE (retrying is safe), PAYMENTS_NOT_CONFIGURED,
NOT_REFUNDABLE, PAYMENT_DECLINED, PAYMENT_REFUSED.
"""

from __future__ import annotations

import strawberry

from auth.permissions import STAFF, HasRole, IsOrderOwner, IsPaymentOwner, requires
from models.account import UserRole
from resolvers import payments
from schema.context import Info
from schema.payments import (
    CheckoutInput,
    ConfirmTestPaymentInput,
    PaymentPayload,
    RefundOrderInput,
    RefundPayload,
)


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(
        description="Pay for a RESERVED (or PAYMENT_FAILED) order: it becomes PAYMENT_PENDING "
        "and the payment carries the clientSecret Stripe.js confirms it with. Retrying is "
        "safe: an order already PAYMENT_PENDING returns the same payment (one PaymentIntent). "
        "The order becomes PAID when Stripe reports the payment succeeded.",
        extensions=[requires(HasRole(UserRole.BUYER), IsOrderOwner())],
    )
    async def checkout(self, info: Info, input: CheckoutInput) -> PaymentPayload | None:
        return await payments.checkout(info, input)

    @strawberry.mutation(
        description="Staff: refund a paid order (PAID to DELIVERED) in full through Stripe. "
        "The refund is PENDING until Stripe settles it; the order then becomes REFUNDED and "
        "its vehicle available again unless it was delivered. Retrying returns the same refund.",
        extensions=[requires(STAFF)],
    )
    async def refund_order(self, info: Info, input: RefundOrderInput) -> RefundPayload | None:
        return await payments.refund_order(info, input)

    @strawberry.mutation(
        description="Development only (refused in production): confirm a payment with a "
        "Stripe test payment method, as Stripe.js would in the buyer's browser, so the whole "
        "buy flow works from GraphiQL. pm_card_visa succeeds; pm_card_chargeDeclined fails.",
        extensions=[requires(HasRole(UserRole.BUYER), IsPaymentOwner())],
    )
    async def confirm_test_payment(
        self, info: Info, input: ConfirmTestPaymentInput
    ) -> PaymentPayload | None:
        return await payments.confirm_test_payment(info, input)
