"""Pricing fields: requestQuote, quote(id:) and Vehicle.deliveredPrice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from schema.context import Info
from schema.errors import BadUserInputError, NotFoundError
from schema.ids import decode_int_id
from schema.payloads import refusal_errors
from schema.pricing import DeliveredPrice, Quote, RequestQuoteInput, RequestQuotePayload
from services.errors import RefusalError
from services.pricing import quotes
from services.pricing.engine import check_destination
from services.pricing.errors import UnsupportedDestinationError
from services.pricing.rules import current_rules

if TYPE_CHECKING:
    from schema.catalog import Vehicle


async def request_quote(info: Info, input: RequestQuoteInput) -> RequestQuotePayload:
    """Quote a vehicle to a destination; refusals come back as userErrors."""
    vehicle_id = decode_int_id(input.vehicle_id, "Vehicle", field="vehicleId")
    try:
        stored = await quotes.request_quote(
            await info.context.db.for_writes(),
            info.context.redis,
            vehicle_id,
            input.destination_country,
        )
    except RefusalError as error:
        return RequestQuotePayload(quote=None, user_errors=refusal_errors(error))
    info.context.loaders.quote_by_id.prime(stored.id, stored)
    return RequestQuotePayload(quote=Quote.from_stored(stored), user_errors=[])


async def quote(info: Info, id: str) -> Quote | None:
    """One quote by global ID; null and NOT_FOUND when there is none."""
    stored = await info.context.loaders.quote_by_id.load(decode_int_id(id, "Quote"))
    if stored is None:
        raise NotFoundError(f"no quote with id {id}", field="id")
    return Quote.from_stored(stored)


async def delivered_price(
    info: Info, vehicle_id: int, destination_country: str
) -> DeliveredPrice | None:
    """The vehicle's price delivered to the country, batched over the page; null if unquotable."""
    try:
        destination = check_destination(destination_country, current_rules())
    except UnsupportedDestinationError as error:
        raise BadUserInputError(error.message, field="destinationCountry") from None
    pricing = await info.context.loaders.delivered_price_by_vehicle_id.load(
        (vehicle_id, destination)
    )
    return None if pricing is None else DeliveredPrice.from_pricing(pricing)


async def prefetch_delivered_prices(
    info: Info, vehicles: Sequence[Vehicle], destinations: Iterable[Any]
) -> None:
    """Price a page's vehicles to each destination its query names, in one batch, before
    GraphQL asks vehicle by vehicle (`Vehicle.delivered_price` then answers at once).
    A destination the rules refuse is left to the field, which reports it."""
    rules = current_rules()
    loader = info.context.loaders.delivered_price_by_vehicle_id
    for given in destinations:
        if not isinstance(given, str):
            continue
        try:
            destination = check_destination(given, rules)
        except UnsupportedDestinationError:
            continue
        prices = await loader.load_many([(vehicle.pk, destination) for vehicle in vehicles])
        for vehicle, pricing in zip(vehicles, prices, strict=True):
            vehicle.__dict__.setdefault("known_prices", {})[given] = pricing
