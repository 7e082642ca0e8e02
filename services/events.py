"""Order events on Redis pub/sub, published after the transaction that wrote them commits.

One channel carries every order's events; each API process holds one subscription and
fans out to its own subscribers (the subscriptions read the database for anything a
message could not tell them, so a lost message costs a read, never an event).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.redis_keys import ORDER_EVENTS_CHANNEL
from models.order import OrderEventOutbox, OrderStatus
from services.orders.transitions import AppliedEvent

log = logging.getLogger(__name__)

# Events committed but not published yet (services/outbox.py relays them).
OUTBOX: Table = OrderEventOutbox.__table__  # type: ignore[attr-defined]


class Resync(enum.Enum):
    """Events may have been lost: read the database after the last one delivered."""

    RESYNC = "RESYNC"


RESYNC = Resync.RESYNC


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """An order event as a pub/sub message carries it."""

    order_id: int
    sequence: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    reason: str | None
    at: datetime

    @classmethod
    def from_row(cls, row: Any) -> PublishedEvent:
        """The event an `order_event` row holds."""
        return cls(
            order_id=row["order_id"],
            sequence=row["sequence"],
            from_status=OrderStatus(row["from_status"]) if row["from_status"] else None,
            to_status=OrderStatus(row["to_status"]),
            actor=row["actor"],
            reason=row["reason"],
            at=row["at"],
        )


def encode_event(event: AppliedEvent | PublishedEvent) -> bytes:
    """The message published for a committed event (JSON, read back by `decode_event`)."""
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


def decode_event(message: bytes | str) -> PublishedEvent:
    """The event a message carries; `ValueError` when the message is not one."""
    try:
        data = orjson.loads(message)
        order_id, sequence = data["orderId"], data["sequence"]
        if not (isinstance(order_id, int) and isinstance(sequence, int) and sequence >= 1):
            raise ValueError
        return PublishedEvent(
            order_id=order_id,
            sequence=sequence,
            from_status=OrderStatus(data["from"]) if data["from"] is not None else None,
            to_status=OrderStatus(data["to"]),
            actor=str(data["actor"]),
            reason=data["reason"] if isinstance(data["reason"], str) else None,
            at=datetime.fromisoformat(data["at"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError(f"not an order event: {message!r:.200}") from None


async def publish_order_events(
    redis: Redis, events: Iterable[AppliedEvent], *, engine: AsyncEngine | None = None
) -> None:
    """Publish committed events; a Redis failure is logged, never raised: the events
    left unpublished go to the outbox (with `engine`), which the relay publishes once
    Redis is back (services/outbox.py)."""
    events = list(events)
    for index, event in enumerate(events):
        try:
            await redis.publish(ORDER_EVENTS_CHANNEL, encode_event(event))
        except RedisError:
            log.warning(
                "order event not published; kept in the outbox",
                extra={"order_id": event.order_id, "sequence": event.sequence},
            )
            if engine is not None:
                await keep_unpublished(engine, events[index:])
            return


async def keep_unpublished(engine: AsyncEngine, events: Sequence[AppliedEvent]) -> None:
    """Record events whose publication failed, for the relay; a database failure here is
    logged (the events are committed: subscribers still read them on their next gap)."""
    rows = [{"order_id": event.order_id, "sequence": event.sequence} for event in events]
    if not rows:
        return
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(OUTBOX).values(rows).on_conflict_do_nothing())
    except (DBAPIError, OSError, TimeoutError):
        log.warning("order events not kept in the outbox", exc_info=True)
