"""The pricing engine, without a database: worked examples and hypothesis properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.quote import MarketPosition, QuoteLineKind, VatScheme
from services.pricing.demand import demand_rate
from services.pricing.engine import (
    MarketData,
    PricedLine,
    PricedQuote,
    VehicleFacts,
    price_vehicle,
    to_cents,
    vat_scheme,
)
from services.pricing.errors import (
    UnknownRulesVersionError,
    UnsupportedDestinationError,
    VehicleNotPriceableError,
)
from services.pricing.rules import (
    EU_COUNTRIES,
    REGISTRATION_FEES,
    RULES_VERSION,
    TRANSPORT_TABLE,
    current_rules,
    rules_for,
)

TODAY = date(2026, 11, 20)
RULES = current_rules()
GOLF = VehicleFacts(
    vehicle_id=1,
    make="Volkswagen",
    model="Golf",
    year=2020,
    price=Decimal("20000.00"),
    currency="EUR",
    location_country="DE",
    first_registration=date(2020, 3, 1),
    mileage_km=60_000,
)
MARKET = MarketData(
    comparable_count=12, market_value=Decimal("21000.00"), reserved_count=1, listed_count=12
)


def _quote(
    vehicle: VehicleFacts = GOLF, market: MarketData = MARKET, destination: str = "FR"
) -> PricedQuote:
    return price_vehicle(vehicle, market, destination, rules_version=RULES_VERSION, as_of=TODAY)


def _fields(vehicle: VehicleFacts) -> dict[str, object]:
    return {name: getattr(vehicle, name) for name in vehicle.__dataclass_fields__}


def _vehicle(**changes: object) -> VehicleFacts:
    return VehicleFacts(**{**_fields(GOLF), **changes})  # type: ignore[arg-type]


def _line(quote: PricedQuote, kind: QuoteLineKind) -> PricedLine:
    [line] = [line for line in quote.lines if line.kind is kind]
    return line


def test_a_used_car_to_another_country_is_priced_line_by_line() -> None:
    assert _quote() == PricedQuote(
        vehicle_id=1,
        destination_country="FR",
        rules_version="2026-11",
        currency="EUR",
        vat_scheme=VatScheme.MARGIN,
        lines=(
            PricedLine(
                QuoteLineKind.VEHICLE_PRICE,
                "2020 Volkswagen Golf: asking price; used car under the margin scheme, "
                "no VAT shown; 12 comparables value it at 21,000.00 EUR (no model)",
                Decimal("20000.00"),
                Decimal(0),
                Decimal("0.00"),
            ),
            PricedLine(
                QuoteLineKind.TRANSPORT,
                "Transport from DE to FR, about 1,009 km",
                Decimal("850.00"),  # 300 + 0.55 x 1,009 km, to the nearest 10
                Decimal("0.20"),
                Decimal("170.00"),
            ),
            PricedLine(
                QuoteLineKind.BROKER_FEE,
                "Broker fee: 2.5 % of the vehicle price, at least 290.00 EUR, at most 1,490.00 EUR",
                Decimal("500.00"),
                Decimal("0.20"),
                Decimal("100.00"),
            ),
            PricedLine(
                QuoteLineKind.REGISTRATION_FEE,
                "Registration fee in FR (administrative charges)",
                Decimal("300.00"),
                Decimal("0.20"),
                Decimal("60.00"),
            ),
            PricedLine(
                QuoteLineKind.DEMAND_ADJUSTMENT,
                "Demand adjustment: +1.14 % of the vehicle price "
                "(1 of 12 comparable listings reserved; at most 3 %)",
                Decimal("228.00"),  # 1 / (12 + 10) x 0.25 = 1.14 %
                Decimal("0.20"),
                Decimal("45.60"),
            ),
        ),
        subtotal=Decimal("21878.00"),
        vat=Decimal("375.60"),
        total=Decimal("22253.60"),
        market_position=MarketPosition.FAIR,  # 20,000 is within 5 % of 21,000
        comparable_count=12,
        market_value=Decimal("21000.00"),
    )


def test_a_new_car_pays_the_destination_vat_on_every_line() -> None:
    quote = _quote(_vehicle(first_registration=None, mileage_km=20), destination="DE")
    assert quote.vat_scheme is VatScheme.NEW_VEHICLE
    assert [(line.kind, line.vat_rate) for line in quote.lines] == [
        (kind, Decimal("0.19")) for kind in QuoteLineKind
    ]
    assert _line(quote, QuoteLineKind.VEHICLE_PRICE).vat == Decimal("3800.00")
    assert _line(quote, QuoteLineKind.TRANSPORT).label == "Delivery within DE"
    assert _line(quote, QuoteLineKind.TRANSPORT).amount == Decimal("250.00")


@pytest.mark.parametrize(
    ("first_registration", "mileage_km", "expected"),
    [
        (None, 80_000, VatScheme.NEW_VEHICLE),  # never registered
        (date(2020, 3, 1), 6_000, VatScheme.NEW_VEHICLE),  # at most 6,000 km
        (date(2020, 3, 1), 6_001, VatScheme.MARGIN),
        (date(2026, 5, 20), 9_000, VatScheme.NEW_VEHICLE),  # exactly 6 months ago
        (date(2026, 5, 19), 9_000, VatScheme.MARGIN),  # a day more
        (date(2026, 5, 31), 9_000, VatScheme.NEW_VEHICLE),  # 31 May + 6 months = 30 Nov
    ],
)
def test_new_means_of_transport_follows_the_eu_vat_definition(
    first_registration: date | None, mileage_km: int, expected: VatScheme
) -> None:
    vehicle = _vehicle(first_registration=first_registration, mileage_km=mileage_km)
    assert vat_scheme(vehicle, TODAY, RULES) is expected


@pytest.mark.parametrize(
    ("price", "fee"),
    [("5000.00", "290.00"), ("20000.00", "500.00"), ("100000.00", "1490.00")],
)
def test_the_broker_fee_is_a_percentage_between_a_floor_and_a_ceiling(price: str, fee: str) -> None:
    quote = _quote(_vehicle(price=Decimal(price)))
    assert _line(quote, QuoteLineKind.BROKER_FEE).amount == Decimal(fee)


@pytest.mark.parametrize(
    ("market_value", "count", "position"),
    [
        ("21000.00", 12, MarketPosition.FAIR),
        ("21060.00", 12, MarketPosition.BELOW_MARKET),  # 20,000 < 21,060 x 0.95 = 20,007
        ("19040.00", 12, MarketPosition.ABOVE_MARKET),  # 20,000 > 19,040 x 1.05 = 19,992
        ("21000.00", 4, MarketPosition.INSUFFICIENT_DATA),  # fewer than 5 comparables
    ],
)
def test_the_asking_price_is_placed_against_the_market(
    market_value: str, count: int, position: MarketPosition
) -> None:
    market = MarketData(count, Decimal(market_value), reserved_count=0, listed_count=count)
    quote = _quote(market=market)
    assert quote.market_position is position
    assert quote.comparable_count == count
    expected_value = None if position is MarketPosition.INSUFFICIENT_DATA else Decimal(market_value)
    assert quote.market_value == expected_value


def test_without_comparables_the_quote_says_so() -> None:
    quote = _quote(market=MarketData(0, None, 0, 0))
    assert (quote.market_position, quote.market_value) == (MarketPosition.INSUFFICIENT_DATA, None)
    assert _line(quote, QuoteLineKind.DEMAND_ADJUSTMENT).amount == Decimal("0.00")


@pytest.mark.parametrize("destination", ["CH", "GB", "XX", "", "Germany", "D E"])
def test_a_destination_outside_the_eu_is_refused(destination: str) -> None:
    with pytest.raises(UnsupportedDestinationError) as raised:
        _quote(destination=destination)
    assert raised.value.argument == "destinationCountry"


def test_a_destination_is_read_without_regard_to_case_or_spaces() -> None:
    assert _quote(destination=" fr ").destination_country == "FR"


@pytest.mark.parametrize(
    "changes", [{"currency": "SEK"}, {"location_country": "CH"}, {"price": Decimal(0)}]
)
def test_a_vehicle_outside_the_rules_is_not_priced(changes: dict[str, object]) -> None:
    with pytest.raises(VehicleNotPriceableError):
        _quote(_vehicle(**changes))


def test_an_unknown_rules_version_is_a_programming_error() -> None:
    with pytest.raises(UnknownRulesVersionError):
        rules_for("1999-01")


def test_the_rules_cover_the_27_member_states_in_every_table() -> None:
    assert len(EU_COUNTRIES) == 27
    assert set(REGISTRATION_FEES) == EU_COUNTRIES
    assert set(TRANSPORT_TABLE) == {(a, b) for a in EU_COUNTRIES for b in EU_COUNTRIES}
    assert all(TRANSPORT_TABLE[(a, b)] == TRANSPORT_TABLE[(b, a)] for a, b in TRANSPORT_TABLE)
    assert all(Decimal(0) < rate < 1 for rate in RULES.vat_rates.values())


@pytest.mark.parametrize(
    ("reserved", "listed", "rate"),
    [(0, 40, "0"), (1, 12, "0.0114"), (6, 10, "0.03"), (500, 500, "0.03"), (2, 30, "0.0125")],
)
def test_demand_grows_with_reservations_up_to_its_bound(
    reserved: int, listed: int, rate: str
) -> None:
    assert demand_rate(reserved, listed, RULES) == Decimal(rate)


# --- properties -------------------------------------------------------------------

cents = st.integers(min_value=1, max_value=1_000_000_00).map(lambda c: Decimal(c).scaleb(-2))
countries = st.sampled_from(sorted(EU_COUNTRIES))


@st.composite
def vehicles(draw: st.DrawFn) -> VehicleFacts:
    return VehicleFacts(
        vehicle_id=draw(st.integers(min_value=1, max_value=2**62)),
        make="Make",
        model="Model",
        year=draw(st.integers(min_value=1990, max_value=2027)),
        price=draw(cents),
        currency="EUR",
        location_country=draw(countries),
        first_registration=draw(st.none() | st.dates(min_value=date(1990, 1, 1), max_value=TODAY)),
        mileage_km=draw(st.integers(min_value=0, max_value=1_000_000)),
    )


@st.composite
def markets(draw: st.DrawFn) -> MarketData:
    count = draw(st.integers(min_value=0, max_value=500))
    listed = draw(st.integers(min_value=0, max_value=count))
    return MarketData(
        comparable_count=count,
        market_value=draw(st.none() | cents) if count else None,
        reserved_count=draw(st.integers(min_value=0, max_value=listed)),
        listed_count=listed,
    )


@given(vehicles(), markets(), countries)
def test_the_total_is_the_sum_of_the_lines(
    vehicle: VehicleFacts, market: MarketData, destination: str
) -> None:
    quote = _quote(vehicle, market, destination)
    assert quote.subtotal == sum(line.amount for line in quote.lines)
    assert quote.vat == sum(line.vat for line in quote.lines)
    assert quote.total == quote.subtotal + quote.vat
    assert quote.total == sum(line.amount + line.vat for line in quote.lines)


@given(vehicles(), markets(), countries)
def test_no_amount_is_negative_and_every_amount_is_in_cents(
    vehicle: VehicleFacts, market: MarketData, destination: str
) -> None:
    quote = _quote(vehicle, market, destination)
    amounts = [quote.subtotal, quote.vat, quote.total]
    amounts += [value for line in quote.lines for value in (line.amount, line.vat)]
    assert all(amount >= 0 for amount in amounts)
    assert all(amount.as_tuple().exponent == -2 for amount in amounts)


@given(vehicles(), markets(), countries)
def test_rounding_is_once_per_line_and_repeatable(
    vehicle: VehicleFacts, market: MarketData, destination: str
) -> None:
    quote = _quote(vehicle, market, destination)
    for line in quote.lines:
        assert line.vat == to_cents(line.amount * line.vat_rate)
        assert abs(line.vat - line.amount * line.vat_rate) <= Decimal("0.005")
    assert _quote(vehicle, market, destination) == quote


@given(vehicles(), markets(), countries)
def test_the_margin_scheme_puts_no_vat_on_the_vehicle_line(
    vehicle: VehicleFacts, market: MarketData, destination: str
) -> None:
    quote = _quote(vehicle, market, destination)
    vehicle_line = _line(quote, QuoteLineKind.VEHICLE_PRICE)
    if quote.vat_scheme is VatScheme.MARGIN:
        assert (vehicle_line.vat_rate, vehicle_line.vat) == (Decimal(0), Decimal(0))
        assert vehicle.first_registration is not None
        assert vehicle.mileage_km > RULES.new_vehicle_max_km
        assert vehicle.first_registration < TODAY - timedelta(days=180)
    else:
        assert vehicle_line.vat_rate == RULES.vat_rates[destination]


@given(vehicles(), markets(), countries)
def test_the_demand_adjustment_and_the_fee_stay_within_their_bounds(
    vehicle: VehicleFacts, market: MarketData, destination: str
) -> None:
    quote = _quote(vehicle, market, destination)
    demand = _line(quote, QuoteLineKind.DEMAND_ADJUSTMENT).amount
    assert Decimal(0) <= demand <= to_cents(vehicle.price * RULES.demand_max_rate)
    fee = _line(quote, QuoteLineKind.BROKER_FEE).amount
    assert RULES.broker_fee_floor <= fee <= RULES.broker_fee_ceiling


@given(st.integers(min_value=-10, max_value=10**9), st.integers(min_value=-10, max_value=10**9))
def test_the_demand_rate_is_bounded_whatever_its_inputs(reserved: int, listed: int) -> None:
    assert Decimal(0) <= demand_rate(reserved, listed, RULES) <= RULES.demand_max_rate
