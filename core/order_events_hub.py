"""One Redis subscription per API process, fanned out to the process's order subscribers.

Every committed order event is published on one channel (services/events.py). The hub
holds the process's only subscription to it and hands each message to the inboxes of the
local subscribers of that order. Pub/sub forgets: a message published while the hub is
disconnected, or one that does not fit in a full inbox, is lost. So the hub never
promises delivery; it promises to say when something may have been lost, and the
subscriber then reads the database (services/orders/live_status.py):

- on every (re)subscription to the channel, each inbox receives `RESYNC`;
- an inbox that overflows is emptied and left holding `RESYNC`;
- a subscriber that sees a sequence jump reads the gap itself.

The subscription runs in a task with a reconnect loop (backoff from 0.1 s to 5 s); a
connection that answers nothing, not even a ping, for a few intervals counts as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.redis_keys import ORDER_EVENTS_CHANNEL
from services.events import RESYNC, PublishedEvent, Resync, decode_event

log = logging.getLogger("autobroker.order_events")

FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 5.0
PING_SECONDS = 5.0
DEFAULT_INBOX_SIZE = 64


class LiveEvent:
    """One published event, the same object for every local subscriber of its order.

    `shared` runs a load once for all of them (the order as it stands after the event),
    so a thousand subscribers of one order cost one read per event, not a thousand.
    """

    __slots__ = ("_shared", "event")

    def __init__(self, event: PublishedEvent) -> None:
        self.event = event
        self._shared: asyncio.Future[Any] | None = None

    async def shared(self, load: Callable[[], Awaitable[Any]]) -> Any:
        if self._shared is None:
            self._shared = asyncio.ensure_future(load())
        elif self._shared.done():
            return self._shared.result()
        # Shielded: one subscriber going away must not cancel the read the others await.
        return await asyncio.shield(self._shared)


Delivery = LiveEvent | Resync


class Inbox:
    """One subscriber's bounded queue of deliveries for one order."""

    __slots__ = ("_queue", "order_id")

    def __init__(self, order_id: int, size: int) -> None:
        self.order_id = order_id
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=size)

    def offer(self, delivery: Delivery) -> None:
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            # Too slow a reader: what is queued is in the database anyway.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(RESYNC)

    async def get(self) -> Delivery:
        return await self._queue.get()


class OrderEventsHub:
    """The process's subscription to order events, and its local subscribers."""

    def __init__(self, redis: Redis, *, inbox_size: int = DEFAULT_INBOX_SIZE) -> None:
        self._redis = redis
        self._inbox_size = inbox_size
        self._inboxes: dict[int, set[Inbox]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.subscriptions_made = 0  # how often the channel was (re)subscribed

    @property
    def subscriber_count(self) -> int:
        return sum(len(inboxes) for inboxes in self._inboxes.values())

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, *, wait_seconds: float = 1.0) -> None:
        """Start listening; wait (a bounded time) for the first subscription."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="order-events-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.contextmanager
    def listen(self, order_id: int) -> Iterator[Inbox]:
        """Register an inbox for the order's events for the duration of the block."""
        inbox = Inbox(order_id, self._inbox_size)
        self._inboxes.setdefault(order_id, set()).add(inbox)
        try:
            yield inbox
        finally:
            inboxes = self._inboxes.get(order_id)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._inboxes[order_id]

    async def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while True:
            made = self.subscriptions_made
            try:
                await self._listen_once()
            except (RedisError, OSError) as error:
                problem = repr(error)
            except Exception as error:  # a bug must not end live events for good
                log.exception("order events subscription failed")
                problem = repr(error)
            if self.subscriptions_made > made:
                delay = FIRST_RETRY_SECONDS  # it was up: start the backoff afresh
            log.warning(
                "order events subscription lost; retrying in %.1f s", delay,
                extra={"error": problem},
            )  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_SECONDS)

    async def _listen_once(self) -> None:
        pubsub = self._redis.pubsub()
        loop = asyncio.get_running_loop()
        try:
            await pubsub.subscribe(ORDER_EVENTS_CHANNEL)
            heard = loop.time()
            while True:
                message = await pubsub.get_message(timeout=PING_SECONDS)
                now = loop.time()
                if message is None:
                    if now - heard > 2 * PING_SECONDS:
                        raise ConnectionError("Redis has not answered a ping")
                    await pubsub.ping()
                    continue
                heard = now
                kind = message["type"]
                if kind == "message":
                    self._dispatch(message["data"])
                elif kind == "subscribe":
                    self.subscriptions_made += 1
                    self._connected.set()
                    self._broadcast_resync()
        finally:
            self._connected.clear()
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _broadcast_resync(self) -> None:
        # Whatever was published while unsubscribed is lost: everyone reads the database.
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.offer(RESYNC)

    def _dispatch(self, data: bytes) -> None:
        try:
            event = decode_event(data)
        except ValueError:
            log.warning("ignored a malformed order event message", extra={"data": data[:200]})
            return
        inboxes = self._inboxes.get(event.order_id)
        if not inboxes:
            return
        delivery = LiveEvent(event)
        for inbox in inboxes:
            inbox.offer(delivery)
