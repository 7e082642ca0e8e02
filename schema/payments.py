"""Payment types: Payment, Refund, their statuses, inputs and payloads.

Who sees them: whoever may see their order (its buyer, the partner that placed it,
staff), through `Order.payments`, the mutation payloads and `node(id:)`. The client
secret is the buyer's alone: it lets Stripe.js confirm the payment. It is not stored
(models/payment.py); `clientSecret` asks Stripe for it, only while the payment can be
confirmed (PENDING or FAILED), and is null for anyone but the buyer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from auth.permissions import Owner, principal_of
from models.payment import PaymentStatus, RefundStatus
from schema.context import Info
from schema.ids import decode_int_id, to_global_id
from schema.money import Money
from schema.node import Node
from schema.payloads import UserError
from services.payments.gateway import GatewayError

if TYPE_CHECKING:
    from schema.orders import Order

log = logging.getLogger(__name__)
LazyOrder = Annotated["Order", strawberry.lazy("schema.orders")]

PaymentStatusEnum = strawberry.enum(
    PaymentStatus,
    description="Where a payment attempt stands: PENDING (waiting for the buyer to confirm), "
    "PROCESSING (the bank has not answered), FAILED (declined; the buyer may try another "
    "card or check out again), SUCCEEDED, CANCELED (replaced or abandoned), REFUNDED.",
)
RefundStatusEnum = strawberry.enum(
    RefundStatus, description="PENDING until Stripe settles it: SUCCEEDED, FAILED or CANCELED."
)
_CONFIRMABLE = (PaymentStatus.PENDING, PaymentStatus.FAILED)


async def _order(info: Info, order_pk: int) -> Order:
    from schema.orders import Order

    row = await info.context.loaders.order_by_id.load(order_pk)
    return Order.from_row(row)


@strawberry.type(description="A refund of a payment, asked of Stripe and settled by it.")
class Refund(Node):
    status: RefundStatus
    amount: Money
    reason: str = strawberry.field(description="Why staff (or the system) refunded it.")
    requested_by: str = strawberry.field(description="Who asked: admin:1, or system.")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    payment_pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Refund:
        return cls(
            id=strawberry.ID(to_global_id("Refund", row["id"])),
            status=RefundStatus(row["status"]),
            amount=Money.from_minor(row["amount_minor"], row["currency"]),
            reason=row["reason"],
            requested_by=row["requested_by"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            pk=row["id"],
            payment_pk=row["payment_id"],
            order_pk=row["order_id"],
        )

    @strawberry.field(description="The payment refunded.")
    async def payment(self, info: Info) -> Payment:
        return Payment.from_row(await info.context.loaders.payment_by_id.load(self.payment_pk))


@strawberry.federation.type(
    keys=["id"], description="One attempt to pay an order: a Stripe PaymentIntent."
)
class Payment(Node):
    attempt: int = strawberry.field(description="1 for the first checkout, 2 after a failure…")
    status: PaymentStatus
    amount: Money = strawberry.field(description="The order's locked total.")
    failure_message: str | None = strawberry.field(description="Why the last try was declined.")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]
    intent_id: strawberry.Private[str | None]
    # Known when checkout just received it from Stripe: no second call for it.
    known_secret: strawberry.Private[str | None] = None

    @classmethod
    def from_row(cls, row: Any, *, client_secret: str | None = None) -> Payment:
        return cls(
            id=strawberry.ID(to_global_id("Payment", row["id"])),
            attempt=row["attempt"],
            status=PaymentStatus(row["status"]),
            amount=Money.from_minor(row["amount_minor"], row["currency"]),
            failure_message=row["failure_message"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            pk=row["id"],
            order_pk=row["order_id"],
            intent_id=row["stripe_payment_intent_id"],
            known_secret=client_secret,
        )

    @strawberry.field(description="The order this payment is for.")
    async def order(self, info: Info) -> LazyOrder:
        return await _order(info, self.order_pk)

    @strawberry.field(description="Refunds of this payment, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        rows = await info.context.loaders.refunds_by_payment_id.load(self.pk)
        return [Refund.from_row(row) for row in rows]

    @strawberry.field(
        description="The PaymentIntent's client secret, for Stripe.js or the mobile SDKs to "
        "confirm the payment. Only the order's buyer sees it, and only while the payment "
        "can be confirmed (PENDING or FAILED); null otherwise."
    )
    async def client_secret(self, info: Info) -> str | None:
        if self.status not in _CONFIRMABLE or self.intent_id is None:
            return None
        row = await info.context.loaders.order_by_id.load(self.order_pk)
        principal = principal_of(info)
        if row is None or not Owner(user_id=row["buyer_id"]).includes(principal):  # buyer only
            return None
        if self.known_secret is not None:
            return self.known_secret
        gateway = info.context.payments
        if gateway is None:
            return None
        try:
            return (await gateway.retrieve_intent(self.intent_id)).client_secret
        except GatewayError as error:
            log.warning("client secret not fetched", extra={"error": error.message})
            return None


def _order_pk(global_id: strawberry.ID) -> int:
    return decode_int_id(global_id, "Order", field="orderId")


@strawberry.input(description="Check an order out: RESERVED or PAYMENT_FAILED to PAYMENT_PENDING.")
class CheckoutInput:
    order_id: strawberry.ID

    def order_key(self) -> int:
        return _order_pk(self.order_id)


@strawberry.input
class RefundOrderInput:
    order_id: strawberry.ID
    reason: str = strawberry.field(description="Why (1 to 500 characters); kept on the refund.")

    def order_key(self) -> int:
        return _order_pk(self.order_id)


@strawberry.input
class ConfirmTestPaymentInput:
    payment_id: strawberry.ID
    payment_method: str = strawberry.field(
        default="pm_card_visa",
        description="A Stripe test payment method: pm_card_visa succeeds, "
        "pm_card_chargeDeclined is declined, pm_sepa_debit (emulator) processes first.",
    )

    def payment_key(self) -> int:
        return decode_int_id(self.payment_id, "Payment", field="paymentId")


@strawberry.type
class PaymentPayload:
    payment: Payment | None = None
    order: LazyOrder | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundPayload:
    refund: Refund | None = None
    order: LazyOrder | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
