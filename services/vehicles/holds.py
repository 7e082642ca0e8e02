"""The invariant between a vehicle's status and its orders, checked in one query.

A vehicle is RESERVED only while an order holds it (RESERVED, PAYMENT_PENDING,
PAYMENT_FAILED), and SOLD only with an order that paid for it (PAID … COMPLETED, or
REFUNDED after delivery: a delivered car stays sold). Conversely an order that holds a
vehicle finds it RESERVED, and a paid, not yet delivered order finds it SOLD. Nothing may
break this: the order transitions move the vehicle in the same transaction
(services/orders/transitions.py), listings and feeds never touch a RESERVED or SOLD
vehicle, and the seed only writes AVAILABLE and WITHDRAWN ones. `hold_violations` is
what tests, the fuzzer and operations ask to prove it; migration 0008 repaired the
vehicles earlier seeds left RESERVED or SOLD with no order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.order import ACTIVE_STATUSES, Order, OrderStatus
from models.vehicle import Vehicle, VehicleStatus
from services.orders.lifecycle import CANCELLABLE_STATUSES, REFUNDABLE_STATUSES

orders: sa.Table = Order.__table__  # type: ignore[attr-defined]
vehicles: sa.Table = Vehicle.__table__  # type: ignore[attr-defined]

S = OrderStatus
# Both read off the lifecycle table: held while it may still be cancelled, paid for while
# it may still be refunded.
HOLDING = tuple(status for status in ACTIVE_STATUSES if status in CANCELLABLE_STATUSES)
PAID_FOR = REFUNDABLE_STATUSES
STAYS_SOLD = (*PAID_FOR, S.COMPLETED)


@dataclass(frozen=True, slots=True)
class HoldViolation:
    """One vehicle whose status and orders disagree, and how."""

    vehicle_id: int
    vehicle_status: str
    problem: str


def _values(statuses: Sequence[OrderStatus]) -> list[str]:
    return [status.value for status in statuses]


def _order_exists(*where: sa.ColumnElement[bool]) -> sa.Exists:
    o = orders.c
    return sa.exists().where(o.vehicle_id == vehicles.c.id, *where)


def _problems() -> list[tuple[sa.ColumnElement[bool], str]]:
    o, v = orders.c, vehicles.c
    sold_by_an_order = sa.or_(
        o.status.in_(_values(STAYS_SOLD)),
        sa.and_(o.status == S.REFUNDED.value, o.delivered_at.is_not(None)),
    )
    return [
        (
            sa.and_(
                v.status == VehicleStatus.RESERVED.value,
                ~_order_exists(o.status.in_(_values(HOLDING))),
            ),
            "RESERVED without an order holding it",
        ),
        (
            sa.and_(v.status == VehicleStatus.SOLD.value, ~_order_exists(sold_by_an_order)),
            "SOLD without an order that paid for it",
        ),
        (
            sa.and_(
                v.status != VehicleStatus.RESERVED.value,
                _order_exists(o.status.in_(_values(HOLDING))),
            ),
            "an order holds it, yet it is not RESERVED",
        ),
        (
            sa.and_(
                v.status != VehicleStatus.SOLD.value, _order_exists(o.status.in_(_values(PAID_FOR)))
            ),
            "an order paid for it, yet it is not SOLD",
        ),
    ]


async def hold_violations(
    conn: AsyncConnection, *, vehicle_ids: Sequence[int] | None = None, limit: int = 100
) -> list[HoldViolation]:
    """Vehicles whose status and orders disagree (empty when the invariant holds), among
    `vehicle_ids` if given; at most `limit` of them."""
    v = vehicles.c
    found: list[HoldViolation] = []
    for condition, problem in _problems():
        query = sa.select(v.id, v.status).where(condition).order_by(v.id).limit(limit)
        if vehicle_ids is not None:
            query = query.where(v.id.in_(list(vehicle_ids)))
        rows = await conn.execute(query)
        found += [HoldViolation(row.id, row.status, problem) for row in rows]
    return found[:limit]
