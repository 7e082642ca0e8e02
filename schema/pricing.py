"""Pricing types: Quote, QuoteLine, DeliveredPrice, and requestQuote's input and payload."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.base import utcnow
from models.quote import MarketPosition, QuoteLineKind, ValuationSource, VatScheme
from models.vehicle import CurrencyCode
from schema.context import Info
from schema.ids import to_global_id
from schema.money import Money
from schema.node import Node
from schema.payloads import UserError
from services.pricing.engine import PricedLine, PricedQuote
from services.pricing.quotes import StoredQuote

if TYPE_CHECKING:
    from schema.catalog import Vehicle

strawberry.enum(
    MarketPosition,
    description=(
        "How the asking price compares with the market value of comparable vehicles "
        "(within 5 %: FAIR); INSUFFICIENT_DATA when there are too few comparables to say."
    ),
)
strawberry.enum(QuoteLineKind, description="What a quote line charges for.")
strawberry.enum(
    ValuationSource,
    description=(
        "What gave the market value: MODEL, the valuation model learned from the catalog "
        "(when its 80 % interval is narrow enough); COMPARABLES, the mileage-adjusted "
        "median of comparable vehicles; NONE, neither (INSUFFICIENT_DATA)."
    ),
)
strawberry.enum(
    VatScheme,
    description=(
        "MARGIN: a used car under the margin scheme, no VAT on the vehicle price line; "
        "NEW_VEHICLE: a new means of transport (at most 6 months or 6,000 km), VAT of "
        "the destination country on every line."
    ),
)


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount, currency=CurrencyCode(currency))


@strawberry.type(description="One explained line of a quote; `amount` is net of VAT.")
class QuoteLine:
    kind: QuoteLineKind
    label: str = strawberry.field(description="What the line is and how it was computed.")
    amount: Money = strawberry.field(description="Net amount, rounded to the cent.")
    vat_rate: Decimal = strawberry.field(
        description="VAT rate applied to this line, e.g. 0.19; 0 where none applies."
    )
    vat: Money = strawberry.field(description="VAT on this line, rounded to the cent.")

    @classmethod
    def from_line(cls, line: PricedLine, currency: str) -> QuoteLine:
        return cls(
            kind=line.kind,
            label=line.label,
            amount=_money(line.amount, currency),
            # Stored rates carry four decimals, computed ones as the rules wrote them.
            vat_rate=line.vat_rate.normalize(),
            vat=_money(line.vat, currency),
        )


@strawberry.type(description="A vehicle's price delivered to a country: what a catalog shows.")
class DeliveredPrice:
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    subtotal: Money = strawberry.field(description="Sum of the lines, net of VAT.")
    vat: Money
    total: Money = strawberry.field(description="subtotal + vat.")
    vat_scheme: VatScheme
    market_position: MarketPosition
    comparable_count: int = strawberry.field(description="Comparable vehicles valued.")
    market_value: Money | None = strawberry.field(
        description=(
            "The market value the asking price is compared with: the valuation model's when "
            "it is confident, else the mileage-adjusted median of the comparables; null if "
            "neither can value the vehicle."
        )
    )
    valuation_source: ValuationSource = strawberry.field(
        description="What gave the market value; the vehicle line says why."
    )
    valuation_model_version: int | None = strawberry.field(
        description="The valuation model's version when it gave the market value."
    )
    rules_version: str = strawberry.field(description="Pricing rules applied, e.g. 2026-11.")

    @classmethod
    def from_pricing(cls, pricing: PricedQuote) -> DeliveredPrice:
        currency = pricing.currency
        return cls(
            destination_country=pricing.destination_country,
            subtotal=_money(pricing.subtotal, currency),
            vat=_money(pricing.vat, currency),
            total=_money(pricing.total, currency),
            vat_scheme=pricing.vat_scheme,
            market_position=pricing.market_position,
            comparable_count=pricing.comparable_count,
            market_value=(
                None if pricing.market_value is None else _money(pricing.market_value, currency)
            ),
            valuation_source=pricing.valuation_source,
            valuation_model_version=pricing.valuation_model_version,
            rules_version=pricing.rules_version,
        )


@strawberry.federation.type(
    keys=["id"],
    description=(
        "A persisted price quote for a vehicle delivered to a country, line by line. "
        "total = subtotal + vat = the sum of every line's amount and VAT."
    ),
)
class Quote(Node):
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    lines: list[QuoteLine]
    subtotal: Money = strawberry.field(description="Sum of the lines' amounts, net of VAT.")
    vat: Money = strawberry.field(description="Sum of the lines' VAT.")
    total: Money
    vat_scheme: VatScheme
    market_position: MarketPosition
    comparable_count: int = strawberry.field(description="Comparable vehicles valued.")
    market_value: Money | None = strawberry.field(
        description=(
            "The market value the asking price is compared with: the valuation model's when "
            "it is confident, else the mileage-adjusted median of the comparables; null if "
            "neither can value the vehicle."
        )
    )
    valuation_source: ValuationSource = strawberry.field(
        description="What gave the market value; the vehicle line says why."
    )
    valuation_model_version: int | None = strawberry.field(
        description="The valuation model's version when it gave the market value."
    )
    rules_version: str = strawberry.field(description="Pricing rules applied, e.g. 2026-11.")
    created_at: datetime
    valid_until: datetime = strawberry.field(
        description="The price holds until then (30 minutes); an order needs a valid quote."
    )
    vehicle_id: strawberry.Private[int]

    @classmethod
    def from_stored(cls, stored: StoredQuote) -> Quote:
        pricing, currency = stored.pricing, stored.pricing.currency
        return cls(
            id=strawberry.ID(to_global_id("Quote", stored.id)),
            vehicle_id=pricing.vehicle_id,
            destination_country=pricing.destination_country,
            lines=[QuoteLine.from_line(line, currency) for line in pricing.lines],
            subtotal=_money(pricing.subtotal, currency),
            vat=_money(pricing.vat, currency),
            total=_money(pricing.total, currency),
            vat_scheme=pricing.vat_scheme,
            market_position=pricing.market_position,
            comparable_count=pricing.comparable_count,
            market_value=(
                None if pricing.market_value is None else _money(pricing.market_value, currency)
            ),
            valuation_source=pricing.valuation_source,
            valuation_model_version=pricing.valuation_model_version,
            rules_version=pricing.rules_version,
            created_at=stored.created_at,
            valid_until=stored.valid_until,
        )

    @strawberry.field(description="Whether validUntil has passed.")
    def expired(self) -> bool:
        return utcnow() >= self.valid_until

    @strawberry.field(description="The vehicle quoted.")
    async def vehicle(self, info: Info) -> Annotated[Vehicle, strawberry.lazy("schema.catalog")]:
        from schema.catalog import Vehicle

        row = await info.context.loaders.vehicle_by_id.load(self.vehicle_id)
        return Vehicle.from_row(row)


@strawberry.input(description="The vehicle to quote and where to deliver it.")
class RequestQuoteInput:
    vehicle_id: strawberry.ID = strawberry.field(description="Global ID of a Vehicle.")
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code of an EU member state, e.g. FR."
    )


@strawberry.type(description="The quote made, or why none could be.")
class RequestQuotePayload:
    quote: Quote | None
    user_errors: list[UserError] = strawberry.field(
        description=(
            "VEHICLE_NOT_FOUND, VEHICLE_UNAVAILABLE (sold or withdrawn), "
            "VEHICLE_NOT_PRICEABLE, UNSUPPORTED_DESTINATION."
        )
    )
