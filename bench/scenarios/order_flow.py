"""A buyer's order flow as a web client runs it, timed step by step.

1. createOrder with reserve: true (priced by a fresh quote, the vehicle held), by POST;
2. subscribe to orderStatusChanged after the reservation's event on the buyer's socket,
   as the order page does, to learn when the payment lands (no answer is awaited);
3. checkout by POST: the order PAYMENT_PENDING, the PaymentIntent's client secret;
4. the PaymentIntent confirmed on Stripe (the emulator) with a test card, as Stripe.js
   does in the browser; Stripe then sends its signed webhooks to /webhooks/stripe;
5. the flow ends when the subscription delivers PAID.

Steps timed: create+reserve (1), checkout (3), confirm (4), and webhook-to-paid, from
Stripe's answer to the confirmation to PAID on the socket. `count_flow_statements` runs
the same flow in-process and counts its SQL statements per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.scenarios.buyers import Buyer, SpareVehicles
from bench.subscription_load import graphql_socket, subscribe
from schema.ids import to_global_id

DESTINATION = "DE"
TEST_CARD = "pm_card_visa"  # succeeds, in Stripe's test mode as in the emulator
RESERVED_SEQUENCE = 3  # create with reserve: DRAFT (1), QUOTED (2), RESERVED (3)
FLOW_TIMEOUT_SECONDS = 30.0

CREATE_ORDER = """mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id number status total { amount currency } reservedUntil }
    userErrors { field code message }
  }
}"""
CHECKOUT = """mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) {
    payment { id status clientSecret amount { amount currency } }
    userErrors { field code message }
  }
}"""
ORDER_PAID = """subscription OrderPaid($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, afterSequence: $after) { sequence to }
}"""
ORDER_STATE = """query OrderState($id: ID!) {
  order(id: $id) { status vehicle { status } payments { status } }
}"""


class FlowError(Exception):
    """A step of the flow failed: which, and what the server or Stripe said."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message[:300]}")
        self.step = step


@dataclass(frozen=True, slots=True)
class FlowTimes:
    """One completed flow: its order, each step's milliseconds, the bytes the API sent."""

    order_id: str
    create_ms: float
    checkout_ms: float
    confirm_ms: float
    paid_ms: float
    received_bytes: int

    @property
    def total_ms(self) -> float:
        return self.create_ms + self.checkout_ms + self.confirm_ms + self.paid_ms


