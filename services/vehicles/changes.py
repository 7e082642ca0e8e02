"""What follows a committed change to vehicles: every cache that shows them forgets them.

Two caches show vehicles: the quote cache (services/pricing/cache.py, per vehicle) and the
response cache (core/response_cache.py, tagged by entity). A change to a vehicle drops
its cached quotes, every cached response showing it or any list of vehicles, and every
cached delivered price of its comparables (`comparables_group`: valuation and demand
read them). Call these after the transaction commits, never inside it: a reader that
started before the commit must find the old entry gone, not a new one computed from
the old rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from redis.asyncio import Redis

from core import response_cache
from services.pricing.cache import invalidate_vehicle_quotes
from services.pricing.valuation import comparables_group

INVALIDATE_BATCH = 1000  # vehicle tags per invalidation script


def group_of(row: Mapping[Any, Any]) -> str:
    """The comparables group of a vehicle row."""
    return comparables_group(row["make"], row["model"])


async def vehicles_changed(
    redis: Redis, vehicle_ids: Collection[int], groups: Iterable[str] | None
) -> None:
    """Vehicles were created, edited or changed status. `groups`: the comparables groups
    they were and are in; None when unknown (a bulk change), which drops every cached
    delivered price."""
    shared = [response_cache.VEHICLES]
    shared += (
        [response_cache.PRICES]
        if groups is None
        else [response_cache.group_tag(group) for group in set(groups)]
    )
    ids = sorted(set(vehicle_ids))
    await response_cache.invalidate(redis, shared)
    for start in range(0, len(ids), INVALIDATE_BATCH):
        part = ids[start : start + INVALIDATE_BATCH]
        await invalidate_vehicle_quotes(redis, *part)
        await response_cache.invalidate(redis, map(response_cache.vehicle_tag, part))


async def dealer_changed(redis: Redis, dealer_id: int) -> None:
    """A dealer's name, place or rating changed: drop every response showing it."""
    await response_cache.invalidate(
        redis, [response_cache.dealer_tag(dealer_id), response_cache.DEALERS]
    )
