"""Delivered prices for catalog pages: many vehicles, one valuation statement.

A catalog price is computed fresh and not persisted (it is not a quote: no id, no
validity); the Redis cache serves `requestQuote`, where a client asks for one vehicle
again and again. A vehicle that cannot be quoted (SOLD, WITHDRAWN, missing, or outside
the rules) has no delivered price: None, not an error, so one such car does not fail a
whole page.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from services.pricing.engine import PricedQuote, price_vehicle
from services.pricing.errors import PricingError, VehicleUnavailableError
from services.pricing.quotes import check_quotable
from services.pricing.rules import RULES_VERSION, rules_for
from services.pricing.valuation import comparables_group, value_vehicles


async def delivered_prices(
    conn: AsyncConnection,
    keys: Collection[tuple[int, str]],
    *,
    as_of: date,
    rules_version: str = RULES_VERSION,
    seen_groups: set[str] | None = None,
) -> dict[tuple[int, str], PricedQuote | None]:
    """The pricing of each (vehicle id, destination) pair, None where none can be made.

    `seen_groups` receives the comparables group of every vehicle valued: what the
    prices depend on besides the vehicles themselves.
    """
    subjects = await value_vehicles(
        conn, {vehicle_id for vehicle_id, _ in keys}, rules_for(rules_version)
    )
    if seen_groups is not None:
        seen_groups.update(
            comparables_group(s.facts.make, s.facts.model) for s in subjects.values()
        )
    prices: dict[tuple[int, str], PricedQuote | None] = {}
    for vehicle_id, destination in keys:
        try:
            subject = check_quotable(subjects.get(vehicle_id), vehicle_id)
            assert subject.market is not None
            prices[(vehicle_id, destination)] = price_vehicle(
                subject.facts,
                subject.market,
                destination,
                rules_version=rules_version,
                as_of=as_of,
            )
        except (PricingError, VehicleUnavailableError):
            prices[(vehicle_id, destination)] = None
    return prices
