"""The load side of the subscription measurements (bench/subscriptions.py, and the
`subscription-fanout` scenario): subscribers on real sockets, and transitions committed
and published as the services do, with the times the measurements need. The order flow
(bench/scenarios/order_flow.py) opens its buyers' sockets here too."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from services.events import publish_order_events
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.transitions import apply_transition

WAIT_SECONDS = 60.0
OPEN_BATCH = 200  # sockets opened at once
QUERY = """subscription($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) {
    sequence from to actor reason at order { id status } } }"""


@dataclass(slots=True)
class Arrivals:
    """When each sequence reached each subscriber; an event per sequence once all have it."""

    expected: int
    times: dict[int, list[float]] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    received_bytes: int = 0  # of every `next` message, as the clients read them

    def record(self, sequence: int, at: float, size: int) -> None:
        self.received_bytes += size
        seen = self.times.setdefault(sequence, [])
        seen.append(at)
        if len(seen) == self.expected:
            self.done(sequence).set()

    def done(self, sequence: int) -> asyncio.Event:
        return self.complete.setdefault(sequence, asyncio.Event())


def order_gid(pk: int) -> str:
    """The order's global ID."""
    return base64.urlsafe_b64encode(f"Order:{pk}".encode()).rstrip(b"=").decode()


@contextlib.asynccontextmanager
async def graphql_socket(
    url: str, token: str, *, compression: str | None
) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection, initialised with `token` (acknowledged)."""
    async with ws_connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=WAIT_SECONDS,
        max_queue=None, ping_interval=None, compression=compression,
    ) as ws:  # fmt: skip
        await ws.send(
            orjson.dumps({"type": "connection_init", "payload": {"authorization": token}}).decode()
        )
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS))
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"the server refused the socket: {ack}")
        yield ws


async def subscribe(ws: ClientConnection, subscription_id: str, query: str,
                    variables: dict[str, Any]) -> None:  # fmt: skip
    payload = {"query": query, "variables": variables}
    message = {"id": subscription_id, "type": "subscribe", "payload": payload}
    await ws.send(orjson.dumps(message).decode())


async def _subscriber(url: str, token: str, order_id: int, arrivals: Arrivals,
                      ready: asyncio.Event, compression: str | None) -> None:  # fmt: skip
    async with graphql_socket(url, token, compression=compression) as ws:
        # After event 2: each replays event 3 from the database, which says it is registered.
        await subscribe(ws, "1", QUERY, {"id": order_gid(order_id), "after": 2})
        ready.set()
        async for raw in ws:
            at = time.perf_counter()
            message = orjson.loads(raw)
            if message["type"] == "next":
                sequence = message["payload"]["data"]["orderStatusChanged"]["sequence"]
                arrivals.record(sequence, at, len(raw))


@contextlib.asynccontextmanager
async def subscribers(
    url: str, token: str, order_id: int, count: int, *, compression: str | None = "deflate"
) -> AsyncIterator[Arrivals]:
    """`count` subscribers of the order (RESERVED, events 1 to 3), each on its own socket;
    all registered with the server once the block starts."""
    arrivals = Arrivals(expected=count)
    tasks: list[asyncio.Task[None]] = []
    try:
        for start in range(0, count, OPEN_BATCH):
            batch = []
            for _ in range(min(OPEN_BATCH, count - start)):
                ready = asyncio.Event()
                tasks.append(asyncio.create_task(
                    _subscriber(url, token, order_id, arrivals, ready, compression)))  # fmt: skip
                batch.append(ready.wait())
            await asyncio.wait_for(asyncio.gather(*batch), WAIT_SECONDS)
        await asyncio.wait_for(arrivals.done(3).wait(), WAIT_SECONDS)
        yield arrivals
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def transition(engine: AsyncEngine, redis: Any, order_id: int, sequence: int,
                     buyer_id: int) -> float:  # fmt: skip
    """Commit the order's next transition, publish it as the services do; the commit time."""
    kind, actor = (
        (OrderEventKind.CHECKOUT, Actor(ActorKind.BUYER, buyer_id)) if sequence % 2 == 0
        else (OrderEventKind.PAYMENT_FAILED, Actor(ActorKind.PAYMENTS))
    )  # fmt: skip
    async with engine.begin() as conn:
        applied = await apply_transition(conn, order_id, kind, actor)
    committed = time.perf_counter()
    assert applied.sequence == sequence, (applied.sequence, sequence)
    await publish_order_events(redis, [applied])
    return committed


async def run_transitions(
    engine: AsyncEngine, redis: Any, order_id: int, buyer_id: int, arrivals: Arrivals,
    *, first: int, rounds: int | None = None, until: float | None = None, pause: float = 0.0,
) -> list[float]:  # fmt: skip
    """Transitions from sequence `first`, one at a time, each once every subscriber has the
    previous one: `rounds` of them, or until `time.perf_counter()` passes `until`. The
    delivery latencies (ms), from each commit to its arrival at each subscriber."""
    samples: list[float] = []
    sequence = first
    while (rounds is None or sequence < first + rounds) and (
        until is None or time.perf_counter() < until
    ):
        committed = await transition(engine, redis, order_id, sequence, buyer_id)
        await asyncio.wait_for(arrivals.done(sequence).wait(), WAIT_SECONDS)
        samples += [(at - committed) * 1000 for at in arrivals.times[sequence]]
        sequence += 1
        if pause:
            await asyncio.sleep(pause)
    return samples
