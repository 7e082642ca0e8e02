"""The pricing engine: (vehicle, market data, destination, rules version) -> a quote.

Pure: no I/O, no clock (the caller passes `as_of`), no GraphQL. All amounts are
`Decimal` in the rules' currency.

Decisions:
- Each line's net amount is rounded to the cent (ROUND_HALF_UP) once, and so is each
  line's VAT (net amount x rate). Subtotal, VAT and total are exact sums of those rounded
  figures: total = subtotal + vat = sum(amount + vat of every line), to the cent.
- Lines, in order: vehicle price, transport, broker fee, registration fee, demand
  adjustment. Every quote has all five (an adjustment of 0.00 says "no demand effect").
- "New vehicle" follows the EU VAT definition of a new means of transport (Directive
  2006/112/EC art. 2(2)(b)): no first registration, or at most 6 months since it, or at
  most 6,000 km. New vehicles pay the destination's VAT on every line; other cars are
  sold under the margin scheme, with no VAT on the vehicle line.
- The market value is the valuation model's when one serves and is confident (its 80 %
  interval at most `rules.model_max_interval_share` of its value wide), else the
  mileage-adjusted median of the comparables; with neither (fewer comparables than the
  rules' minimum) the position is INSUFFICIENT_DATA and no market value is reported
  rather than a guess. The vehicle line says which valued the car, and why.
- The demand surcharge is not added to an asking price already above the market value.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from models.quote import MarketPosition, QuoteLineKind, ValuationSource, VatScheme
from services.countries import normalise_country
from services.pricing.demand import demand_rate
from services.pricing.errors import UnsupportedDestinationError, VehicleNotPriceableError
from services.pricing.rules import RuleSet, road_distance_km, rules_for

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the cent."""
    return amount.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class VehicleFacts:
    """What the engine needs to know about the vehicle being priced."""

    vehicle_id: int
    make: str
    model: str
    year: int
    price: Decimal  # asking price, in `currency`
    currency: str
    location_country: str
    first_registration: date | None
    mileage_km: int


@dataclass(frozen=True, slots=True)
class ModelValuation:
    """The valuation model's value of a vehicle and its 80 % interval."""

    version: int
    value: Decimal
    low: Decimal
    high: Decimal

    def relative_width(self) -> Decimal:
        return (self.high - self.low) / self.value if self.value > 0 else Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class MarketData:
    """Comparable listings of the vehicle, as the valuation query found them."""

    comparable_count: int
    market_value: Decimal | None  # mileage-adjusted median price; None without comparables
    reserved_count: int  # comparables reserved right now
    listed_count: int  # comparables on the market (available or reserved)
    model: ModelValuation | None = None  # None when no model serves


@dataclass(frozen=True, slots=True)
class MarketValue:
    """The value the quote compares the asking price with, and what it says of it."""

    value: Decimal | None  # None: too few comparables and no confident model
    note: str
    source: ValuationSource
    model_version: int | None = None  # the model's, when it gave the value


@dataclass(frozen=True, slots=True)
class PricedLine:
    kind: QuoteLineKind
    label: str
    amount: Decimal  # net of VAT
    vat_rate: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class PricedQuote:
    """The engine's result: explained lines and their exact sums."""

    vehicle_id: int
    destination_country: str
    rules_version: str
    currency: str
    vat_scheme: VatScheme
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    vat: Decimal
    total: Decimal
    market_position: MarketPosition
    comparable_count: int
    market_value: Decimal | None
    valuation_source: ValuationSource = ValuationSource.COMPARABLES
    valuation_model_version: int | None = None


def recorded_source(source: str | None, value: object) -> ValuationSource:
    """A stored valuation source; one stored before models existed was the comparables'."""
    if source is not None:
        return ValuationSource(source)
    return ValuationSource.NONE if value is None else ValuationSource.COMPARABLES


def check_destination(country: str, rules: RuleSet) -> str:
    """The destination as an upper-case alpha-2 code the rules deliver to, or refuse it."""
    code = normalise_country(country)
    if code not in rules.vat_rates:
        raise UnsupportedDestinationError(country)
    return code


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def vat_scheme(vehicle: VehicleFacts, as_of: date, rules: RuleSet) -> VatScheme:
    """NEW_VEHICLE for a new means of transport in the EU VAT sense, else MARGIN."""
    registered = vehicle.first_registration
    if (
        registered is None
        or vehicle.mileage_km <= rules.new_vehicle_max_km
        or as_of <= _add_months(registered, rules.new_vehicle_max_months)
    ):
        return VatScheme.NEW_VEHICLE
    return VatScheme.MARGIN


def market_value(market: MarketData, rules: RuleSet) -> MarketValue:
    """The model's value when it is confident, the comparables' otherwise (see above)."""
    model, count = market.model, market.comparable_count
    if model is not None:
        width = model.relative_width()
        if width <= rules.model_max_interval_share:
            note = (f"model v{model.version} values it at {_money(model.value, rules.currency)}"
                    f" (80 % interval {_money(model.low)}-{_money(model.high)})")  # fmt: skip
            return MarketValue(model.value, note, ValuationSource.MODEL, model.version)
        why = f"model v{model.version} unsure: interval {_percent(_rounded(width))} wide"
    else:
        why = "no model"
    value = market.market_value
    if count < rules.comparable_min_count or value is None or value <= 0:
        return MarketValue(
            None, f"{count} comparables, too few to value it ({why})", ValuationSource.NONE
        )
    note = f"{count} comparables value it at {_money(value, rules.currency)} ({why})"
    return MarketValue(value, note, ValuationSource.COMPARABLES)


