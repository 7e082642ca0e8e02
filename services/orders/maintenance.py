"""Scheduled order maintenance: lapsed reservations and long-delivered orders.

Both are safe to run twice, and by several workers at once: each order moves through
`transition_order`, which locks it and re-checks its state, so a second run finds
nothing left to do and two workers never apply one transition twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.order import OrderStatus
from services.orders.errors import OrderError, VehicleUnavailableError
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.ordering import transition_order
from services.orders.transitions import orders

SYSTEM = Actor(ActorKind.SYSTEM)
AUTO_COMPLETE_AFTER = timedelta(days=14)
BATCH = 500


async def _due(engine: AsyncEngine, where: sa.ColumnElement[bool]) -> list[int]:
    async with engine.connect() as conn:
        ids = await conn.execute(
            sa.select(orders.c.id).where(where).order_by(orders.c.id).limit(BATCH)
        )
        return list(ids.scalars())


async def _apply(
    engine: AsyncEngine,
    redis: Redis,
    ids: list[int],
    event: OrderEventKind,
    reason: str,
    now: datetime,
) -> int:
    done = 0
    for order_id in ids:
        try:
            await transition_order(engine, redis, order_id, event, SYSTEM, reason=reason, now=now)
        except (OrderError, VehicleUnavailableError):
            continue  # another worker, or the buyer, got there first: nothing to do
        done += 1
    return done


async def expire_reservations(
    engine: AsyncEngine, redis: Redis, *, now: datetime | None = None
) -> int:
    """Cancel holds past their time (reserved, or a failed payment not retried in time)
    and release their vehicles; how many. (A pending payment is ended first, by
    services/payments/holds.py.)"""
    now = now or utcnow()
    c = orders.c
    lapsed = (OrderStatus.RESERVED.value, OrderStatus.PAYMENT_FAILED.value)
    ids = await _due(engine, sa.and_(c.status.in_(lapsed), c.reserved_until <= now))
    return await _apply(
        engine, redis, ids, OrderEventKind.EXPIRE_RESERVATION, "reservation expired", now
    )


async def complete_delivered(
    engine: AsyncEngine, redis: Redis, *, now: datetime | None = None
) -> int:
    """Complete orders delivered more than 14 days ago; how many."""
    now = now or utcnow()
    c = orders.c
    due = sa.and_(
        c.status == OrderStatus.DELIVERED.value, c.delivered_at <= now - AUTO_COMPLETE_AFTER
    )
    ids = await _due(engine, due)
    return await _apply(
        engine, redis, ids, OrderEventKind.COMPLETE, "completed 14 days after delivery", now
    )
