"""Photos by vehicle id: every vehicle of a page with its gallery in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.photos.gallery import photos_by_vehicle_ids


class PhotosByVehicleIdLoader(MeasuredLoader[int, list[Any]]):
    """Each vehicle's READY photo rows in gallery order (the first is the cover)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[Any]]:
        found = await photos_by_vehicle_ids(await self._connection.get(), set(keys))
        return [found.get(key, []) for key in keys]
