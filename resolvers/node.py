"""Relay's node(id:) and nodes(ids:): any Node by its global ID.

Public types (Vehicle, Dealer, Quote) resolve for anyone; an Order only for its buyer,
the partner that placed it, or staff (FORBIDDEN otherwise: the same rule as order(id:));
a Payment or a Refund by the rule of its order; a FeedRun for staff only.
A User resolves through me/nodes only for themselves or staff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from auth.permissions import STAFF, Owner, may_act_on, principal_of
from schema.accounts import User
from schema.catalog import Dealer, Vehicle
from schema.context import Info
from schema.errors import BadUserInputError, ForbiddenError
from schema.feeds import FeedRun
from schema.ids import decode_int_id, from_global_id
from schema.node import Node
from schema.orders import Order
from schema.payments import Payment, Refund
from schema.pricing import Quote

MAX_NODES = 100


async def _vehicle(info: Info, pk: int) -> Node | None:
    row = await info.context.loaders.vehicle_by_id.load(pk)
    return None if row is None else Vehicle.from_row(row)


async def _dealer(info: Info, pk: int) -> Node | None:
    row = await info.context.loaders.dealer_by_id.load(pk)
    return None if row is None else Dealer.from_row(row)


async def _quote(info: Info, pk: int) -> Node | None:
    stored = await info.context.loaders.quote_by_id.load(pk)
    return None if stored is None else Quote.from_stored(stored)


async def _order(info: Info, pk: int) -> Node | None:
    row = await info.context.loaders.order_by_id.load(pk)
    if row is None:
        return None
    principal = principal_of(info)
    if not may_act_on(principal, Owner.of_order(row)):
        raise ForbiddenError(
            "Only the order's buyer, the partner that placed it, or staff may see it."
        )
    return Order.from_row(row)


async def _payment(info: Info, pk: int) -> Node | None:
    row = await info.context.loaders.payment_by_id.load(pk)
    if row is None:
        return None
    await _order(info, row["order_id"])  # the order's rule: FORBIDDEN for anyone else's
    return Payment.from_row(row)


async def _refund(info: Info, pk: int) -> Node | None:
    row = await info.context.loaders.refund_by_id.load(pk)
    if row is None:
        return None
    await _order(info, row["order_id"])
    return Refund.from_row(row)


async def _feed_run(info: Info, pk: int) -> Node | None:
    if not STAFF.has_permission(None, info):  # anonymous: UNAUTHENTICATED
        raise ForbiddenError(STAFF.message or "Requires the role ADMIN")
    row = await info.context.loaders.feed_run_by_id.load(pk)
    return None if row is None else FeedRun.from_row(row)


async def _user(info: Info, pk: int) -> Node | None:
    principal = principal_of(info)
    if not may_act_on(principal, Owner(user_id=pk)):
        return None
    record = await info.context.loaders.user_by_id.load(pk)
    return None if record is None else User.from_record(record)


RESOLVERS: dict[str, Callable[[Info, int], Awaitable[Node | None]]] = {
    "Vehicle": _vehicle,
    "Dealer": _dealer,
    "Quote": _quote,
    "Order": _order,
    "Payment": _payment,
    "Refund": _refund,
    "User": _user,
    "FeedRun": _feed_run,
}


async def node(info: Info, id: str) -> Node | None:
    """The object with this global ID; null when there is none, as Relay expects."""
    type_name, _ = from_global_id(id)
    return await RESOLVERS[type_name](info, decode_int_id(id, type_name))


async def nodes(info: Info, ids: Sequence[str]) -> list[Node | None]:
    """Objects by global ID, in order; null for a missing one or one the caller may not see."""
    if len(ids) > MAX_NODES:
        raise BadUserInputError(f"ids: at most {MAX_NODES} at once", field="ids")
    for index, global_id in enumerate(ids):
        type_name, _ = from_global_id(global_id, field=f"ids[{index}]")
        decode_int_id(global_id, type_name, field=f"ids[{index}]")

    async def visible(global_id: str) -> Node | None:
        try:
            return await node(info, global_id)
        except ForbiddenError:
            return None

    return list(await asyncio.gather(*(visible(global_id) for global_id in ids)))
