"""orderStatusChanged over real sockets: every event once and in order, across reconnects,
lost Redis messages and replicas; the stream completes at the end of the lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.redis_keys import ORDER_EVENTS_CHANNEL
from models.order import OrderStatus
from services.events import publish_order_events
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.transitions import apply_transition
from tests.api.conftest import Cast
from tests.api.subscription_support import (
    WAIT_SECONDS,
    bearer,
    churn,
    expected,
    gid,
    legacy_ws,
    reserved_order,
    step,
    transport_ws,
)
from tests.conftest import Servers, running_uvicorn

COMPLETE = "complete"
ADVANCE = """
mutation Advance($input: AdvanceOrderInput!) {
  advanceOrder(input: $input) { order { status } userErrors { code message } }
}
"""


@pytest.fixture(scope="module")
def replica(
    servers: Servers, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second API process on the same PostgreSQL and Redis as `live_server`."""
    with running_uvicorn(servers, tmp_path_factory.mktemp("replica") / "server.log") as url:
        yield url


def _without_order(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "order"}


async def test_each_transition_arrives_as_it_happens(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        for _ in range(5):
            [applied] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
            assert await ws.events("1", 1) == [expected(applied)]


async def test_a_burst_of_transitions_arrives_whole_and_in_order(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        applied = await churn(engine, redis, order_id, 5, buyer_id=cast.buyer.id)
        received = await ws.events("1", 5)
    assert [_without_order(event) for event in received] == [
        _without_order(expected(event)) for event in applied
    ]
    assert {event["order"]["id"] for event in received} == {gid("Order", order_id)}


async def test_a_reconnect_with_after_sequence_gets_exactly_what_it_missed(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        seen = await churn(engine, redis, order_id, 5, buyer_id=cast.buyer.id)
        last = (await ws.events("1", 5))[-1]["sequence"]
    assert last == seen[-1].sequence == 8
    missed = await churn(engine, redis, order_id, 5, buyer_id=cast.buyer.id)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=last)
        now = missed[-1].to_status
        assert await ws.events("1", 5) == [expected(e, order_status=now) for e in missed]
        # Nothing else was queued: the next message is the next transition.
        [after] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert await ws.events("1", 1) == [expected(after)]


async def test_a_lost_message_is_read_from_the_database_and_a_repeat_dropped(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        [first] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert await ws.events("1", 1) == [expected(first)]  # subscribed: live from now on
        async with engine.begin() as conn:  # committed, never published
            silent = await apply_transition(
                conn, order_id, OrderEventKind.PAYMENT_FAILED, Actor(ActorKind.PAYMENTS)
            )
        [loud] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert await ws.events("1", 2) == [
            expected(silent, order_status=loud.to_status),
            expected(loud),
        ]
        await publish_order_events(redis, [loud, first])  # published again: dropped
        await redis.publish(ORDER_EVENTS_CHANNEL, b"not an event")  # ignored
        [after] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert await ws.events("1", 1) == [expected(after)]


async def _pubsub_clients(redis: Redis) -> int:
    listed = await redis.execute_command("CLIENT", "LIST", "TYPE", "pubsub")
    text = listed.decode() if isinstance(listed, bytes) else str(listed)
    return len([line for line in text.splitlines() if line.strip()])


async def test_nothing_is_lost_when_the_redis_subscription_is_killed(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        before = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert await ws.events("1", 1) == [expected(before[0])]
        subscribers = await _pubsub_clients(redis)
        killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        assert int(killed) >= 1
        # Published while the server has no subscription: these messages are lost.
        during = await churn(engine, redis, order_id, 3, buyer_id=cast.buyer.id)
        now = during[-1].to_status
        received = await ws.events("1", 3)
        assert [_without_order(e) for e in received] == [
            _without_order(expected(e, order_status=now)) for e in during
        ]
        async with asyncio.timeout(WAIT_SECONDS):
            while await _pubsub_clients(redis) < subscribers:
                await asyncio.sleep(0.05)
        after = await churn(engine, redis, order_id, 2, buyer_id=cast.buyer.id)
        received = await ws.events("1", 2)
        assert [_without_order(e) for e in received] == [_without_order(expected(e)) for e in after]


async def test_the_stream_completes_at_the_end_of_the_lifecycle(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    buyer = Actor(ActorKind.BUYER, cast.buyer.id)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        cancelled = await step(engine, redis, order_id, OrderEventKind.CANCEL, buyer)
        assert await ws.events("1", 1) == [expected(cancelled)]
        assert await ws.receive() == {"id": "1", "type": COMPLETE}
        # A finished order replays its history, then completes.
        await ws.subscribe("2", order_id, after=0)
        replay = await ws.events("2", 4)
        assert [(e["sequence"], e["to"]) for e in replay] == [
            (1, "DRAFT"), (2, "QUOTED"), (3, "RESERVED"), (4, "CANCELLED"),
        ]  # fmt: skip
        assert await ws.receive() == {"id": "2", "type": COMPLETE}
        # Having seen the end, there is nothing to wait for.
        await ws.subscribe("3", order_id, after=4)
        assert await ws.receive() == {"id": "3", "type": COMPLETE}


async def test_a_change_made_on_another_replica_reaches_every_subscriber(
    live_server: str, replica: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    await step(
        engine, redis, order_id, OrderEventKind.CHECKOUT, Actor(ActorKind.BUYER, cast.buyer.id)
    )
    await step(engine, redis, order_id, OrderEventKind.PAYMENT_SUCCEEDED, Actor(ActorKind.PAYMENTS))
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=0)
        history = await ws.events("1", 5)
        assert [e["to"] for e in history] == [
            "DRAFT", "QUOTED", "RESERVED", "PAYMENT_PENDING", "PAID",
        ]  # fmt: skip
        async with httpx.AsyncClient(base_url=replica, timeout=WAIT_SECONDS) as other:
            for move in ("PREPARE", "SHIP", "DELIVER", "COMPLETE"):
                response = await other.post(
                    "/graphql",
                    json={"query": ADVANCE, "variables": {"input": {
                        "orderId": gid("Order", order_id), "step": move}}},
                    headers=cast.admin.headers,
                )  # fmt: skip
                assert response.json()["data"]["advanceOrder"]["userErrors"] == []
                [event] = await ws.events("1", 1)
                assert (event["sequence"], event["actor"]) == (
                    history[-1]["sequence"] + 1, f"admin:{cast.admin.id}",
                )  # fmt: skip
                history.append(event)
        assert [e["to"] for e in history[5:]] == [
            "PREPARING",
            "IN_TRANSIT",
            "DELIVERED",
            "COMPLETED",
        ]
        assert await ws.receive() == {"id": "1", "type": COMPLETE}


async def test_the_legacy_graphql_ws_protocol_streams_the_same_events(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with legacy_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.start("1", order_id, after=3)
        applied = []
        for _ in range(3):
            applied += await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
            assert await ws.events("1", 1) == [expected(applied[-1])]
        cancelled = await step(
            engine, redis, order_id, OrderEventKind.CANCEL, Actor(ActorKind.ADMIN, cast.admin.id)
        )
        assert await ws.events("1", 1) == [expected(cancelled)]
        assert await ws.receive() == {"id": "1", "type": COMPLETE}


async def test_idle_subscribers_hold_no_database_connection(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    # More subscribers than the server's pool (10 + 10 overflow) has connections.
    order_id = await reserved_order(engine, redis, cast)
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(transport_ws(live_server, bearer(cast.buyer.token)))
            for _ in range(25)
        ]
        for ws in sockets:
            await ws.subscribe("1", order_id, after=3)
        [applied] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        for ws in sockets:
            assert await ws.events("1", 1) == [expected(applied)]
    assert applied.to_status is OrderStatus.PAYMENT_PENDING
