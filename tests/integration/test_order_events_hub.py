"""The order events hub on a real Redis: fan-out, one shared read per event, RESYNC when
the subscription comes back and when an inbox overflows, malformed messages ignored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from core.order_events_hub import RESYNC, LiveEvent, OrderEventsHub
from core.redis_keys import ORDER_EVENTS_CHANNEL
from models.order import OrderStatus
from services.events import decode_event, encode_event
from services.orders.transitions import AppliedEvent

WAIT = 10.0
ORDER = 10**12  # no real order has this id


def _event(order_id: int, sequence: int) -> AppliedEvent:
    return AppliedEvent(
        order_id=order_id, sequence=sequence, from_status=OrderStatus.RESERVED,
        to_status=OrderStatus.PAYMENT_PENDING, actor="buyer:1", reason=None,
        at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), version=sequence,
        vehicle_id=1, vehicle_changed=False,
    )  # fmt: skip


async def _publish(redis: Redis, order_id: int, sequence: int) -> None:
    await redis.publish(ORDER_EVENTS_CHANNEL, encode_event(_event(order_id, sequence)))


@pytest.fixture
async def hub(redis: Redis) -> AsyncIterator[OrderEventsHub]:
    started = OrderEventsHub(redis, inbox_size=2)
    await started.start()
    assert started.connected
    yield started
    await started.stop()


def test_a_message_decodes_to_what_was_published() -> None:
    event = _event(ORDER, 7)
    decoded = decode_event(encode_event(event))
    assert (decoded.order_id, decoded.sequence, decoded.from_status, decoded.to_status) == (
        ORDER, 7, OrderStatus.RESERVED, OrderStatus.PAYMENT_PENDING,
    )  # fmt: skip
    assert (decoded.actor, decoded.reason, decoded.at) == ("buyer:1", None, event.at)
    for garbage in (b"", b"[]", b'{"orderId": 1}', b'{"orderId": "1", "sequence": 1}'):
        with pytest.raises(ValueError, match="not an order event"):
            decode_event(garbage)


async def test_every_local_subscriber_gets_the_same_event_and_one_shared_read(
    hub: OrderEventsHub, redis: Redis
) -> None:
    with hub.listen(ORDER) as first, hub.listen(ORDER) as second, hub.listen(ORDER + 1) as other:
        assert hub.subscriber_count == 3
        await redis.publish(ORDER_EVENTS_CHANNEL, b"not an event")
        await _publish(redis, ORDER, 1)
        a = await asyncio.wait_for(first.get(), WAIT)
        b = await asyncio.wait_for(second.get(), WAIT)
        assert isinstance(a, LiveEvent)
        assert a is b
        assert a.event.sequence == 1
        reads = 0

        async def read() -> str:
            nonlocal reads
            reads += 1
            await asyncio.sleep(0.01)
            return "the order"

        assert await asyncio.gather(a.shared(read), b.shared(read)) == ["the order"] * 2
        assert reads == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(other.get(), 0.2)  # another order's subscriber: nothing
    assert hub.subscriber_count == 0


async def test_an_overflowing_inbox_is_told_to_read_the_database(
    hub: OrderEventsHub, redis: Redis
) -> None:
    with hub.listen(ORDER) as slow, hub.listen(ORDER + 1) as marker:
        for sequence in range(1, 6):
            await _publish(redis, ORDER, sequence)
        await _publish(redis, ORDER + 1, 1)  # dispatched after the five above
        await asyncio.wait_for(marker.get(), WAIT)
        assert await asyncio.wait_for(slow.get(), WAIT) is RESYNC
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow.get(), 0.2)  # the five were dropped for it


async def test_a_lost_subscription_comes_back_and_says_so(
    hub: OrderEventsHub, redis: Redis
) -> None:
    with hub.listen(ORDER) as inbox:
        made = hub.subscriptions_made
        assert int(await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")) >= 1
        assert await asyncio.wait_for(inbox.get(), WAIT) is RESYNC
        assert hub.subscriptions_made == made + 1
        assert hub.connected
        await _publish(redis, ORDER, 1)
        delivered = await asyncio.wait_for(inbox.get(), WAIT)
        assert isinstance(delivered, LiveEvent)
        assert delivered.event.sequence == 1
