"""Order types: Order, OrderEvent, their connection, inputs and payloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from models.order import OrderStatus
from schema.accounts import User
from schema.catalog import Vehicle
from schema.context import Info
from schema.ids import decode_int_id, to_global_id
from schema.money import Money
from schema.node import Node
from schema.pagination import PageInfo
from schema.payloads import UserError
from schema.payments import Payment
from schema.pricing import Quote
from services.events import PublishedEvent
from services.orders.ordering import AdvanceStep

OrderStatusEnum = strawberry.enum(
    OrderStatus, description="Where an order stands in its lifecycle (see the README)."
)
AdvanceStepEnum = strawberry.enum(AdvanceStep, description="A fulfilment step staff take.")


@strawberry.type(description="One transition of an order; sequences run 1, 2, 3… per order.")
class OrderEvent:
    sequence: int
    from_status: OrderStatus | None = strawberry.field(name="from")
    to_status: OrderStatus = strawberry.field(name="to")
    actor: str = strawberry.field(
        description="Who made it: buyer:7, partner:2, admin:1, system, payments."
    )
    reason: str | None
    at: datetime
    order_pk: strawberry.Private[int]
    # The order as read with the event (subscriptions); None: loaded when asked for.
    order_row: strawberry.Private[Any] = None

    @classmethod
    def from_row(cls, row: Any, *, order_row: Any = None) -> OrderEvent:
        return cls.from_published(PublishedEvent.from_row(row), order_row=order_row)

    @classmethod
    def from_published(cls, event: PublishedEvent, *, order_row: Any = None) -> OrderEvent:
        return cls(
            sequence=event.sequence,
            from_status=event.from_status,
            to_status=event.to_status,
            actor=event.actor,
            reason=event.reason,
            at=event.at,
            order_pk=event.order_id,
            order_row=order_row,
        )

    @strawberry.field(
        description="The order as it stands when the event is read or delivered: at least "
        "as far as this event, possibly further."
    )
    async def order(self, info: Info) -> Order:
        row = self.order_row
        if row is None:
            row = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_row(row)


@strawberry.federation.type(
    keys=["id"], description="A buyer's (or a partner's) order of one vehicle."
)
class Order(Node):
    number: str = strawberry.field(description="Human-readable order number, e.g. AB-00000042.")
    status: OrderStatus
    version: int = strawberry.field(
        description="Increases with every transition; pass it as expectedVersion to act only "
        "on the state you saw."
    )
    destination_country: str
    total: Money = strawberry.field(description="The locked quote's total.")
    reserved_until: datetime | None = strawberry.field(
        description="When an unpaid reservation lapses and the vehicle is released."
    )
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    vehicle_pk: strawberry.Private[int]
    quote_pk: strawberry.Private[int]
    buyer_pk: strawberry.Private[int | None]
    partner_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Any) -> Order:
        return cls(
            id=strawberry.ID(to_global_id("Order", row["id"])),
            number=f"AB-{row['id']:08d}",
            status=OrderStatus(row["status"]),
            version=row["version"],
            destination_country=row["destination_country"],
            total=Money.from_minor(row["total_minor"], row["currency"]),
            reserved_until=row["reserved_until"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            pk=row["id"],
            vehicle_pk=row["vehicle_id"],
            quote_pk=row["quote_id"],
            buyer_pk=row["buyer_id"],
            partner_pk=row["partner_id"],
        )

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle:
        return Vehicle.from_row(await info.context.loaders.vehicle_by_id.load(self.vehicle_pk))

    @strawberry.field(description="The quote the order was priced with, locked at creation.")
    async def quote(self, info: Info) -> Quote:
        stored = await info.context.loaders.quote_by_id.load(self.quote_pk)
        assert stored is not None  # a foreign key guarantees it
        return Quote.from_stored(stored)

    @strawberry.field(description="The buyer; null for an order a partner placed for a customer.")
    async def buyer(self, info: Info) -> User | None:
        if self.buyer_pk is None:
            return None
        record = await info.context.loaders.user_by_id.load(self.buyer_pk)
        return None if record is None else User.from_record(record)

    @strawberry.field(description="Every transition, in sequence order.")
    async def events(self, info: Info) -> list[OrderEvent]:
        rows = await info.context.loaders.events_by_order_id.load(self.pk)
        return [OrderEvent.from_row(row) for row in rows]

    @strawberry.field(description="Payment attempts (checkouts), oldest first.")
    async def payments(self, info: Info) -> list[Payment]:
        rows = await info.context.loaders.payments_by_order_id.load(self.pk)
        return [Payment.from_row(row) for row in rows]


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type(description="A page of orders, newest first (Relay connection).")
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many orders match, on every page together.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="Filters for the staff order list.")
class OrderFilterInput:
    status: list[OrderStatus] | None = None
    vehicle_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None


@strawberry.input
class CreateOrderInput:
    vehicle_id: strawberry.ID
    destination_country: str = strawberry.field(description="EU member state, ISO alpha-2.")
    reserve: bool = strawberry.field(
        default=False, description="Also reserve the vehicle now (it is held until reservedUntil)."
    )
    quote_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Order at a quote obtained earlier (it must not have expired); "
        "without it the order is priced by a fresh quote.",
    )


def _order_pk(global_id: strawberry.ID) -> int:
    return decode_int_id(global_id, "Order", field="orderId")


@strawberry.input
class ReserveOrderInput:
    order_id: strawberry.ID
    expected_version: int | None = None

    def order_key(self) -> int:
        return _order_pk(self.order_id)


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: str | None = strawberry.field(default=None, description="At most 500 characters.")
    expected_version: int | None = None

    def order_key(self) -> int:
        return _order_pk(self.order_id)


@strawberry.input
class AdvanceOrderInput:
    order_id: strawberry.ID
    step: AdvanceStep
    reason: str | None = None
    expected_version: int | None = None

    def order_key(self) -> int:
        return _order_pk(self.order_id)


@strawberry.type
class OrderPayload:
    order: Order | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
