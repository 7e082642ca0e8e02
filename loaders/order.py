"""Orders by id, and each order's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.orders.queries import fetch_events_by_order_ids, fetch_orders_by_ids


class OrderByIdLoader(MeasuredLoader[int, Any]):
    """Order rows by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_orders_by_ids(await self._connection.get(), set(keys))
        return [rows.get(key) for key in keys]


class EventsByOrderIdLoader(MeasuredLoader[int, list[Any]]):
    """Each order's events in sequence order."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[Any]]:
        events = await fetch_events_by_order_ids(await self._connection.get(), set(keys))
        return [events.get(key, []) for key in keys]
