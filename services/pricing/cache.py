"""The quote cache: computed pricings in Redis for 5 minutes per (vehicle, destination,
rules version), invalidated when the vehicle's price or status changes.

Layout: one hash per vehicle (`QUOTE_CACHE_PREFIX` + id), one field per destination and
rules version, so `invalidate_vehicle_quotes` is a single DEL whatever the destinations.
Redis cannot expire one field of a hash (before 7.4), so each value carries its own
expiry and a stale field reads as a miss; the whole hash expires 5 minutes after its last
write. A value also records the vehicle facts it was computed from: a reader that finds
other facts in the database (a price change whose caller forgot to invalidate, or an
invalidation racing a write) treats it as a miss. What is cached is the computation,
never a quote id: every requested quote is persisted with its own validity.

The cache is an optimisation: when Redis fails, quotes are computed and a warning logged.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.redis_keys import QUOTE_CACHE_PREFIX
from models.quote import MarketPosition, QuoteLineKind, VatScheme
from services.pricing.engine import PricedLine, PricedQuote, VehicleFacts, recorded_source

log = logging.getLogger("autobroker.pricing")

CACHE_TTL = timedelta(minutes=5)


def _key(vehicle_id: int) -> str:
    return f"{QUOTE_CACHE_PREFIX}{vehicle_id}"


def _field(destination: str, rules_version: str) -> str:
    return f"{destination}:{rules_version}"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _encode(facts: VehicleFacts, quote: PricedQuote, expires: datetime) -> bytes:
    return orjson.dumps(
        {"expires": expires.timestamp(), "facts": asdict(facts), "quote": asdict(quote)},
        default=_default,
    )


def _decode_facts(data: dict[str, Any]) -> VehicleFacts:
    registered = data["first_registration"]
    return VehicleFacts(
        **{
            **data,
            "price": Decimal(data["price"]),
            "first_registration": None if registered is None else date.fromisoformat(registered),
        }
    )


def _decode_quote(data: dict[str, Any]) -> PricedQuote:
    value = data["market_value"]
    return PricedQuote(
        vehicle_id=data["vehicle_id"],
        destination_country=data["destination_country"],
        rules_version=data["rules_version"],
        currency=data["currency"],
        vat_scheme=VatScheme(data["vat_scheme"]),
        lines=tuple(
            PricedLine(
                kind=QuoteLineKind(line["kind"]),
                label=line["label"],
                amount=Decimal(line["amount"]),
                vat_rate=Decimal(line["vat_rate"]),
                vat=Decimal(line["vat"]),
            )
            for line in data["lines"]
        ),
        subtotal=Decimal(data["subtotal"]),
        vat=Decimal(data["vat"]),
        total=Decimal(data["total"]),
        market_position=MarketPosition(data["market_position"]),
        comparable_count=data["comparable_count"],
        market_value=None if value is None else Decimal(value),
        valuation_source=recorded_source(data.get("valuation_source"), value),
        valuation_model_version=data.get("valuation_model_version"),
    )


async def cached_pricing(
    redis: Redis,
    vehicle_id: int,
    destination: str,
    rules_version: str,
    *,
    now: datetime,
) -> tuple[VehicleFacts, PricedQuote] | None:
    """The cached (facts, pricing) of this vehicle and destination, or None on a miss."""
    try:
        raw = await redis.hget(_key(vehicle_id), _field(destination, rules_version))  # type: ignore[misc]
    except RedisError as error:
        log.warning("quote cache read failed", extra={"error": repr(error)})
        return None
    if raw is None:
        return None
    try:
        entry = orjson.loads(raw)
        if entry["expires"] <= now.timestamp():
            return None
        return _decode_facts(entry["facts"]), _decode_quote(entry["quote"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError):
        # An entry written by another code version: recompute rather than fail.
        return None


async def pricing_expiries(
    redis: Redis, entries: list[tuple[int, str, str]]
) -> list[datetime | None]:
    """When each cached (vehicle, destination, rules version) pricing expires; None: none."""
    async with redis.pipeline(transaction=False) as pipe:
        for vehicle_id, destination, rules_version in entries:
            pipe.hget(_key(vehicle_id), _field(destination, rules_version))
        raws = await pipe.execute()
    expiries: list[datetime | None] = []
    for raw in raws:
        try:
            expires = None if raw is None else float(orjson.loads(raw)["expires"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            expires = None
        expiries.append(None if expires is None else datetime.fromtimestamp(expires, UTC))
    return expiries


async def store_pricing(
    redis: Redis, facts: VehicleFacts, quote: PricedQuote, *, now: datetime
) -> None:
    """Cache `quote`, computed from `facts`, for CACHE_TTL."""
    key = _key(quote.vehicle_id)
    value = _encode(facts, quote, now + CACHE_TTL)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={_field(quote.destination_country, quote.rules_version): value})
            pipe.expire(key, CACHE_TTL)
            await pipe.execute()
    except RedisError as error:
        log.warning("quote cache write failed", extra={"error": repr(error)})


async def invalidate_vehicle_quotes(redis: Redis, *vehicle_ids: int) -> None:
    """Forget the cached pricings of these vehicles: call it when a price or status changes.

    A failure is logged, not raised: the change it follows has happened, and a stale entry
    cannot be served anyway (readers compare its facts with the vehicle's row).
    """
    if not vehicle_ids:
        return
    try:
        await redis.delete(*(_key(vehicle_id) for vehicle_id in vehicle_ids))
    except RedisError as error:
        log.warning("quote cache invalidation failed", extra={"error": repr(error)})
