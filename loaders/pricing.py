"""Delivered prices by (vehicle id, destination), and quotes by id."""

from __future__ import annotations

from collections.abc import Sequence

from core import response_cache
from core.db import OperationConnection
from loaders.base import MeasuredLoader
from models.base import utcnow
from services.pricing.delivered import delivered_prices
from services.pricing.engine import PricedQuote
from services.pricing.quotes import StoredQuote, fetch_quotes


class DeliveredPriceByVehicleIdLoader(MeasuredLoader[tuple[int, str], PricedQuote | None]):
    """Each vehicle's price delivered to a country: one valuation statement per batch."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[tuple[int, str]]) -> list[PricedQuote | None]:
        groups: set[str] = set()
        prices = await delivered_prices(
            await self._connection.get(), keys, as_of=utcnow().date(), seen_groups=groups
        )
        # A cached response showing these prices is dropped when a comparable changes.
        response_cache.tag(response_cache.PRICES, *map(response_cache.group_tag, groups))
        return [prices[key] for key in keys]


class QuoteByIdLoader(MeasuredLoader[int, StoredQuote | None]):
    """Persisted quotes with their lines by id (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[StoredQuote | None]:
        found = await fetch_quotes(await self._connection.get(), keys)
        return [found.get(key) for key in keys]
