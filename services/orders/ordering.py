"""Ordering use-cases: create (and reserve), reserve, cancel, advance.

Each is one transaction: load, apply the table's transitions, commit. After the commit
every cache showing the vehicle forgets it when its status moved, and the events are
published for live subscribers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from services import money
from services.countries import normalise_country
from services.events import publish_order_events
from services.orders.errors import (
    CustomerGoneError,
    OrderNotFoundError,
    QuoteExpiredError,
    QuoteMismatchError,
)
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.transitions import (
    DEFAULT_RESERVATION_TTL,
    AppliedEvent,
    append_event,
    apply_transition,
    orders,
)
from services.pricing.quotes import StoredQuote, fetch_quotes, quote_table, quote_vehicle
from services.vehicles.changes import vehicles_changed

SYSTEM = Actor(ActorKind.SYSTEM)


class AdvanceStep(enum.StrEnum):
    """The fulfilment steps staff take, each one event of the lifecycle."""

    PREPARE = "PREPARE"
    SHIP = "SHIP"
    DELIVER = "DELIVER"
    COMPLETE = "COMPLETE"


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order_id: int
    events: list[AppliedEvent] = field(default_factory=list)


async def after_commit(
    redis: Redis, events: list[AppliedEvent], *, engine: AsyncEngine | None = None
) -> None:
    """What follows committed transitions: the moved vehicles leave every cache
    (services/vehicles/changes.py) and the events are published (also for
    services/payments, which applies transitions inside its own transactions)."""
    moved = [event for event in events if event.vehicle_changed]
    if moved:
        await vehicles_changed(
            redis,
            {event.vehicle_id for event in moved},
            [event.vehicle_group for event in moved if event.vehicle_group is not None],
        )
    await publish_order_events(redis, events, engine=engine)


async def _usable_quote(
    conn: AsyncConnection, quote_id: int, vehicle_id: int, destination: str, now: datetime
) -> StoredQuote:
    stored = (await fetch_quotes(conn, [quote_id])).get(quote_id)
    if stored is None:
        raise QuoteMismatchError("no such quote")
    if stored.pricing.vehicle_id != vehicle_id or stored.pricing.destination_country != destination:
        raise QuoteMismatchError("the quote is for another vehicle or destination")
    if stored.is_expired(now):
        raise QuoteExpiredError(
            f"the quote expired at {stored.valid_until.isoformat()}; request a new one"
        )
    return stored


# The foreign keys an order's customer is held by (PostgreSQL's default names).
_CUSTOMER_KEYS = ("orders_buyer_id_fkey", "orders_partner_id_fkey")


async def _insert_order(conn: AsyncConnection, values: dict[str, object]) -> int:
    """Insert the order; `CustomerGoneError` when its buyer or partner was just deleted
    (the sign-in check ran before, but an account can go while the request runs)."""
    try:
        async with conn.begin_nested():
            order_id = await conn.scalar(orders.insert().values(**values).returning(orders.c.id))
    except IntegrityError as error:
        if any(key in str(error.orig) for key in _CUSTOMER_KEYS):
            raise CustomerGoneError("the account placing the order no longer exists") from None
        raise
    assert order_id is not None
    return int(order_id)


async def create_order(
    engine: AsyncEngine,
    redis: Redis,
    *,
    customer: Actor,
    buyer_id: int | None,
    partner_id: int | None,
    vehicle_id: int,
    destination_country: str,
    reserve: bool,
    quote_id: int | None = None,
    reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    now: datetime | None = None,
) -> OrderOutcome:
    """Create an order priced by a fresh (or the given, unexpired) quote; reserve if asked."""
    now = now or utcnow()
    destination = normalise_country(destination_country)
    async with engine.begin() as conn:
        if quote_id is not None:
            quote = await _usable_quote(conn, quote_id, vehicle_id, destination, now)
        else:
            quote = await quote_vehicle(conn, redis, vehicle_id, destination, now=now)
        order_id = await _insert_order(
            conn,
            {
                "buyer_id": buyer_id,
                "partner_id": partner_id,
                "vehicle_id": vehicle_id,
                "quote_id": quote.id,
                "destination_country": destination,
                "status": OrderStatus.DRAFT.value,
                "version": 1,
                "total_minor": money.to_minor(quote.pricing.total, quote.pricing.currency),
                "currency": quote.pricing.currency,
                "created_at": now,
                "updated_at": now,
            },
        )
        sequence = await append_event(
            conn, order_id=order_id, from_status=None, to_status=OrderStatus.DRAFT,
            actor=customer, reason=None, now=now,
        )  # fmt: skip
        events = [
            AppliedEvent(order_id, sequence, None, OrderStatus.DRAFT, customer.label, None, now,
                         1, vehicle_id, vehicle_changed=False),
            await apply_transition(conn, order_id, OrderEventKind.QUOTE, SYSTEM,
                                   reason=f"quote {quote.id}", now=now),
        ]  # fmt: skip
        if reserve:
            events.append(
                await apply_transition(
                    conn,
                    order_id,
                    OrderEventKind.RESERVE,
                    customer,
                    reservation_ttl=reservation_ttl,
                    now=now,
                )
            )
    await after_commit(redis, events, engine=engine)
    return OrderOutcome(order_id, events)


async def _locked_quote_expiry(conn: AsyncConnection, order_id: int) -> datetime:
    valid_until = await conn.scalar(
        sa.select(quote_table.c.valid_until)
        .select_from(orders.join(quote_table, quote_table.c.id == orders.c.quote_id))
        .where(orders.c.id == order_id)
    )
    if valid_until is None:
        raise OrderNotFoundError(f"no order {order_id}")
    return valid_until  # type: ignore[no-any-return]


async def transition_order(
    engine: AsyncEngine,
    redis: Redis,
    order_id: int,
    event: OrderEventKind,
    actor: Actor,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    now: datetime | None = None,
) -> OrderOutcome:
    """Apply one event to an order in a transaction of its own; publish it once committed."""
    now = now or utcnow()
    async with engine.begin() as conn:
        if event is OrderEventKind.RESERVE and await _locked_quote_expiry(conn, order_id) <= now:
            raise QuoteExpiredError("the order's quote has expired; create a new order")
        applied = await apply_transition(
            conn, order_id, event, actor, reason=reason, expected_version=expected_version,
            reservation_ttl=reservation_ttl, now=now,
        )  # fmt: skip
    await after_commit(redis, [applied], engine=engine)
    return OrderOutcome(order_id, [applied])


ADVANCE_EVENTS = {
    AdvanceStep.PREPARE: OrderEventKind.PREPARE,
    AdvanceStep.SHIP: OrderEventKind.SHIP,
    AdvanceStep.DELIVER: OrderEventKind.DELIVER,
    AdvanceStep.COMPLETE: OrderEventKind.COMPLETE,
}
