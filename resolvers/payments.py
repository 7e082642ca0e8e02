"""Payment fields: checkout, refundOrder, confirmTestPayment. Business refusals become
userErrors naming the input field; the payloads read the rows as committed."""

from __future__ import annotations

from core.settings import Environment
from resolvers.orders import actor_of
from schema.context import Info
from schema.errors import BadUserInputError, ForbiddenError, NotFoundError
from schema.orders import Order
from schema.payloads import UserError, input_error, refusal_errors
from schema.payments import (
    CheckoutInput,
    ConfirmTestPaymentInput,
    Payment,
    PaymentPayload,
    Refund,
    RefundOrderInput,
    RefundPayload,
)
from services.errors import RefusalError
from services.orders import queries as order_queries
from services.orders.errors import OrderNotFoundError
from services.payments import checkout as checkout_service
from services.payments import confirm, refunds
from services.payments import queries as payment_queries
from services.payments.errors import PaymentNotFoundError

MAX_REASON_LENGTH = 500


async def _order(info: Info, order_id: int) -> Order:
    conn = await info.context.db.get()
    row = (await order_queries.fetch_orders_by_ids(conn, [order_id]))[order_id]
    info.context.loaders.order_by_id.prime(order_id, row)
    return Order.from_row(row)


async def _payment_payload(
    info: Info,
    payment_id: int,
    order_id: int,
    *,
    client_secret: str | None = None,
    errors: list[UserError] | None = None,
) -> PaymentPayload:
    order = await _order(info, order_id)
    conn = await info.context.db.get()
    row = (await payment_queries.fetch_payments_by_ids(conn, [payment_id]))[payment_id]
    return PaymentPayload(
        payment=Payment.from_row(row, client_secret=client_secret),
        order=order,
        user_errors=errors or [],
    )


async def checkout(info: Info, input: CheckoutInput) -> PaymentPayload:
    ctx = info.context
    try:
        result = await checkout_service.checkout(
            await ctx.db.for_writes(),
            ctx.redis,
            ctx.payments,
            input.order_key(),
            actor_of(ctx.principal),
        )
    except OrderNotFoundError:
        raise NotFoundError("no such order", field="orderId") from None
    except RefusalError as error:
        return PaymentPayload(user_errors=refusal_errors(error))
    return await _payment_payload(
        info, result.payment_id, result.order_id, client_secret=result.client_secret
    )


async def refund_order(info: Info, input: RefundOrderInput) -> RefundPayload:
    reason = input.reason.strip()
    if not 1 <= len(reason) <= MAX_REASON_LENGTH:
        raise BadUserInputError(f"reason: 1 to {MAX_REASON_LENGTH} characters", field="reason")
    ctx = info.context
    try:
        result = await refunds.refund_order(
            await ctx.db.for_writes(),
            ctx.redis,
            ctx.payments,
            input.order_key(),
            reason=reason,
            requested_by=actor_of(ctx.principal),
        )
    except OrderNotFoundError:
        raise NotFoundError("no such order", field="orderId") from None
    except RefusalError as error:
        return RefundPayload(user_errors=refusal_errors(error))
    conn = await ctx.db.get()
    row = (await payment_queries.fetch_refunds_by_ids(conn, [result.refund_id]))[result.refund_id]
    return RefundPayload(refund=Refund.from_row(row), order=await _order(info, result.order_id))


async def confirm_test_payment(info: Info, input: ConfirmTestPaymentInput) -> PaymentPayload:
    ctx = info.context
    if ctx.settings.environment is Environment.PRODUCTION:
        raise ForbiddenError("confirmTestPayment is for development: Stripe.js confirms payments")
    try:
        result = await confirm.confirm_test_payment(
            await ctx.db.for_writes(),
            ctx.redis,
            ctx.payments,
            input.payment_key(),
            input.payment_method,
        )
    except PaymentNotFoundError:
        raise NotFoundError("no such payment", field="paymentId") from None
    except RefusalError as error:
        return PaymentPayload(user_errors=refusal_errors(error))
    errors = None
    if result.declined is not None:
        errors = [input_error("paymentMethod", "PAYMENT_DECLINED", result.declined)]
    return await _payment_payload(info, result.payment_id, result.order_id, errors=errors)
