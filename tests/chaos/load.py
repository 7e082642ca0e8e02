"""A mixed load on the API while faults happen: catalog pages, sign-ins, createOrder with
reserve, checkout and test payments (whose webhooks the Stripe emulator sends), and one
live subscriber over Server-Sent Events. Every request is held to `bound` seconds; every
outcome is recorded for the asserts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

CATALOG = """query Catalog($first: Int!) {
  vehicles(first: $first, filter: {status: [AVAILABLE]}) { edges { node { id } } } }"""
LOGIN = """mutation LogIn($input: LoginInput!) {
  login(input: $input) { accessToken userErrors { code } } }"""
CREATE = """mutation Place($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id status } userErrors { code } } }"""
CHECKOUT = """mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) { payment { id status } userErrors { code } } }"""
CONFIRM = """mutation Pay($input: ConfirmTestPaymentInput!) {
  confirmTestPayment(input: $input) { payment { id status } userErrors { code } } }"""
CANCEL = """mutation Cancel($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { id status } userErrors { code } } }"""
FOLLOW = """subscription Follow($orderId: ID!, $afterSequence: Int) {
  orderStatusChanged(orderId: $orderId, afterSequence: $afterSequence) { sequence to } }"""
BUYER = {"email": "buyer@example.com", "password": "demo-password"}
REFUSED = {503, 429}
TERMINAL = ("CANCELLED", "COMPLETED", "REFUNDED")


@dataclass(frozen=True)
class Outcome:
    operation: str
    status: int | str  # an HTTP status, or "timeout" / "transport" when none came
    seconds: float
    codes: tuple[str, ...]
    at: float


@dataclass
class Load:
    base_url: str
    bound: float
    outcomes: list[Outcome] = field(default_factory=list)
    orders: set[str] = field(default_factory=set)  # every order id the API returned
    paid: set[str] = field(default_factory=set)  # orders whose test payment was confirmed
    token: str | None = None

    async def call(
        self, client: httpx.AsyncClient, operation: str, query: str, variables: dict[str, Any]
    ) -> dict[str, Any] | None:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        started = time.monotonic()
        try:
            response = await client.post(
                f"{self.base_url}/graphql",
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=self.bound,
            )
        except httpx.TimeoutException:
            self._record(operation, "timeout", started, ())
            return None
        except httpx.TransportError:
            self._record(operation, "transport", started, ())
            return None
        try:
            body = response.json()
        except json.JSONDecodeError:
            body = {}
        codes = tuple(
            str((error.get("extensions") or {}).get("code")) for error in body.get("errors") or ()
        )
        self._record(operation, response.status_code, started, codes)
        return body if response.status_code == 200 and not codes else None

    def _record(
        self, operation: str, status: int | str, started: float, codes: tuple[str, ...]
    ) -> None:
        now = time.monotonic()
        self.outcomes.append(Outcome(operation, status, now - started, codes, now))

    async def sign_in(self, client: httpx.AsyncClient) -> bool:
        body = await self.call(client, "login", LOGIN, {"input": BUYER})
        token = body and body["data"]["login"]["accessToken"]
        if token:
            self.token = token
        return bool(token)

    async def place_order(self, client: httpx.AsyncClient, *, pay: bool) -> str | None:
        page = await self.call(client, "catalog", CATALOG, {"first": 20})
        if page is None:
            return None
        edges = page["data"]["vehicles"]["edges"]
        if not edges:
            return None
        vehicle = random.choice(edges)["node"]["id"]
        placed = await self.call(
            client,
            "createOrder",
            CREATE,
            {"input": {"vehicleId": vehicle, "destinationCountry": "DE", "reserve": True}},
        )
        order = placed and placed["data"]["createOrder"]["order"]
        if not order:
            return None
        self.orders.add(order["id"])
        if not pay:
            return str(order["id"])
        checkout = await self.call(
            client, "checkout", CHECKOUT, {"input": {"orderId": order["id"]}}
        )
        payment = checkout and checkout["data"]["checkout"]["payment"]
        if payment:
            confirmed = await self.call(
                client, "confirmTestPayment", CONFIRM, {"input": {"paymentId": payment["id"]}}
            )
            if confirmed and confirmed["data"]["confirmTestPayment"]["payment"]:
                self.paid.add(order["id"])
        return str(order["id"])

    async def client_loop(self, stop: asyncio.Event, number: int) -> None:
        async with httpx.AsyncClient() as client:
            while not stop.is_set():
                if self.token is None or number % 4 == 0:
                    await self.sign_in(client)
                if self.token is not None:
                    await self.place_order(client, pay=random.random() < 0.5)
                else:
                    await self.call(client, "catalog", CATALOG, {"first": 5})
                if self.outcomes and self.outcomes[-1].status in REFUSED:
                    await asyncio.sleep(0.2)  # as a client honouring Retry-After, shorter
                number += 1

    def summary(self) -> dict[str, int]:
        statuses = Counter(outcome.status for outcome in self.outcomes)
        return {
            "requests": len(self.outcomes),
            "served": sum(n for status, n in statuses.items() if status == 200),
            "refused": sum(n for status, n in statuses.items() if status in REFUSED),
        }


@dataclass
class Follower:
    """One subscriber of one order over SSE, resubscribing after `afterSequence` when its
    stream ends without the order's end (a SERVICE_UNAVAILABLE error, or a cut)."""

    base_url: str
    token: str
    order_id: str
    sequences: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bare_completes: int = 0
    finished: bool = False

    async def run(self) -> None:
        while not self.finished:
            with contextlib.suppress(httpx.HTTPError):
                await self._stream_once()
            if not self.finished:
                await asyncio.sleep(0.5)

    async def _stream_once(self) -> None:
        variables = {
            "orderId": self.order_id,
            "afterSequence": self.sequences[-1] if self.sequences else 0,
        }
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
            client.stream(
                "POST",
                f"{self.base_url}/graphql",
                json={"query": FOLLOW, "variables": variables},
                headers={"accept": "text/event-stream", "authorization": f"Bearer {self.token}"},
            ) as response,
        ):
            if response.status_code != 200:
                return
            name = None
            errored = False
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                    if name == "complete":
                        ended = self.statuses and self.statuses[-1] in TERMINAL
                        if ended:
                            self.finished = True
                        elif not errored:
                            self.bare_completes += 1
                        return
                elif line.startswith("data:") and name == "next":
                    payload = json.loads(line.split(":", 1)[1])
                    if payload.get("errors"):
                        errored = True
                        self.errors += [e["extensions"]["code"] for e in payload["errors"]]
                        continue
                    event = payload["data"]["orderStatusChanged"]
                    self.sequences.append(event["sequence"])
                    self.statuses.append(event["to"])
