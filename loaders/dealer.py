"""Dealers by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.dealers import fetch_dealers_by_ids


class DealerByIdLoader(MeasuredLoader[int, Any]):
    """Dealer rows by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_dealers_by_ids(await self._connection.get(), set(keys))
        return [rows.get(key) for key in keys]
