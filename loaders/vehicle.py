"""Vehicles by id and by VIN, and each dealer's page and count of vehicles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.vehicles.catalog import (
    Ordering,
    Page,
    PageRequest,
    VehicleFilter,
    count_by_dealer,
    fetch_by_ids,
    fetch_by_vins,
    fetch_pages_by_dealer,
)


class VehicleByIdLoader(MeasuredLoader[int, Any]):
    """Vehicle rows (every column) by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection, columns: frozenset[str]) -> None:
        super().__init__()
        self._connection = connection
        self._columns = columns

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_by_ids(await self._connection.get(), set(keys), self._columns)
        return [rows.get(key) for key in keys]


class VehicleByVinLoader(MeasuredLoader[str, Any]):
    """Vehicle rows (every column) by normalised VIN (None where there is none); what it
    finds also primes `by_id`, so the same vehicle asked for by id costs nothing more."""

    def __init__(
        self, connection: OperationConnection, columns: frozenset[str], by_id: VehicleByIdLoader
    ) -> None:
        super().__init__()
        self._connection = connection
        self._columns = columns
        self._by_id = by_id

    async def batch_load_fn(self, keys: Sequence[str]) -> list[Any]:
        rows = await fetch_by_vins(await self._connection.get(), set(keys), self._columns)
        for row in rows.values():
            self._by_id.prime(row["id"], row)
        return [rows.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class DealerVehiclesKey:
    """One dealer's page under one set of arguments; equal arguments batch together."""

    dealer_id: int
    filter: VehicleFilter
    ordering: Ordering
    page: PageRequest
    columns: frozenset[str]


class VehiclePageByDealerIdLoader(MeasuredLoader[DealerVehiclesKey, Page]):
    """A page of each dealer's vehicles: one LATERAL query per distinct argument set."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[DealerVehiclesKey]) -> list[Page]:
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.filter, key.ordering, key.page, key.columns)].append(key.dealer_id)
        conn = await self._connection.get()
        pages: dict[tuple[Any, ...], dict[int, Page]] = {}
        for (flt, ordering, page, columns), dealer_ids in groups.items():
            pages[(flt, ordering, page, columns)] = await fetch_pages_by_dealer(
                conn, dealer_ids, flt, ordering, page, columns
            )
        return [
            pages[(key.filter, key.ordering, key.page, key.columns)][key.dealer_id] for key in keys
        ]


class VehicleCountByDealerIdLoader(MeasuredLoader[tuple[int, VehicleFilter], int]):
    """How many matching vehicles each dealer has, one GROUP BY per distinct filter."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[tuple[int, VehicleFilter]]) -> list[int]:
        groups: dict[VehicleFilter, list[int]] = defaultdict(list)
        for dealer_id, flt in keys:
            groups[flt].append(dealer_id)
        conn = await self._connection.get()
        counts: dict[VehicleFilter, dict[int, int]] = {}
        for flt, dealer_ids in groups.items():
            counts[flt] = await count_by_dealer(conn, dealer_ids, flt)
        return [counts[flt][dealer_id] for dealer_id, flt in keys]
