"""Signed webhook delivery, as Stripe does it.

Each event is POSTed as JSON to the endpoint with `Stripe-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the signing secret>` (Stripe's scheme;
the project verifies it with stripe-python's own code). A delivery that does not get a
2xx answer, or gets none, is retried after each of `retry_delays` seconds (Stripe
retries for three days; the emulator for a minute by default). Deliveries run
concurrently and unordered, as Stripe's do: the receiver must cope with any order.

`enabled = False` keeps events undelivered (the reconciliation test, or a lost
webhook); `deliver(event)` sends one now, on demand, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)
DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`, as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def encode(event: dict[str, Any]) -> bytes:
    """An event's body, as Stripe sends it (pretty-printed JSON)."""
    return json.dumps(event, indent=2).encode()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver one event: the endpoint's status, or None if it never answered."""

    event_id: str
    attempt: int
    status: int | None


class WebhookSender:
    """Delivers events to one endpoint, signed and retried."""

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.url = url
        self.secret = secret
        self.enabled = True
        self.retry_delays = retry_delays
        self.deliveries: list[Delivery] = []
        self._client = httpx.AsyncClient(transport=transport, timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()

    def retarget(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Deliver to `url` from now on; the old client closes when the loop gets to it."""
        old = self._client
        self.url = url
        self._client = httpx.AsyncClient(transport=transport, timeout=10.0)
        task = asyncio.get_running_loop().create_task(old.aclose())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def schedule(self, event: dict[str, Any]) -> None:
        """Deliver the event in the background, retrying, if delivery is on."""
        if not self.enabled or self.url is None:
            return
        task = asyncio.get_running_loop().create_task(self._deliver_with_retries(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, event: dict[str, Any], *, attempt: int = 1) -> int | None:
        """Deliver the event once, now; the endpoint's status (None: no answer)."""
        if self.url is None:
            raise RuntimeError("no webhook endpoint configured")
        payload = encode(event)
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "stripe-signature": sign(payload, self.secret),
        }
        try:
            response = await self._client.post(self.url, content=payload, headers=headers)
            status: int | None = response.status_code
        except httpx.HTTPError as error:
            log.info("webhook not delivered", extra={"event": event["id"], "error": repr(error)})
            status = None
        self.deliveries.append(Delivery(event["id"], attempt, status))
        return status

    async def _deliver_with_retries(self, event: dict[str, Any]) -> None:
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            await asyncio.sleep(delay)
            status = await self.deliver(event, attempt=attempt)
            if status is not None and 200 <= status < 300:
                return
        log.warning("webhook delivery gave up", extra={"event": event["id"]})

    async def drain(self) -> None:
        """Wait until every scheduled delivery has finished (delivered or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()
