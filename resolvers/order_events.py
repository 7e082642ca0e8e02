"""orderStatusChanged: an order's events, gap-free and without duplicates, then live.

The arguments are checked here (errors answer the subscribe message); the stream itself,
and its no-gap, no-duplicate rule, is services/orders/live_status.py.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from models.order import OrderStatus
from schema.context import Info
from schema.errors import BadUserInputError, NotFoundError
from schema.ids import decode_int_id
from schema.orders import OrderEvent
from services.errors import InvalidArgumentError
from services.orders import live_status


async def order_status_changed(
    info: Info, order_id: strawberry.ID, after_sequence: int | None
) -> AsyncGenerator[OrderEvent, None]:
    """Check the arguments (errors here answer the subscribe message), then stream."""
    hub = info.context.order_events
    if hub is None:
        raise RuntimeError("subscriptions need the order events hub (core/app.py)")
    pk = decode_int_id(order_id, "Order", field="orderId")
    after = after_sequence or 0
    try:
        live_status.check_after_sequence(after)
        # IsOrderOwner loaded the order already; the loader serves it again from its cache.
        order = await info.context.loaders.order_by_id.load(pk)
        if order is None:
            raise NotFoundError("no such order", field="orderId")
        events = await info.context.loaders.events_by_order_id.load(pk)
        latest = events[-1]["sequence"] if events else 0
        follows = live_status.check_resume(OrderStatus(order["status"]), after, latest)
    except InvalidArgumentError as error:
        raise BadUserInputError(str(error), field=error.argument) from None
    if not follows:
        return _nothing()  # the client has seen the end; nothing will ever follow
    reader = live_status.DatabaseReader(info.context.db.database.engine)
    updates = live_status.follow_order(hub, reader, pk, after, with_order=_selects(info, "order"))
    return _order_events(updates)


async def _order_events(
    updates: AsyncGenerator[live_status.StatusUpdate, None],
) -> AsyncGenerator[OrderEvent, None]:
    async with aclosing(updates):  # a client gone: the stream leaves the hub at once
        async for update in updates:
            yield OrderEvent.from_published(update.event, order_row=update.order)


async def _nothing() -> AsyncGenerator[OrderEvent, None]:
    return
    yield  # an async generator that yields nothing


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
