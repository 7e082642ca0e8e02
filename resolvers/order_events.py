"""orderStatusChanged: an order's events, gap-free and without duplicates, then live.

Per subscriber, in this order:
1. register with the process's hub (core/order_events_hub.py) first, so that nothing
   committed from then on can pass unseen;
2. read from the database every event after `afterSequence` and yield it;
3. take live deliveries from the inbox, keeping `last`, the sequence last yielded:
   - sequence == last + 1: yield it;
   - sequence <= last: a duplicate (already read from the database), dropped;
   - sequence > last + 1: a gap (a message was lost): read the database after `last`;
   - RESYNC (the hub resubscribed, or the inbox overflowed): read the database after `last`;
4. complete after yielding an event whose `to` is terminal (COMPLETED, CANCELLED,
   REFUNDED), or at once when the client has already seen the order's end.

A read that meets an unavailable database (core/availability.py) is tried again every
second for up to READ_RETRY_SECONDS: a short outage only delays the stream, which goes on
gap-free. Past that the stream ends with a SERVICE_UNAVAILABLE error (`retryAfter`): the
client resubscribes with `afterSequence`, never mistaking the end for the order's.
While Redis is away, nothing is delivered live; when the hub subscribes again, every
inbox gets RESYNC and reads what it missed (events committed meanwhile were published
again by the outbox relay too, services/outbox.py).

Events are committed before they are published, so whatever a message could miss is in
the database by the time the subscriber reads it. Each read takes a pooled connection
for its few statements and gives it back: a subscription holds none while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.types.nodes import SelectedField, Selection

from core.availability import ServiceUnavailableError, unavailable_dependency
from core.order_events_hub import RESYNC, OrderEventsHub
from models.order import OrderStatus
from schema.context import Info
from schema.errors import BadUserInputError, NotFoundError
from schema.ids import decode_int_id
from schema.orders import OrderEvent
from services.events import PublishedEvent
from services.orders.lifecycle import TERMINAL_STATUSES
from services.orders.queries import fetch_events_by_order_ids, fetch_orders_by_ids

READ_RETRY_SECONDS = 30.0
T = TypeVar("T")


async def order_status_changed(
    info: Info, order_id: strawberry.ID, after_sequence: int | None
) -> AsyncGenerator[OrderEvent, None]:
    """Check the arguments (errors here answer the subscribe message), then stream."""
    hub = info.context.order_events
    if hub is None:
        raise RuntimeError("subscriptions need the order events hub (core/app.py)")
    pk = decode_int_id(order_id, "Order", field="orderId")
    after = after_sequence or 0
    if after < 0:
        raise BadUserInputError("afterSequence: must be 0 or more", field="afterSequence")
    # IsOrderOwner loaded the order already; the loader serves it again from its cache.
    order = await info.context.loaders.order_by_id.load(pk)
    if order is None:
        raise NotFoundError("no such order", field="orderId")
    events = await info.context.loaders.events_by_order_id.load(pk)
    latest = events[-1]["sequence"] if events else 0
    if after > latest:
        raise BadUserInputError(
            f"afterSequence: the order's last event is {latest}", field="afterSequence"
        )
    if OrderStatus(order["status"]) in TERMINAL_STATUSES and after >= latest:
        return _nothing()  # the client has seen the end; nothing will ever follow
    engine = info.context.db.database.engine
    return _follow(hub, engine, pk, after, with_order=_selects(info, "order"))


async def _follow(
    hub: OrderEventsHub, engine: AsyncEngine, order_id: int, last: int, *, with_order: bool
) -> AsyncGenerator[OrderEvent, None]:
    with hub.listen(order_id) as inbox:
        catch_up = True
        while True:
            if catch_up:
                catch_up = False
                rows, order = await _read(engine, order_id, last, with_order=with_order)
                for row in rows:
                    yield OrderEvent.from_row(row, order_row=order)
                    last = row["sequence"]
                    if OrderStatus(row["to_status"]) in TERMINAL_STATUSES:
                        return
            delivery = await inbox.get()
            if delivery is RESYNC:
                catch_up = True
                continue
            event = delivery.event
            if event.sequence <= last:
                continue  # a duplicate of what the database already gave
            if event.sequence > last + 1:
                catch_up = True  # a gap: the missing events are in the database
                continue
            order = (
                await delivery.shared(partial(_read_order, engine, order_id))
                if with_order
                else None
            )
            yield _from_published(event, order)
            last = event.sequence
            if event.to_status in TERMINAL_STATUSES:
                return


async def _nothing() -> AsyncGenerator[OrderEvent, None]:
    return
    yield  # an async generator that yields nothing


async def _read(
    engine: AsyncEngine, order_id: int, after: int, *, with_order: bool
) -> tuple[list[Any], Any | None]:
    return await _retrying(partial(_read_once, engine, order_id, after, with_order=with_order))


async def _retrying(read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, tried again while the database is unavailable, for a bounded time."""
    deadline = asyncio.get_running_loop().time() + READ_RETRY_SECONDS
    while True:
        try:
            return await read()
        except Exception as error:
            dependency = unavailable_dependency(error)
            if dependency is None:
                raise
            if asyncio.get_running_loop().time() >= deadline:
                raise ServiceUnavailableError(dependency) from error
        await asyncio.sleep(1.0)


async def _read_once(
    engine: AsyncEngine, order_id: int, after: int, *, with_order: bool
) -> tuple[list[Any], Any | None]:
    # The order is read after its events, so it is at least as new as the last of them.
    async with engine.connect() as conn:
        events = (await fetch_events_by_order_ids(conn, [order_id], after_sequence=after))[order_id]
        order = (await fetch_orders_by_ids(conn, [order_id])).get(order_id) if with_order else None
    return events, order


async def _read_order(engine: AsyncEngine, order_id: int) -> Any | None:
    async def read() -> Any | None:
        async with engine.connect() as conn:
            return (await fetch_orders_by_ids(conn, [order_id])).get(order_id)

    return await _retrying(read)


def _from_published(event: PublishedEvent, order: Any | None) -> OrderEvent:
    return OrderEvent(
        sequence=event.sequence,
        from_status=event.from_status,
        to_status=event.to_status,
        actor=event.actor,
        reason=event.reason,
        at=event.at,
        order_pk=event.order_id,
        order_row=order,
    )


def _selects(info: Info, name: str) -> bool:
    """Whether the subscription's selection asks for `name` (directly or in a fragment)."""
    return any(_has_field(field.selections, name) for field in info.selected_fields)


def _has_field(selections: Sequence[Selection], name: str) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif _has_field(selection.selections, name):
            return True
    return False
