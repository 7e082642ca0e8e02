"""The live-status stream's rule, without a database or Redis: what the database holds
first, then live deliveries, never a gap or a duplicate, RESYNC reads again, and the
stream ends with the order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from models.order import OrderStatus
from services.errors import InvalidArgumentError
from services.events import RESYNC, PublishedEvent, Resync
from services.orders import live_status

S = OrderStatus
AT = datetime(2026, 1, 1, tzinfo=UTC)
PATH = [S.DRAFT, S.QUOTED, S.RESERVED, S.PAYMENT_PENDING, S.PAID, S.PREPARING]


def _event(sequence: int, to: OrderStatus | None = None) -> PublishedEvent:
    before = PATH[sequence - 2] if sequence > 1 else None
    return PublishedEvent(1, sequence, before, to or PATH[sequence - 1], "system", None, AT)


def _row(event: PublishedEvent) -> dict[str, Any]:
    return {"order_id": event.order_id, "sequence": event.sequence, "actor": event.actor,
            "from_status": event.from_status and event.from_status.value,
            "to_status": event.to_status.value, "reason": event.reason, "at": event.at}  # fmt: skip


class Delivered:
    def __init__(self, event: PublishedEvent) -> None:
        self.event = event

    async def shared(self, load: Callable[[], Awaitable[Any]]) -> Any:
        return await load()


class Source:
    """An inbox fed by the test; `database` is what a read after a sequence finds."""

    def __init__(self, database: list[PublishedEvent]) -> None:
        self.database = database
        self.queue: asyncio.Queue[Delivered | Resync] = asyncio.Queue()
        self.reads: list[int] = []
        self.listening = False

    @contextmanager
    def listen(self, order_id: int) -> Iterator[Source]:
        self.listening = True
        try:
            yield self
        finally:
            self.listening = False

    async def get(self) -> Delivered | Resync:
        return await self.queue.get()

    async def events_after(
        self, order_id: int, after: int, *, with_order: bool
    ) -> tuple[list[Any], Any | None]:
        self.reads.append(after)
        rows = [_row(e) for e in self.database if e.sequence > after]
        return rows, ({"id": order_id} if with_order else None)

    async def order(self, order_id: int) -> Any | None:
        return {"id": order_id, "live": True}


async def _take(stream: Any, count: int) -> list[int]:
    return [(await anext(stream)).event.sequence for _ in range(count)]


async def test_database_first_then_live_without_duplicates_or_gaps() -> None:
    source = Source([_event(1), _event(2)])
    stream = live_status.follow_order(source, source, 1, 0, with_order=True)
    assert await _take(stream, 2) == [1, 2]
    source.queue.put_nowait(Delivered(_event(2)))  # a duplicate of what the database gave
    source.queue.put_nowait(Delivered(_event(3)))
    update = await anext(stream)
    assert (update.event.sequence, update.order) == (3, {"id": 1, "live": True})
    # A gap: 4 was lost; 5 arrives. The database is read after 3 and gives 4 and 5.
    source.database += [_event(4), _event(5)]
    source.queue.put_nowait(Delivered(_event(5)))
    assert await _take(stream, 2) == [4, 5]
    assert source.reads == [0, 3]
    # RESYNC: read the database again after the last one yielded.
    source.database.append(_event(6))
    source.queue.put_nowait(RESYNC)
    assert await _take(stream, 1) == [6]
    assert source.reads == [0, 3, 5]
    await stream.aclose()
    assert not source.listening


async def test_the_stream_ends_after_a_terminal_event() -> None:
    source = Source([_event(1), _event(2, S.CANCELLED), _event(3)])
    stream = live_status.follow_order(source, source, 1, 0, with_order=False)
    assert [u.event.sequence async for u in stream] == [1, 2]
    assert not source.listening
    live = Source([_event(1)])
    stream = live_status.follow_order(live, live, 1, 0, with_order=False)
    assert await _take(stream, 1) == [1]
    live.queue.put_nowait(Delivered(_event(2, S.CANCELLED)))
    assert [u.event.sequence async for u in stream] == [2]


def test_a_resumed_stream_is_checked_against_the_orders_events() -> None:
    assert live_status.check_resume(S.PAID, 3, 5)
    assert live_status.check_resume(S.CANCELLED, 2, 3)  # its end is still to be seen
    assert not live_status.check_resume(S.CANCELLED, 3, 3)  # seen the end: nothing follows
    with pytest.raises(InvalidArgumentError, match="afterSequence: the order's last event is 5"):
        live_status.check_resume(S.PAID, 6, 5)
    with pytest.raises(InvalidArgumentError, match="afterSequence: must be 0 or more"):
        live_status.check_after_sequence(-1)
