"""Quotes as a use-case: check, price (through the cache), persist; and read them back.

Decisions:
- A quote can be requested for an AVAILABLE or a RESERVED vehicle (a reservation may
  lapse; the quote only informs, an order still has to win the vehicle); SOLD and
  WITHDRAWN vehicles are refused with `VehicleUnavailableError` (`not_quotable`).
- The vehicle row is always read from the database, even on a cache hit: its status is
  never taken from the cache, and its facts must match the cached ones (see cache.py).
- Every request persists a new quote with its lines, valid for 30 minutes from then; the
  cached computation may be reused, the quote row never is.
- `quote_vehicle` writes inside the caller's transaction (an order can quote within its
  own); `request_quote` is the stand-alone use-case: one transaction of its own, committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.metrics import record_cache
from models.base import utcnow
from models.quote import MarketPosition, Quote, QuoteLine, QuoteLineKind, VatScheme
from models.vehicle import VehicleStatus
from services import money
from services.pricing.cache import cached_pricing, invalidate_vehicle_quotes, store_pricing
from services.pricing.engine import (
    PricedLine,
    PricedQuote,
    check_destination,
    price_vehicle,
    recorded_source,
)
from services.pricing.errors import VehicleNotFoundError, not_quotable
from services.pricing.rules import RULES_VERSION, rules_for
from services.pricing.valuation import Subject, fetch_subject, value_vehicles

QUOTE_VALIDITY = timedelta(minutes=30)
QUOTABLE_STATUSES = frozenset({VehicleStatus.AVAILABLE, VehicleStatus.RESERVED})

# Re-exported: callers that change a vehicle's price or status look for it here too.
__all__ = [
    "QUOTE_VALIDITY",
    "StoredQuote",
    "check_quotable",
    "fetch_quotes",
    "invalidate_vehicle_quotes",
    "quote_vehicle",
    "request_quote",
]

quote_table: sa.Table = Quote.__table__  # type: ignore[attr-defined]
quote_line_table: sa.Table = QuoteLine.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredQuote:
    """A persisted quote: the engine's pricing plus its id and validity."""

    id: int
    pricing: PricedQuote
    created_at: datetime
    valid_until: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.valid_until


def _minor(amount: Decimal) -> int:
    # Lines are rounded to the cent already; a model's market value is cut to it.
    return money.to_minor(amount, rounding=ROUND_DOWN)


def _major(minor: int) -> Decimal:
    return money.from_minor(minor)


def check_quotable(subject: Subject | None, vehicle_id: int) -> Subject:
    """The subject, if it exists and may be quoted; the domain error otherwise."""
    if subject is None:
        raise VehicleNotFoundError(vehicle_id)
    if subject.status not in QUOTABLE_STATUSES:
        raise not_quotable(vehicle_id, subject.status.value)
    return subject


async def _pricing(
    conn: AsyncConnection,
    redis: Redis,
    vehicle_id: int,
    destination: str,
    rules_version: str,
    now: datetime,
) -> PricedQuote:
    cached = await cached_pricing(redis, vehicle_id, destination, rules_version, now=now)
    if cached is not None:
        subject = check_quotable(await fetch_subject(conn, vehicle_id), vehicle_id)
        facts, pricing = cached
        if facts == subject.facts:
            record_cache("quote", hit=True)
            return pricing
    record_cache("quote", hit=False)  # absent, expired, or computed from other facts
    rules = rules_for(rules_version)
    valued = await value_vehicles(conn, [vehicle_id], rules)
    subject = check_quotable(valued.get(vehicle_id), vehicle_id)
    assert subject.market is not None
    pricing = price_vehicle(
        subject.facts, subject.market, destination, rules_version=rules_version, as_of=now.date()
    )
    await store_pricing(redis, subject.facts, pricing, now=now)
    return pricing


