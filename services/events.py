"""Order events on Redis pub/sub, published after the transaction that wrote them commits.

One channel carries every order's events; each API process holds one subscription and
fans out to its own subscribers (the subscriptions read the database for anything a
message could not tell them, so a lost message costs a read, never an event).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.redis_keys import ORDER_EVENTS_CHANNEL
from services.orders.transitions import AppliedEvent

log = logging.getLogger(__name__)


def encode_event(event: AppliedEvent) -> bytes:
    return orjson.dumps(
        {
            "orderId": event.order_id,
            "sequence": event.sequence,
            "from": event.from_status.value if event.from_status else None,
            "to": event.to_status.value,
            "actor": event.actor,
            "reason": event.reason,
            "at": event.at.isoformat(),
        }
    )


async def publish_order_events(redis: Redis, events: Iterable[AppliedEvent]) -> None:
    """Publish committed events; a Redis failure is logged, never raised (the database
    already holds them, and subscribers catch up from it)."""
    for event in events:
        try:
            await redis.publish(ORDER_EVENTS_CHANNEL, encode_event(event))
        except RedisError:
            log.warning(
                "order event not published",
                extra={"order_id": event.order_id, "sequence": event.sequence},
                exc_info=True,
            )
