"""One transition of one order: checked against the table, applied in one transaction.

`apply_transition` runs inside the caller's transaction and does, in order:
1. lock the order row (`FOR UPDATE`), so transitions of one order run one at a time;
2. check the expected version (optimistic clients) and the lifecycle table;
3. move the vehicle along (reserve, sell, release), refusing a vehicle someone else holds;
4. update the order (status, version + 1) and append the event with the next sequence.
The partial unique index on active orders and the unique (order, sequence) constraint
back these checks in the database itself. Events are published by the caller, after
commit (services/events.py), never from inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.settings import DEFAULT_RESERVATION_MINUTES
from models.base import utcnow
from models.order import Order, OrderEvent, OrderStatus
from models.vehicle import Vehicle, VehicleStatus
from services.audit.log import AuditActor, record
from services.orders.errors import (
    OrderNotFoundError,
    TransitionNotAllowedError,
    VehicleUnavailableError,
    VersionConflictError,
)
from services.orders.lifecycle import (
    Actor,
    ActorKind,
    OrderEventKind,
    Refusal,
    VehicleEffect,
    check,
    vehicle_effect,
)
from services.pricing.valuation import comparables_group

orders: sa.Table = Order.__table__  # type: ignore[attr-defined]
order_events: sa.Table = OrderEvent.__table__  # type: ignore[attr-defined]
vehicles: sa.Table = Vehicle.__table__  # type: ignore[attr-defined]

ACTIVE_ORDER_INDEX = "uq_orders_active_vehicle"
# How long a reservation holds the vehicle when the caller names no time (the API passes
# the `reservation_minutes` setting, whose default this is).
DEFAULT_RESERVATION_TTL = timedelta(minutes=DEFAULT_RESERVATION_MINUTES)


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """An event as written: what subscribers receive once the transaction commits."""

    order_id: int
    sequence: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    reason: str | None
    at: datetime
    version: int
    vehicle_id: int
    vehicle_changed: bool
    vehicle_group: str | None = None  # the moved vehicle's comparables group


async def append_event(
    conn: AsyncConnection,
    *,
    order_id: int,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    actor: Actor,
    reason: str | None,
    now: datetime,
) -> int:
    """Append the order's next event (the caller holds the order's row lock); its sequence."""
    sequence: int = (
        await conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(order_events.c.sequence), 0) + 1).where(
                order_events.c.order_id == order_id
            )
        )
    ).scalar_one()
    await conn.execute(
        order_events.insert().values(
            order_id=order_id,
            sequence=sequence,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            actor=actor.label,
            reason=reason,
            at=now,
        )
    )
    return sequence


async def _move_vehicle(
    conn: AsyncConnection, vehicle_id: int, effect: VehicleEffect, now: datetime
) -> str | None:
    """Move the vehicle as the transition says; its comparables group when it moved."""
    c = vehicles.c
    if effect is VehicleEffect.RESERVE:
        condition = c.status == VehicleStatus.AVAILABLE.value
        to = VehicleStatus.RESERVED
    elif effect is VehicleEffect.SELL:
        condition, to = sa.true(), VehicleStatus.SOLD
    elif effect is VehicleEffect.RELEASE:
        condition = c.status.in_([VehicleStatus.RESERVED.value, VehicleStatus.SOLD.value])
        to = VehicleStatus.AVAILABLE
    else:
        return None
    moved = (
        await conn.execute(
            vehicles.update()
            .where(c.id == vehicle_id, condition)
            .values(status=to.value, updated_at=now)
            .returning(c.make, c.model)
        )
    ).first()
    if moved is None and effect is VehicleEffect.RESERVE:
        raise VehicleUnavailableError(
            "the vehicle is not available: another order holds it or it left the catalog"
        )
    return None if moved is None else comparables_group(moved.make, moved.model)


def _order_values(
    to_status: OrderStatus, now: datetime, reservation_ttl: timedelta
) -> dict[str, object]:
    values: dict[str, object] = {
        "status": to_status.value,
        "version": orders.c.version + 1,
        "updated_at": now,
    }
    if to_status is OrderStatus.RESERVED:
        values["reserved_until"] = now + reservation_ttl
    elif to_status in (OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        values["reserved_until"] = None
    if to_status is OrderStatus.DELIVERED:
        values["delivered_at"] = now
    return values


async def apply_transition(
    conn: AsyncConnection,
    order_id: int,
    event: OrderEventKind,
    actor: Actor,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    now: datetime | None = None,
) -> AppliedEvent:
    """Apply `event` to the order inside the caller's transaction, or raise why not."""
    now = now or utcnow()
    row = (
        await conn.execute(
            sa.select(orders.c.status, orders.c.version, orders.c.vehicle_id, orders.c.buyer_id)
            .where(orders.c.id == order_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise OrderNotFoundError(f"no order {order_id}")
    from_status = OrderStatus(row.status)
    if expected_version is not None and expected_version != row.version:
        raise VersionConflictError(
            f"the order is at version {row.version}, not {expected_version}: reload it"
        )
    outcome = check(from_status, event, actor.kind)
    if isinstance(outcome, Refusal):
        raise TransitionNotAllowedError(outcome.message)
    to_status = outcome
    vehicle_group = await _move_vehicle(
        conn, row.vehicle_id, vehicle_effect(from_status, to_status), now
    )
    try:
        async with conn.begin_nested():
            await conn.execute(
                orders.update()
                .where(orders.c.id == order_id)
                .values(**_order_values(to_status, now, reservation_ttl))
            )
    except IntegrityError as error:
        if ACTIVE_ORDER_INDEX in str(error.orig):
            raise VehicleUnavailableError("another order already holds the vehicle") from None
        raise
    sequence = await append_event(
        conn, order_id=order_id, from_status=from_status, to_status=to_status,
        actor=actor, reason=reason, now=now,
    )  # fmt: skip
    if actor.kind is ActorKind.ADMIN and actor.id is not None:
        # Staff moves are audited in the same transaction (README "Audit log").
        await record(
            conn, "order.transitioned", actor=AuditActor.user(actor.id),
            subject=("Order", order_id), subject_user_id=row.buyer_id,
            details={"from": from_status.value, "to": to_status.value, "event": event.value,
                     "sequence": sequence},
        )  # fmt: skip
    return AppliedEvent(
        order_id=order_id,
        sequence=sequence,
        from_status=from_status,
        to_status=to_status,
        actor=actor.label,
        reason=reason,
        at=now,
        version=row.version + 1,
        vehicle_id=row.vehicle_id,
        vehicle_changed=vehicle_group is not None,
        vehicle_group=vehicle_group,
    )
