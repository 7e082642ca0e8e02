"""Quote cache refresh: keep the pricings buyers are asking for warm and current.

Decision: the cache (cache.py) holds a pricing for 5 minutes after it was computed; the
next quote after that recomputes it (a valuation over the comparables) while the buyer
waits. Every minute the refresh job recomputes, ahead of time, the pricings of every
(vehicle, destination, rules version) quoted in the last `REFRESH_WINDOW` (10 minutes,
at most `MAX_REFRESHED` of them, the most recently quoted first) whose cached entry is
missing or expires within `REFRESH_MARGIN`: quoted vehicles answer from the cache, and
their cached pricing follows the market (new comparables, reservations) at most a few
minutes behind it. Pricings nobody asked for in 10 minutes are left to expire. Vehicles
no longer quotable (sold, withdrawn, no longer priceable) are skipped: their next quote
request gives the refusal as before. Writes use store_pricing, so the cache's own checks
still apply (a reader compares the cached facts with the vehicle's row).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.quote import Quote
from services.pricing.cache import pricing_expiries, store_pricing
from services.pricing.engine import price_vehicle
from services.pricing.errors import PricingError, UnknownRulesVersionError
from services.pricing.quotes import QUOTABLE_STATUSES
from services.pricing.rules import rules_for
from services.pricing.valuation import value_vehicles

log = logging.getLogger("autobroker.pricing")

quote_table: sa.Table = Quote.__table__  # type: ignore[attr-defined]

REFRESH_WINDOW = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(seconds=90)  # the job runs every minute: refresh before expiry
MAX_REFRESHED = 1000

Entry = tuple[int, str, str]  # (vehicle id, destination country, rules version)


async def _recently_quoted(engine: AsyncEngine, since: datetime) -> list[Entry]:
    c = quote_table.c
    statement = (
        sa.select(c.vehicle_id, c.destination_country, c.rules_version)
        .where(c.created_at > since)
        .group_by(c.vehicle_id, c.destination_country, c.rules_version)
        .order_by(sa.func.max(c.created_at).desc())
        .limit(MAX_REFRESHED)
    )
    async with engine.connect() as conn:
        return [(row[0], row[1], row[2]) for row in (await conn.execute(statement)).all()]


async def refresh_quote_cache(
    engine: AsyncEngine, redis: Redis, *, now: datetime | None = None
) -> int:
    """Recompute the recently quoted pricings that are missing or about to expire; how many."""
    now = now or utcnow()
    entries = await _recently_quoted(engine, now - REFRESH_WINDOW)
    if not entries:
        return 0
    try:
        expiries = await pricing_expiries(redis, entries)
    except RedisError as error:
        log.warning("quote cache refresh skipped", extra={"error": repr(error)})
        return 0
    due: dict[str, list[Entry]] = defaultdict(list)
    for entry, expires in zip(entries, expiries, strict=True):
        if expires is None or expires <= now + REFRESH_MARGIN:
            due[entry[2]].append(entry)
    refreshed = 0
    for rules_version, versioned in due.items():
        try:
            rules = rules_for(rules_version)
        except UnknownRulesVersionError:
            continue
        async with engine.connect() as conn:
            subjects = await value_vehicles(
                conn, {vehicle_id for vehicle_id, _, _ in versioned}, rules
            )
        for vehicle_id, destination, _ in versioned:
            subject = subjects.get(vehicle_id)
            if subject is None or subject.status not in QUOTABLE_STATUSES or subject.market is None:
                continue
            try:
                pricing = price_vehicle(subject.facts, subject.market, destination,
                                        rules_version=rules_version, as_of=now.date())  # fmt: skip
            except PricingError:
                continue
            await store_pricing(redis, subject.facts, pricing, now=now)
            refreshed += 1
    return refreshed