def _rounded(rate: Decimal) -> Decimal:
    return rate.quantize(CENT, ROUND_HALF_UP)


def market_position(price: Decimal, market: MarketData, rules: RuleSet) -> MarketPosition:
    """How the asking price compares with the market value, or INSUFFICIENT_DATA."""
    value = market_value(market, rules).value
    if value is None or value <= 0:
        return MarketPosition.INSUFFICIENT_DATA
    if price < value * (1 - rules.fair_band):
        return MarketPosition.BELOW_MARKET
    if price > value * (1 + rules.fair_band):
        return MarketPosition.ABOVE_MARKET
    return MarketPosition.FAIR


def _money(amount: Decimal, currency: str = "") -> str:
    return f"{amount:,.2f} {currency}".rstrip()


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def _net_lines(
    vehicle: VehicleFacts,
    market: MarketData,
    destination: str,
    scheme: VatScheme,
    rate: Decimal,
    rules: RuleSet,
) -> list[tuple[QuoteLineKind, str, Decimal]]:
    currency, price, origin = rules.currency, to_cents(vehicle.price), vehicle.location_country
    name = f"{vehicle.year} {vehicle.make} {vehicle.model}"
    vehicle_label = (
        f"{name}: asking price; new vehicle, VAT of {destination} applies"
        if scheme is VatScheme.NEW_VEHICLE
        else f"{name}: asking price; used car under the margin scheme, no VAT shown"
    ) + f"; {market_value(market, rules).note}"
    if origin == destination:
        transport_label = f"Delivery within {origin}"
    else:
        km = road_distance_km(origin, destination)
        transport_label = f"Transport from {origin} to {destination}, about {km:,} km"
    fee = min(max(price * rules.broker_fee_rate, rules.broker_fee_floor), rules.broker_fee_ceiling)
    fee_label = (
        f"Broker fee: {_percent(rules.broker_fee_rate)} of the vehicle price, at least "
        f"{_money(rules.broker_fee_floor, currency)}, at most "
        f"{_money(rules.broker_fee_ceiling, currency)}"
    )
    above = market_position(vehicle.price, market, rules) is MarketPosition.ABOVE_MARKET
    demand_label = (
        "Demand adjustment: none, the asking price is above the market value "
        f"({market.reserved_count} of {market.listed_count} comparable listings reserved)"
        if above
        else f"Demand adjustment: +{_percent(rate)} of the vehicle price "
        f"({market.reserved_count} of {market.listed_count} comparable listings reserved; "
        f"at most {_percent(rules.demand_max_rate)})"
    )
    return [
        (QuoteLineKind.VEHICLE_PRICE, vehicle_label, price),
        (QuoteLineKind.TRANSPORT, transport_label, rules.transport[(origin, destination)]),
        (QuoteLineKind.BROKER_FEE, fee_label, fee),
        (
            QuoteLineKind.REGISTRATION_FEE,
            f"Registration fee in {destination} (administrative charges)",
            rules.registration_fees[destination],
        ),
        (QuoteLineKind.DEMAND_ADJUSTMENT, demand_label, Decimal(0) if above else price * rate),
    ]


def price_vehicle(
    vehicle: VehicleFacts,
    market: MarketData,
    destination_country: str,
    *,
    rules_version: str,
    as_of: date,
) -> PricedQuote:
    """Price `vehicle` delivered to `destination_country` under `rules_version`."""
    rules = rules_for(rules_version)
    destination = check_destination(destination_country, rules)
    if vehicle.currency != rules.currency:
        raise VehicleNotPriceableError(
            vehicle.vehicle_id, f"listed in {vehicle.currency}, quotes are in {rules.currency}"
        )
    if (vehicle.location_country, destination) not in rules.transport:
        raise VehicleNotPriceableError(
            vehicle.vehicle_id, f"no transport from {vehicle.location_country}"
        )
    if vehicle.price <= 0:
        raise VehicleNotPriceableError(vehicle.vehicle_id, "no asking price")
    scheme = vat_scheme(vehicle, as_of, rules)
    vat_rate = rules.vat_rates[destination]
    taxable = rules.taxable_lines[scheme]
    demand = demand_rate(market.reserved_count, market.listed_count, rules)
    lines = []
    for kind, label, net in _net_lines(vehicle, market, destination, scheme, demand, rules):
        amount = to_cents(net)
        rate = vat_rate if kind in taxable else Decimal(0)
        lines.append(PricedLine(kind, label[:200], amount, rate, to_cents(amount * rate)))
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    vat = sum((line.vat for line in lines), Decimal("0.00"))
    position = market_position(vehicle.price, market, rules)
    valuation = market_value(market, rules)
    value = valuation.value
    return PricedQuote(
        vehicle_id=vehicle.vehicle_id,
        destination_country=destination,
        rules_version=rules.version,
        currency=rules.currency,
        vat_scheme=scheme,
        lines=tuple(lines),
        subtotal=subtotal,
        vat=vat,
        total=subtotal + vat,
        market_position=position,
        comparable_count=market.comparable_count,
        market_value=None if value is None else to_cents(value),
        valuation_source=valuation.source,
        valuation_model_version=valuation.model_version,
    )
