"""Pricing root fields: quote(id:) and requestQuote.

Failures: a malformed global ID, or one of another type, is BAD_USER_INPUT naming the
field; a quote id that matches no quote is NOT_FOUND. requestQuote reports the business
refusals as userErrors naming the input field: VEHICLE_NOT_FOUND (a well-formed vehicle
ID with no vehicle: the vehicle may have been removed since the client listed it, so it
is an outcome to handle, not a malformed request), VEHICLE_UNAVAILABLE (sold or
withdrawn), VEHICLE_NOT_PRICEABLE and UNSUPPORTED_DESTINATION (not an EU member state).
Quotes need no sign-in: they hold no personal data, and buyers price before registering.
"""

from __future__ import annotations

import strawberry

from resolvers import pricing
from schema.context import Info
from schema.pricing import Quote, RequestQuoteInput, RequestQuotePayload


@strawberry.type
class PricingQuery:
    @strawberry.field(description="A quote by global ID; NOT_FOUND if there is none.")
    async def quote(self, info: Info, id: strawberry.ID) -> Quote | None:
        return await pricing.quote(info, id)


@strawberry.type
class PricingMutation:
    @strawberry.mutation(
        description="Price a vehicle delivered to an EU country and keep the quote: its "
        "lines, VAT, market position and a validity of 30 minutes."
    )
    async def request_quote(self, info: Info, input: RequestQuoteInput) -> RequestQuotePayload:
        return await pricing.request_quote(info, input)
