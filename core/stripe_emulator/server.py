"""`StripeEmulator`: the API, the state and the webhook sender, served in-process.

It runs as an asyncio task in the host's event loop (uvicorn's `Server`, without its
signal handling: the host owns the signals), on a socket the host binds or on a free
port. `autobroker dev` runs it beside the API and the worker; the tests run one for the
session. Tests also reach in: `webhooks_enabled`, `delay_next_responses`, `events`,
`deliver`, `signed`, `settle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from core.stripe_emulator.api import EmulatorApi
from core.stripe_emulator.state import EmulatorState, new_id
from core.stripe_emulator.webhooks import DEFAULT_RETRY_DELAYS, WebhookSender, encode, sign

API_VERSION = "2025-09-30.clover"  # what the events say they are shaped after


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # Ctrl-C and SIGTERM belong to the host process


class StripeEmulator:
    """A local Stripe: PaymentIntents, refunds, idempotency, signed webhooks."""

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        webhook_url: str | None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        settle_after: float | None = 3.0,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.events: list[dict[str, Any]] = []
        self.settle_after = settle_after
        self.state = EmulatorState(self._emitted)
        self.api = EmulatorApi(self.state, api_key)
        self.sender = WebhookSender(
            webhook_url, webhook_secret, transport=webhook_transport, retry_delays=retry_delays
        )
        self._server: _InProcessServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, sock: socket.socket | None = None, host: str = "127.0.0.1") -> str:
        """Serve on `sock` (or a free port of `host`); the API base URL."""
        if sock is None:
            sock = socket.socket()
            sock.bind((host, 0))
        config = uvicorn.Config(self.api.app(), log_config=None, access_log=False, lifespan="off")
        self._server = _InProcessServer(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
                raise RuntimeError("the Stripe emulator stopped while starting")
            await asyncio.sleep(0.01)
        address, port = sock.getsockname()[:2]
        self.base_url = f"http://{address}:{port}"
        return self.base_url

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        await self.sender.aclose()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    # -- events ----------------------------------------------------------------------

    def _emitted(self, event_type: str, obj: dict[str, Any]) -> None:
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.events.append(event)
        self.sender.schedule(event)
        if event_type == "payment_intent.processing" and self.settle_after is not None:
            timer = asyncio.get_running_loop().create_task(self._settle_later(obj["id"]))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _settle_later(self, intent_id: str) -> None:
        assert self.settle_after is not None
        await asyncio.sleep(self.settle_after)
        self.state.settle(intent_id)

    def event(self, event_id: str) -> dict[str, Any]:
        return next(event for event in self.events if event["id"] == event_id)

    def events_of(self, event_type: str, object_id: str | None = None) -> list[dict[str, Any]]:
        """Events of a type (about one object), oldest first."""
        return [
            e
            for e in self.events
            if e["type"] == event_type
            and (object_id is None or e["data"]["object"]["id"] == object_id)
        ]

    # -- controls for tests and development -------------------------------------------

    @property
    def webhooks_enabled(self) -> bool:
        return self.sender.enabled

    @webhooks_enabled.setter
    def webhooks_enabled(self, enabled: bool) -> None:
        self.sender.enabled = enabled

    def send_webhooks_to(
        self, url: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """Deliver webhooks to `url` from now on (through `transport`, e.g. to an app)."""
        self.sender.retarget(url, transport=transport)

    def delay_next_responses(self, count: int, seconds: float) -> None:
        """Hold back the next `count` API answers (after doing the work): lost responses."""
        self.api.delays.extend([seconds] * count)

    def signed(
        self, event_id: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[bytes, str]:
        """An event's body and a Stripe-Signature for it (now, or at `timestamp`)."""
        payload = encode(self.event(event_id))
        return payload, sign(payload, secret or self.webhook_secret, timestamp=timestamp)

    async def deliver(self, event_id: str) -> int | None:
        """Deliver one event now, once, whatever `webhooks_enabled` says."""
        return await self.sender.deliver(self.event(event_id))

    def settle(self, intent_id: str) -> dict[str, Any]:
        """Let a `processing` payment succeed now."""
        return self.state.settle(intent_id)

    async def drain(self) -> None:
        """Wait for every scheduled delivery to finish."""
        await self.sender.drain()
