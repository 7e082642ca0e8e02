"""Subscription tests' tools: the two WebSocket protocols over real sockets (every wait
bounded), and orders moved through their lifecycle by the services themselves."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from models.order import OrderStatus
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.ordering import create_order, transition_order
from services.orders.queries import fetch_orders_by_ids
from services.orders.transitions import AppliedEvent
from tests.accounts_data import create_vehicle
from tests.api.conftest import Cast

WAIT_SECONDS = 15.0
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")
STATUS_CHANGED = """
subscription StatusChanged($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) {
    sequence from to actor reason at order { id status }
  }
}
"""


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).rstrip(b"=").decode()


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


def variables(order_id: int, after: int | None = None) -> dict[str, Any]:
    return {"id": gid("Order", order_id), "after": after}


def expected(event: AppliedEvent, *, order_status: OrderStatus | None = None) -> dict[str, Any]:
    """The payload an event arrives as; the order's status defaults to the event's `to`."""
    return {
        "sequence": event.sequence,
        "from": event.from_status.value if event.from_status else None,
        "to": event.to_status.value,
        "actor": event.actor,
        "reason": event.reason,
        "at": event.at.isoformat(),
        "order": {
            "id": gid("Order", event.order_id),
            "status": (order_status or event.to_status).value,
        },
    }


def without_cost(payload: dict[str, Any]) -> dict[str, Any]:
    payload = dict(payload)
    extensions = payload.pop("extensions", None)
    if extensions is not None:
        assert set(extensions) == {"cost"}, extensions
        assert extensions["cost"]["requestedQueryCost"] == extensions["cost"]["actualQueryCost"]
    return payload


class _Client:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.socket.recv(), timeout)
        # Both protocols speak in text frames: a browser hands a binary one to its
        # client as a Blob, which no GraphQL client library reads.
        assert isinstance(frame, str), f"a binary frame: {frame!r}"
        message: dict[str, Any] = json.loads(frame)
        return message

    async def close_code(self) -> int | None:
        """Wait for the server to close the socket; the code it sent (None: no close frame)."""
        async with asyncio.timeout(WAIT_SECONDS):
            with contextlib.suppress(ConnectionClosed):  # raised unless the code is 1000/1001
                async for _ in self.socket:
                    pass
        return self.socket.protocol.close_rcvd.code if self.socket.protocol.close_rcvd else None


class TransportClient(_Client):
    """graphql-transport-ws."""

    async def init(self, payload: dict[str, Any]) -> None:
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}

    async def subscribe(
        self, op_id: str, order_id: int, after: int | None = None, *, query: str = STATUS_CHANGED
    ) -> None:
        payload = {"query": query, "variables": variables(order_id, after)}
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def next_payload(self, op_id: str) -> dict[str, Any]:
        message = await self.receive()
        assert (message["type"], message["id"]) == ("next", op_id), message
        return without_cost(message["payload"])

    async def events(self, op_id: str, count: int) -> list[dict[str, Any]]:
        return [
            (await self.next_payload(op_id))["data"]["orderStatusChanged"] for _ in range(count)
        ]


class LegacyClient(_Client):
    """graphql-ws (subscriptions-transport-ws); keep-alive `ka` messages are skipped."""

    async def receive(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        while True:
            message = await self.raw(timeout)
            if message["type"] != "ka":
                return message

    async def raw(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The next message, keep-alives included."""
        return await super().receive(timeout)

    async def init(self, payload: dict[str, Any]) -> None:
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}

    async def start(self, op_id: str, order_id: int, after: int | None = None) -> None:
        payload = {"query": STATUS_CHANGED, "variables": variables(order_id, after)}
        await self.send({"id": op_id, "type": "start", "payload": payload})

    async def events(self, op_id: str, count: int) -> list[dict[str, Any]]:
        found = []
        for _ in range(count):
            message = await self.receive()
            assert (message["type"], message["id"]) == ("data", op_id), message
            found.append(without_cost(message["payload"])["data"]["orderStatusChanged"])
        return found


@asynccontextmanager
async def transport_ws(
    base_url: str, init: dict[str, Any] | None = None
) -> AsyncIterator[TransportClient]:
    """A graphql-transport-ws socket, acknowledged with `init` unless it is None."""
    async with ws_connect(
        ws_url(base_url), subprotocols=[TRANSPORT_WS], open_timeout=WAIT_SECONDS, close_timeout=2
    ) as socket:
        client = TransportClient(socket)
        if init is not None:
            await client.init(init)
        yield client


@asynccontextmanager
async def legacy_ws(
    base_url: str, init: dict[str, Any] | None = None
) -> AsyncIterator[LegacyClient]:
    async with ws_connect(
        ws_url(base_url), subprotocols=[LEGACY_WS], open_timeout=WAIT_SECONDS, close_timeout=2
    ) as socket:
        client = LegacyClient(socket)
        if init is not None:
            await client.init(init)
        yield client


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


async def reserved_order(
    engine: AsyncEngine, redis: Redis, cast: Cast, *, partner_id: int | None = None
) -> int:
    """A new RESERVED order (events 1 to 3) of the cast's buyer, or placed by a partner."""
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    customer = (
        Actor(ActorKind.PARTNER, partner_id)
        if partner_id is not None
        else Actor(ActorKind.BUYER, cast.buyer.id)
    )
    outcome = await create_order(
        engine, redis, customer=customer,
        buyer_id=None if partner_id is not None else cast.buyer.id, partner_id=partner_id,
        vehicle_id=vehicle["id"], destination_country="DE", reserve=True,
    )  # fmt: skip
    return outcome.order_id


async def churn(
    engine: AsyncEngine, redis: Redis, order_id: int, count: int, *, buyer_id: int | None = None
) -> list[AppliedEvent]:
    """`count` transitions that keep the order alive: checkout, payment failed, checkout…"""
    async with engine.connect() as conn:
        status = OrderStatus((await fetch_orders_by_ids(conn, [order_id]))[order_id]["status"])
    applied = []
    for _ in range(count):
        if status is OrderStatus.PAYMENT_PENDING:
            step, actor = OrderEventKind.PAYMENT_FAILED, Actor(ActorKind.PAYMENTS)
        else:
            step, actor = OrderEventKind.CHECKOUT, Actor(ActorKind.BUYER, buyer_id)
        event = (await transition_order(engine, redis, order_id, step, actor)).events[0]
        status = event.to_status
        applied.append(event)
    return applied


async def step(
    engine: AsyncEngine, redis: Redis, order_id: int, event: OrderEventKind, actor: Actor
) -> AppliedEvent:
    """One transition through the service, published after commit."""
    return (await transition_order(engine, redis, order_id, event, actor)).events[0]