@dataclass(slots=True)
class FlowRun:
    flows: list[FlowTimes] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def graphql(
    client: httpx.AsyncClient, step: str, query: str, variables: dict[str, Any], token: str
) -> tuple[dict[str, Any], int]:
    """The operation's `data`, and the body's size; FlowError for any error."""
    response = await client.post(
        "/graphql",
        content=orjson.dumps({"query": query, "variables": variables}),
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    if response.status_code != 200:
        raise FlowError(step, f"HTTP {response.status_code}: {response.text}")
    body = response.json()
    if body.get("errors"):
        raise FlowError(step, orjson.dumps(body["errors"]).decode())
    data: dict[str, Any] = body["data"]
    for payload in data.values():
        if isinstance(payload, dict) and payload.get("userErrors"):
            raise FlowError(step, orjson.dumps(payload["userErrors"]).decode())
    return data, len(response.content)


async def create_reserved(
    client: httpx.AsyncClient, buyer: Buyer, vehicle_id: int
) -> tuple[str, int]:
    """A RESERVED order of the vehicle: its global ID, and the body's size."""
    variables = {
        "input": {
            "vehicleId": to_global_id("Vehicle", vehicle_id),
            "destinationCountry": DESTINATION,
            "reserve": True,
        }
    }
    data, size = await graphql(client, "createOrder", CREATE_ORDER, variables, buyer.authorization)
    order = data["createOrder"]["order"]
    if order["status"] != "RESERVED":
        raise FlowError("createOrder", f"the order is {order['status']}, not RESERVED")
    return str(order["id"]), size


async def check_out(client: httpx.AsyncClient, buyer: Buyer, order_id: str) -> tuple[str, int]:
    """Check the order out: the PaymentIntent's id (from its client secret), body size."""
    variables = {"input": {"orderId": order_id}}
    data, size = await graphql(client, "checkout", CHECKOUT, variables, buyer.authorization)
    secret = (data["checkout"]["payment"] or {}).get("clientSecret")
    if not secret or "_secret_" not in secret:
        raise FlowError("checkout", f"no client secret: {data}")
    # A client secret is "<PaymentIntent id>_secret_<random>", as Stripe.js reads it.
    return str(secret).split("_secret_", 1)[0], size


@dataclass(frozen=True, slots=True)
class StripeTestCard:
    """Confirms PaymentIntents on the emulator with a test card, as Stripe.js would."""

    api_base: str
    api_key: str

    async def confirm(self, client: httpx.AsyncClient, intent_id: str) -> None:
        response = await client.post(
            f"{self.api_base}/v1/payment_intents/{intent_id}/confirm",
            data={"payment_method": TEST_CARD},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        if response.status_code != 200 or response.json().get("status") != "succeeded":
            raise FlowError("confirm", f"HTTP {response.status_code}: {response.text}")


class OrderWatcher:
    """One buyer's socket: a subscription per order, until the order is PAID."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._waiting: dict[str, asyncio.Future[int]] = {}
        self._received: dict[str, int] = {}
        self._count = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, buyer: Buyer) -> AsyncIterator[OrderWatcher]:
        async with graphql_socket(url, buyer.authorization, compression="deflate") as ws:
            watcher = cls(ws)
            try:
                yield watcher
            finally:
                watcher._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher._reader

    async def watch(self, order_id: str) -> tuple[str, asyncio.Future[int]]:
        """Subscribe; the future gets the bytes of the subscription's messages once PAID."""
        self._count += 1
        key = str(self._count)
        paid = asyncio.get_running_loop().create_future()
        self._waiting[key], self._received[key] = paid, 0
        await subscribe(self._ws, key, ORDER_PAID, {"id": order_id, "after": RESERVED_SEQUENCE})
        return key, paid

    async def stop(self, key: str) -> None:
        """End the subscription (the order page closes)."""
        self._waiting.pop(key, None)
        self._received.pop(key, None)
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(orjson.dumps({"id": key, "type": "complete"}).decode())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = orjson.loads(raw)
                if message["type"] == "ping":
                    await self._ws.send('{"type":"pong"}')
                    continue
                key = message.get("id")
                paid = self._waiting.get(key or "")
                if key is None or paid is None or paid.done():
                    continue
                self._received[key] += len(raw)
                self._settle(paid, message, self._received[key])
        except ConnectionClosed as closed:
            for paid in self._waiting.values():
                if not paid.done():
                    paid.set_exception(FlowError("subscription", f"socket closed: {closed}"))

    @staticmethod
    def _settle(paid: asyncio.Future[int], message: dict[str, Any], size: int) -> None:
        if message["type"] == "next":
            data = (message["payload"].get("data") or {}).get("orderStatusChanged") or {}
            if data.get("to") == "PAID":
                paid.set_result(size)
            elif data.get("to") not in ("PAYMENT_PENDING", None):
                paid.set_exception(FlowError("webhook-to-paid", f"the order became {data}"))
            elif message["payload"].get("errors"):
                paid.set_exception(FlowError("subscription", str(message["payload"])))
        elif message["type"] in ("error", "complete"):
            paid.set_exception(FlowError("subscription", str(message)))


async def run_flow(
    api: httpx.AsyncClient, stripe: httpx.AsyncClient, card: StripeTestCard,
    watcher: OrderWatcher, buyer: Buyer, vehicle_id: int,
) -> FlowTimes:  # fmt: skip
    """One flow, from createOrder to PAID on the socket."""
    started = time.perf_counter()
    order_id, created_bytes = await create_reserved(api, buyer, vehicle_id)
    created = time.perf_counter()
    key, paid = await watcher.watch(order_id)
    try:
        intent_id, checkout_bytes = await check_out(api, buyer, order_id)
        checked_out = time.perf_counter()
        await card.confirm(stripe, intent_id)
        confirmed = time.perf_counter()
        try:
            socket_bytes = await asyncio.wait_for(paid, FLOW_TIMEOUT_SECONDS)
        except TimeoutError:
            late = f"not PAID after {FLOW_TIMEOUT_SECONDS:g} s"
            raise FlowError("webhook-to-paid", late) from None
        done = time.perf_counter()
    finally:
        await watcher.stop(key)
    return FlowTimes(
        order_id=order_id,
        create_ms=(created - started) * 1000,
        checkout_ms=(checked_out - created) * 1000,
        confirm_ms=(confirmed - checked_out) * 1000,
        paid_ms=(done - confirmed) * 1000,
        received_bytes=created_bytes + checkout_bytes + socket_bytes,
    )


class FlowDriver:
    """Buyers running flows at once, each on its own socket; one HTTP client each side."""

    def __init__(
        self, api_url: str, card: StripeTestCard, buyers: list[Buyer], vehicles: SpareVehicles
    ) -> None:
        self._api_url = api_url
        self._card = card
        self._buyers = buyers
        self._vehicles = vehicles
        self._stack = contextlib.AsyncExitStack()
        self._watchers: list[OrderWatcher] = []

    async def __aenter__(self) -> FlowDriver:
        limits = httpx.Limits(max_connections=len(self._buyers) * 2)
        self.api = await self._stack.enter_async_context(
            httpx.AsyncClient(base_url=self._api_url, timeout=FLOW_TIMEOUT_SECONDS, limits=limits)
        )
        self.stripe = await self._stack.enter_async_context(
            httpx.AsyncClient(timeout=FLOW_TIMEOUT_SECONDS, limits=limits)
        )
        ws_url = self._api_url.replace("http://", "ws://", 1) + "/graphql"
        for buyer in self._buyers:
            self._watchers.append(
                await self._stack.enter_async_context(OrderWatcher.open(ws_url, buyer))
            )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def one(self) -> FlowTimes:
        """One flow of the first buyer."""
        return await run_flow(
            self.api, self.stripe, self._card, self._watchers[0], self._buyers[0],
            await self._vehicles.take(),
        )  # fmt: skip

    async def run(self, seconds: float, *, think_ms: float | None = None) -> FlowRun:
        """Each buyer runs flows, one after the other, until `seconds` have passed (a flow
        under way then finishes); `think_ms`: wait that long on average before each."""
        result = FlowRun()
        deadline = time.perf_counter() + seconds

        async def buyer_loop(buyer: Buyer, watcher: OrderWatcher) -> None:
            while time.perf_counter() < deadline:
                if think_ms:
                    await asyncio.sleep(random.uniform(0, 2 * think_ms) / 1000)  # noqa: S311
                    if time.perf_counter() >= deadline:
                        return
                vehicle_id = await self._vehicles.take()
                try:
                    flow = await run_flow(
                        self.api, self.stripe, self._card, watcher, buyer, vehicle_id
                    )
                except (FlowError, httpx.HTTPError) as error:
                    result.failures.append(str(error) or type(error).__name__)
                else:
                    result.flows.append(flow)

        started = time.perf_counter()
        await asyncio.gather(*map(buyer_loop, self._buyers, self._watchers))
        result.seconds = time.perf_counter() - started
        return result
