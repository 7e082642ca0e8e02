"""The order event outbox: events committed while Redis could not take them.

Events are rows of `order_event` first (the transaction commits them), then published on
Redis for live subscribers (services/events.py). When a publication fails, the event's
key goes into `order_event_outbox` and the relay (`relay_outbox`, run by every API
process) publishes it once Redis answers again, then deletes the row; it also drops the
caches of the orders' vehicles, whose invalidation failed with the publication. Rows
are claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work; a message
published twice is harmless (subscribers drop a sequence they have already seen).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.redis_keys import ORDER_EVENTS_CHANNEL
from services.events import OUTBOX, PublishedEvent, encode_event
from services.orders.transitions import order_events, orders
from services.vehicles.changes import vehicles_changed

log = logging.getLogger(__name__)

outbox = OUTBOX
RELAY_BATCH = 500


async def outbox_backlog(engine: AsyncEngine) -> int:
    """How many committed events wait for publication."""
    async with engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(outbox))
    return int(count or 0)


async def relay_outbox(engine: AsyncEngine, redis: Redis) -> int:
    """Publish what the outbox holds (oldest first, per order in sequence), delete what was
    published; return how many were. A Redis failure stops the pass: the rest stay."""
    published = 0
    async with engine.begin() as conn:
        claimed = (
            await conn.execute(
                sa.select(outbox.c.order_id, outbox.c.sequence)
                .order_by(outbox.c.order_id, outbox.c.sequence)
                .limit(RELAY_BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not claimed:
            return 0
        keys = [(row.order_id, row.sequence) for row in claimed]
        rows = (
            (
                await conn.execute(
                    sa.select(order_events, orders.c.vehicle_id)
                    .join(orders, orders.c.id == order_events.c.order_id)
                    .where(sa.tuple_(order_events.c.order_id, order_events.c.sequence).in_(keys))
                    .order_by(order_events.c.order_id, order_events.c.sequence)
                )
            )
            .mappings()
            .all()
        )
        done: list[tuple[int, int]] = []
        vehicles: set[int] = set()
        for row in rows:
            event = PublishedEvent.from_row(row)
            try:
                await redis.publish(ORDER_EVENTS_CHANNEL, encode_event(event))
            except RedisError:
                log.info("outbox relay stopped: Redis unavailable")
                break
            done.append((event.order_id, event.sequence))
            vehicles.add(row["vehicle_id"])
            published += 1
        if done:
            await conn.execute(
                sa.delete(outbox).where(sa.tuple_(outbox.c.order_id, outbox.c.sequence).in_(done))
            )
    if vehicles:
        # The vehicles' cache invalidation failed with the publication: do it now.
        await vehicles_changed(redis, vehicles, None)
    return published