async def _persist(conn: AsyncConnection, pricing: PricedQuote, now: datetime) -> StoredQuote:
    valid_until = now + QUOTE_VALIDITY
    quote_id = (
        await conn.execute(
            sa.insert(quote_table)
            .values(
                vehicle_id=pricing.vehicle_id,
                destination_country=pricing.destination_country,
                rules_version=pricing.rules_version,
                currency=pricing.currency,
                subtotal_minor=_minor(pricing.subtotal),
                vat_minor=_minor(pricing.vat),
                total_minor=_minor(pricing.total),
                vat_scheme=pricing.vat_scheme.value,
                market_position=pricing.market_position.value,
                comparable_count=pricing.comparable_count,
                market_value_minor=(
                    None if pricing.market_value is None else _minor(pricing.market_value)
                ),
                valuation_source=pricing.valuation_source.value,
                valuation_model_version=pricing.valuation_model_version,
                valid_until=valid_until,
                created_at=now,
            )
            .returning(quote_table.c.id)
        )
    ).scalar_one()
    await conn.execute(
        sa.insert(quote_line_table),
        [
            {
                "quote_id": quote_id,
                "position": position,
                "kind": line.kind.value,
                "label": line.label,
                "amount_minor": _minor(line.amount),
                "vat_rate": line.vat_rate,
                "vat_minor": _minor(line.vat),
            }
            for position, line in enumerate(pricing.lines, start=1)
        ],
    )
    return StoredQuote(quote_id, pricing, created_at=now, valid_until=valid_until)


async def quote_vehicle(
    conn: AsyncConnection,
    redis: Redis,
    vehicle_id: int,
    destination_country: str,
    *,
    rules_version: str = RULES_VERSION,
    now: datetime | None = None,
) -> StoredQuote:
    """Price the vehicle to the destination and write the quote in the caller's transaction."""
    destination = check_destination(destination_country, rules_for(rules_version))
    now = now or utcnow()
    pricing = await _pricing(conn, redis, vehicle_id, destination, rules_version, now)
    return await _persist(conn, pricing, now)


async def request_quote(
    engine: AsyncEngine,
    redis: Redis,
    vehicle_id: int,
    destination_country: str,
    *,
    rules_version: str = RULES_VERSION,
    now: datetime | None = None,
) -> StoredQuote:
    """Quote the vehicle to the destination in a transaction of its own, committed."""
    async with engine.begin() as conn:
        return await quote_vehicle(
            conn, redis, vehicle_id, destination_country, rules_version=rules_version, now=now
        )


def _stored(row: Any, lines: list[PricedLine]) -> StoredQuote:
    value = row["market_value_minor"]
    pricing = PricedQuote(
        vehicle_id=row["vehicle_id"],
        destination_country=row["destination_country"],
        rules_version=row["rules_version"],
        currency=row["currency"],
        vat_scheme=VatScheme(row["vat_scheme"]),
        lines=tuple(lines),
        subtotal=_major(row["subtotal_minor"]),
        vat=_major(row["vat_minor"]),
        total=_major(row["total_minor"]),
        market_position=MarketPosition(row["market_position"]),
        comparable_count=row["comparable_count"],
        market_value=None if value is None else _major(value),
        valuation_source=recorded_source(row["valuation_source"], value),
        valuation_model_version=row["valuation_model_version"],
    )
    return StoredQuote(row["id"], pricing, row["created_at"], row["valid_until"])


async def fetch_quotes(conn: AsyncConnection, quote_ids: Collection[int]) -> dict[int, StoredQuote]:
    """Persisted quotes with their lines, by id (two statements whatever their number)."""
    ids = sorted(set(quote_ids))
    if not ids:
        return {}
    rows = (await conn.execute(sa.select(quote_table).where(quote_table.c.id.in_(ids)))).mappings()
    found = {row["id"]: row for row in rows}
    if not found:
        return {}
    c = quote_line_table.c
    lines: dict[int, list[PricedLine]] = defaultdict(list)
    line_rows = await conn.execute(
        sa.select(quote_line_table)
        .where(c.quote_id.in_(list(found)))
        .order_by(c.quote_id, c.position)
    )
    for line in line_rows.mappings():
        lines[line["quote_id"]].append(
            PricedLine(
                kind=QuoteLineKind(line["kind"]),
                label=line["label"],
                amount=_major(line["amount_minor"]),
                vat_rate=line["vat_rate"],
                vat=_major(line["vat_minor"]),
            )
        )
    return {quote_id: _stored(row, lines[quote_id]) for quote_id, row in found.items()}
