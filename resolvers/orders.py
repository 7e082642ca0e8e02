"""Order fields: createOrder, reserveOrder, cancelOrder, advanceOrder, order, myOrders,
orders. Business refusals become userErrors naming the input field."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from auth.principal import Principal, PrincipalKind
from models.account import UserRole
from schema.context import Info
from schema.errors import BadUserInputError, NotFoundError, UnauthenticatedError
from schema.ids import decode_int_id
from schema.orders import (
    AdvanceOrderInput,
    CancelOrderInput,
    CreateOrderInput,
    Order,
    OrderConnection,
    OrderEdge,
    OrderFilterInput,
    OrderPayload,
    ReserveOrderInput,
)
from schema.pagination import PageInfo, decode_or_bad_input, validate_page_args
from schema.payloads import refusal_errors
from services.errors import RefusalError, RefusalErrorCode
from services.orders import queries
from services.orders.errors import CustomerGoneError, OrderNotFoundError
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.ordering import ADVANCE_EVENTS, OrderOutcome, create_order, transition_order

MAX_REASON_LENGTH = 500


def actor_of(principal: Principal) -> Actor:
    """The principal as the lifecycle table knows it."""
    if principal.kind is PrincipalKind.PARTNER:
        return Actor(ActorKind.PARTNER, principal.partner_id)
    if principal.role is UserRole.ADMIN:
        return Actor(ActorKind.ADMIN, principal.user_id)
    return Actor(ActorKind.BUYER, principal.user_id)


def _refused(error: RefusalError, *, field: str | None = None) -> OrderPayload:
    return OrderPayload(user_errors=refusal_errors(error, field=field))


async def _payload(info: Info, outcome: OrderOutcome) -> OrderPayload:
    # Read after commit through a fresh connection: the order as every client now sees it.
    conn = await info.context.db.get()
    row = (await queries.fetch_orders_by_ids(conn, [outcome.order_id]))[outcome.order_id]
    info.context.loaders.order_by_id.prime(row["id"], row)
    return OrderPayload(order=Order.from_row(row))


def _reservation_ttl(info: Info) -> timedelta:
    return timedelta(minutes=info.context.settings.reservation_minutes)


def _reason(reason: str | None) -> str | None:
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise BadUserInputError(f"reason: at most {MAX_REASON_LENGTH} characters", field="reason")
    return reason


async def create(info: Info, input: CreateOrderInput) -> OrderPayload:
    principal = info.context.principal
    vehicle_id = decode_int_id(input.vehicle_id, "Vehicle", field="vehicleId")
    quote_id = (
        None if input.quote_id is None else decode_int_id(input.quote_id, "Quote", field="quoteId")
    )
    try:
        outcome = await create_order(
            await info.context.db.for_writes(),
            info.context.redis,
            customer=actor_of(principal),
            buyer_id=principal.user_id if principal.kind is PrincipalKind.USER else None,
            partner_id=principal.partner_id,
            vehicle_id=vehicle_id,
            destination_country=input.destination_country,
            reserve=input.reserve,
            quote_id=quote_id,
            reservation_ttl=_reservation_ttl(info),
        )
    except RefusalError as error:
        return _refused(error)
    except CustomerGoneError:
        raise UnauthenticatedError("This account no longer exists; sign in again.") from None
    return await _payload(info, outcome)


async def _transition(
    info: Info, order_id: int, event: OrderEventKind, *, reason: str | None,
    expected_version: int | None, field: str | None = None,
) -> OrderPayload:  # fmt: skip
    try:
        outcome = await transition_order(
            await info.context.db.for_writes(), info.context.redis, order_id, event,
            actor_of(info.context.principal), reason=_reason(reason),
            expected_version=expected_version, reservation_ttl=_reservation_ttl(info),
        )  # fmt: skip
    except OrderNotFoundError:
        raise NotFoundError("no such order", field="orderId") from None
    except RefusalError as error:
        conflict = error.code is RefusalErrorCode.VERSION_CONFLICT
        return _refused(error, field="expectedVersion" if conflict else field)
    return await _payload(info, outcome)


async def reserve(info: Info, input: ReserveOrderInput) -> OrderPayload:
    return await _transition(
        info, input.order_key(), OrderEventKind.RESERVE, reason=None,
        expected_version=input.expected_version,
    )  # fmt: skip


async def cancel(info: Info, input: CancelOrderInput) -> OrderPayload:
    return await _transition(
        info, input.order_key(), OrderEventKind.CANCEL, reason=input.reason,
        expected_version=input.expected_version,
    )  # fmt: skip


async def advance(info: Info, input: AdvanceOrderInput) -> OrderPayload:
    return await _transition(
        info, input.order_key(), ADVANCE_EVENTS[input.step], reason=input.reason,
        expected_version=input.expected_version, field="step",
    )  # fmt: skip


async def order(info: Info, id: str) -> Order | None:
    row = await info.context.loaders.order_by_id.load(decode_int_id(id, "Order"))
    if row is None:
        raise NotFoundError(f"no order with id {id}", field="id")
    return Order.from_row(row)


async def order_page(
    info: Info, scope: queries.OrderScope, flt: queries.OrderFilter, *,
    first: int | None, after: str | None, last: int | None, before: str | None,
) -> OrderConnection:  # fmt: skip
    limit, backwards = validate_page_args(
        first=first, after=after, last=last, before=before,
        max_page_size=info.context.settings.max_page_size,
    )  # fmt: skip
    decode = queries.decode_order_cursor
    conn = await info.context.db.get()
    page = await queries.fetch_order_page(
        conn, scope, flt, limit=limit, backwards=backwards,
        after=decode_or_bad_input(partial(decode, argument="after"), after),
        before=decode_or_bad_input(partial(decode, argument="before"), before),
    )  # fmt: skip
    for row in page.rows:
        info.context.loaders.order_by_id.prime(row["id"], row)
    edges = [
        OrderEdge(cursor=queries.encode_order_cursor(r), node=Order.from_row(r)) for r in page.rows
    ]

    async def count() -> int:
        return await queries.count_orders(await info.context.db.get(), scope, flt)

    return OrderConnection(
        edges=edges,
        page_info=PageInfo.of(
            edges, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
        ),
        count=count,
    )


def my_scope(principal: Principal) -> queries.OrderScope:
    if principal.kind is PrincipalKind.PARTNER:
        return queries.OrderScope(partner_id=principal.partner_id)
    return queries.OrderScope(buyer_id=principal.user_id)


def staff_filter(flt: OrderFilterInput | None) -> queries.OrderFilter:
    if flt is None:
        return queries.OrderFilter()
    return queries.OrderFilter(
        statuses=tuple(status.value for status in flt.status or ()),
        vehicle_id=None
        if flt.vehicle_id is None
        else decode_int_id(flt.vehicle_id, "Vehicle", field="vehicleId"),
        buyer_id=None
        if flt.buyer_id is None
        else decode_int_id(flt.buyer_id, "User", field="buyerId"),
    )


async def my_orders(
    info: Info, *, first: int | None, after: str | None, last: int | None, before: str | None
) -> OrderConnection:
    """The caller's orders: a buyer's own, or those a partner placed."""
    scope = my_scope(info.context.principal)
    return await order_page(
        info, scope, queries.OrderFilter(), first=first, after=after, last=last, before=before
    )


async def staff_orders(
    info: Info, flt: OrderFilterInput | None, *,
    first: int | None, after: str | None, last: int | None, before: str | None,
) -> OrderConnection:  # fmt: skip
    """Every order, filtered (staff)."""
    return await order_page(
        info, queries.OrderScope(), staff_filter(flt),
        first=first, after=after, last=last, before=before,
    )  # fmt: skip
