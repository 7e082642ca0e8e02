"""An order's events for a live subscriber: gap-free and without duplicates, then live.

Per subscriber, in this order (`follow_order`):
1. register with the process's event source (its hub of pub/sub deliveries) first, so
   that nothing committed from then on can pass unseen;
2. read from the database every event after `afterSequence` and yield it;
3. take live deliveries from the inbox, keeping `last`, the sequence last yielded:
   - sequence == last + 1: yield it;
   - sequence <= last: a duplicate (already read from the database), dropped;
   - sequence > last + 1: a gap (a message was lost): read the database after `last`;
   - RESYNC (the hub resubscribed, or the inbox overflowed): read the database after `last`;
4. complete after yielding an event whose `to` is terminal (COMPLETED, CANCELLED,
   REFUNDED), or at once when the client has already seen the order's end
   (`check_resume`).

A read that meets an unavailable database (core/availability.py) is tried again every
second for up to READ_RETRY_SECONDS: a short outage only delays the stream, which goes on
gap-free. Past that the stream ends with ServiceUnavailableError: the client resubscribes
with `afterSequence`, never mistaking the end for the order's. While Redis is away,
nothing is delivered live; when the hub subscribes again, every inbox gets RESYNC and
reads what it missed (events committed meanwhile were published again by the outbox
relay too, services/outbox.py).

Events are committed before they are published, so whatever a message could miss is in
the database by the time the subscriber reads it. Each read takes a pooled connection
for its few statements and gives it back: a subscription holds none while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from core.availability import ServiceUnavailableError, unavailable_dependency
from models.order import OrderStatus
from services.errors import InvalidArgumentError
from services.events import RESYNC, PublishedEvent, Resync
from services.orders.lifecycle import TERMINAL_STATUSES
from services.orders.queries import fetch_events_by_order_ids, fetch_orders_by_ids

READ_RETRY_SECONDS = 30.0
T = TypeVar("T")


class LiveDelivery(Protocol):
    """One published event as the hub hands it to every local subscriber of its order."""

    @property
    def event(self) -> PublishedEvent: ...

    async def shared(self, load: Callable[[], Awaitable[Any]]) -> Any:
        """Run `load` once for all the order's subscribers; its result for each."""


class Inbox(Protocol):
    async def get(self) -> LiveDelivery | Resync: ...


class EventSource(Protocol):
    def listen(self, order_id: int) -> AbstractContextManager[Inbox]: ...


class EventReader(Protocol):
    """Where the stream reads what it may have missed (the database: `DatabaseReader`)."""

    async def events_after(
        self, order_id: int, after: int, *, with_order: bool
    ) -> tuple[list[Any], Any | None]:
        """The order's event rows after `after`, and the order row if asked for."""

    async def order(self, order_id: int) -> Any | None:
        """The order row as it stands."""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One event for the subscriber, and the order as it stood after it (if asked for)."""

    event: PublishedEvent
    order: Any | None


def check_after_sequence(after: int) -> None:
    """`InvalidArgumentError` for a sequence no event can have."""
    if after < 0:
        raise InvalidArgumentError("afterSequence", "must be 0 or more")


def check_resume(status: OrderStatus, after: int, latest: int) -> bool:
    """Whether a stream resumed after sequence `after` has anything to follow: False when
    the client has seen the order's end; `InvalidArgumentError` for a sequence never given."""
    check_after_sequence(after)
    if after > latest:
        raise InvalidArgumentError("afterSequence", f"the order's last event is {latest}")
    return not (status in TERMINAL_STATUSES and after >= latest)


async def follow_order(
    source: EventSource, reader: EventReader, order_id: int, after: int, *, with_order: bool
) -> AsyncGenerator[StatusUpdate, None]:
    """The order's events after `after`, from the database and then live (see above)."""
    last = after
    with source.listen(order_id) as inbox:
        catch_up = True
        while True:
            if catch_up:
                catch_up = False
                rows, order = await reader.events_after(order_id, last, with_order=with_order)
                for row in rows:
                    event = PublishedEvent.from_row(row)
                    yield StatusUpdate(event, order)
                    last = event.sequence
                    if event.to_status in TERMINAL_STATUSES:
                        return
            delivery = await inbox.get()
            if delivery is RESYNC:
                catch_up = True
                continue
            assert not isinstance(delivery, Resync)
            event = delivery.event
            if event.sequence <= last:
                continue  # a duplicate of what the database already gave
            if event.sequence > last + 1:
                catch_up = True  # a gap: the missing events are in the database
                continue
            order = await delivery.shared(partial(reader.order, order_id)) if with_order else None
            yield StatusUpdate(event, order)
            last = event.sequence
            if event.to_status in TERMINAL_STATUSES:
                return


@dataclass(frozen=True, slots=True)
class DatabaseReader:
    """Reads from PostgreSQL, each read on a pooled connection given back at once, tried
    again while the database is unavailable (see the module docstring)."""

    engine: AsyncEngine

    async def events_after(
        self, order_id: int, after: int, *, with_order: bool
    ) -> tuple[list[Any], Any | None]:
        return await _retrying(
            partial(_read_once, self.engine, order_id, after, with_order=with_order)
        )

    async def order(self, order_id: int) -> Any | None:
        return await _retrying(partial(_read_order, self.engine, order_id))


async def _retrying(read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, tried again while the database is unavailable, for a bounded time."""
    deadline = asyncio.get_running_loop().time() + READ_RETRY_SECONDS
    while True:
        try:
            return await read()
        except Exception as error:
            dependency = unavailable_dependency(error)
            if dependency is None:
                raise
            if asyncio.get_running_loop().time() >= deadline:
                raise ServiceUnavailableError(dependency) from error
        await asyncio.sleep(1.0)


async def _read_once(
    engine: AsyncEngine, order_id: int, after: int, *, with_order: bool
) -> tuple[list[Any], Any | None]:
    # The order is read after its events, so it is at least as new as the last of them.
    async with engine.connect() as conn:
        events = (await fetch_events_by_order_ids(conn, [order_id], after_sequence=after))[order_id]
        order = (await fetch_orders_by_ids(conn, [order_id])).get(order_id) if with_order else None
    return list(events), order


async def _read_order(engine: AsyncEngine, order_id: int) -> Any | None:
    async with engine.connect() as conn:
        return (await fetch_orders_by_ids(conn, [order_id])).get(order_id)
