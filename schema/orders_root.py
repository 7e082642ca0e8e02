"""Order root fields.

Who may: createOrder, buyers and partners; reserveOrder and cancelOrder, the order's buyer
or the partner that placed it (staff may cancel any); advanceOrder and orders(filter:),
staff. `order(id:)` answers FORBIDDEN for someone else's order and NOT_FOUND for none.
Business refusals are userErrors: VEHICLE_UNAVAILABLE, QUOTE_EXPIRED, QUOTE_MISMATCH,
TRANSITION_NOT_ALLOWED, VERSION_CONFLICT and the pricing codes of requestQuote.
"""

from __future__ import annotations

import strawberry

from auth.permissions import STAFF, CanOrder, IsAuthenticated, IsOrderOwner, requires
from resolvers import orders
from schema.context import Info
from schema.orders import (
    AdvanceOrderInput,
    CancelOrderInput,
    CreateOrderInput,
    Order,
    OrderConnection,
    OrderFilterInput,
    OrderPayload,
    ReserveOrderInput,
)


@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="An order by global ID: its buyer, its partner or staff.",
        extensions=[requires(IsOrderOwner())],
    )
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await orders.order(info, id)

    @strawberry.field(
        description="The caller's orders (a buyer's own, a partner's placed), newest first.",
        extensions=[requires(IsAuthenticated())],
    )
    async def my_orders(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> OrderConnection:  # fmt: skip
        return await orders.my_orders(info, first=first, after=after, last=last, before=before)

    @strawberry.field(
        description="Every order, filtered: staff only.", extensions=[requires(STAFF)]
    )
    async def orders(
        self, info: Info, filter: OrderFilterInput | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> OrderConnection:  # fmt: skip
        return await orders.staff_orders(
            info, filter, first=first, after=after, last=last, before=before
        )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Order a vehicle at a fresh quote (or a given unexpired one), locking "
        "that price; with reserve: true also hold the vehicle until reservedUntil.",
        extensions=[requires(CanOrder())],
    )
    async def create_order(self, info: Info, input: CreateOrderInput) -> OrderPayload | None:
        return await orders.create(info, input)

    @strawberry.mutation(
        description="Hold the vehicle of a QUOTED order (its quote must not have expired).",
        extensions=[requires(IsOrderOwner())],
    )
    async def reserve_order(self, info: Info, input: ReserveOrderInput) -> OrderPayload | None:
        return await orders.reserve(info, input)

    @strawberry.mutation(
        description="Cancel an order before it is paid; a held vehicle is released.",
        extensions=[requires(IsOrderOwner())],
    )
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderPayload | None:
        return await orders.cancel(info, input)

    @strawberry.mutation(
        description="Staff: move a paid order through PREPARE, SHIP, DELIVER, COMPLETE.",
        extensions=[requires(STAFF)],
    )
    async def advance_order(self, info: Info, input: AdvanceOrderInput) -> OrderPayload | None:
        return await orders.advance(info, input)
