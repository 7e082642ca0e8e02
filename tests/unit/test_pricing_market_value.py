"""Which valuation a quote uses: the model's when it is confident, the comparables'
otherwise; the vehicle line says which and why; no demand surcharge above the market."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from models.quote import MarketPosition, QuoteLineKind, ValuationSource
from services.pricing.engine import MarketData, ModelValuation, PricedQuote, price_vehicle
from services.pricing.rules import RULES_VERSION
from tests.unit.test_pricing_engine import GOLF, MARKET, TODAY

NAME = "2020 Volkswagen Golf: asking price; used car under the margin scheme, no VAT shown"


def _quote(market: MarketData) -> PricedQuote:
    return price_vehicle(GOLF, market, "FR", rules_version=RULES_VERSION, as_of=TODAY)


def _model(value: str, low: str, high: str) -> ModelValuation:
    return ModelValuation(7, Decimal(value), Decimal(low), Decimal(high))


def _label(quote: PricedQuote, kind: QuoteLineKind) -> str:
    [line] = [line for line in quote.lines if line.kind is kind]
    return line.label


def test_a_confident_model_values_the_vehicle() -> None:
    # Interval 2,000 wide on 19,500: 10.3 %, within the rules' 20 %.
    quote = _quote(replace(MARKET, model=_model("19500.00", "18500.00", "20500.00")))
    assert quote.market_value == Decimal("19500.00")
    assert quote.market_position is MarketPosition.FAIR  # 20,000 is within 5 % of 19,500
    assert (quote.valuation_source, quote.valuation_model_version) == (ValuationSource.MODEL, 7)
    assert _label(quote, QuoteLineKind.VEHICLE_PRICE) == (
        f"{NAME}; model v7 values it at 19,500.00 EUR (80 % interval 18,500.00-20,500.00)"
    )


def test_a_model_unsure_of_the_vehicle_leaves_it_to_the_comparables() -> None:
    # Interval 6,000 wide on 19,000: 32 %, wider than 20 %.
    quote = _quote(replace(MARKET, model=_model("19000.00", "16000.00", "22000.00")))
    assert quote.market_value == Decimal("21000.00")
    assert (quote.valuation_source, quote.valuation_model_version) == (
        ValuationSource.COMPARABLES, None
    )  # fmt: skip
    assert _label(quote, QuoteLineKind.VEHICLE_PRICE) == (
        f"{NAME}; 12 comparables value it at 21,000.00 EUR (model v7 unsure: interval 32 % wide)"
    )


def test_a_confident_model_values_a_vehicle_with_too_few_comparables() -> None:
    market = MarketData(2, Decimal("30000.00"), 0, 2, _model("21000.00", "20000.00", "22000.00"))
    quote = _quote(market)
    assert (quote.market_position, quote.market_value) == (MarketPosition.FAIR, Decimal("21000.00"))
    assert quote.comparable_count == 2


@pytest.mark.parametrize(
    ("model", "reason"),
    [(None, "no model"),
     (_model("19000.00", "10000.00", "25000.00"), "model v7 unsure: interval 79 % wide")],
)  # fmt: skip
def test_without_a_confident_model_few_comparables_are_insufficient_data(
    model: ModelValuation | None, reason: str
) -> None:
    quote = _quote(MarketData(3, Decimal("21000.00"), 0, 3, model))
    assert (quote.market_position, quote.market_value) == (MarketPosition.INSUFFICIENT_DATA, None)
    assert quote.valuation_source is ValuationSource.NONE
    assert _label(quote, QuoteLineKind.VEHICLE_PRICE) == (
        f"{NAME}; 3 comparables, too few to value it ({reason})"
    )


def test_no_demand_surcharge_on_an_asking_price_above_the_market() -> None:
    reserved = replace(MARKET, reserved_count=6)
    fair = _quote(reserved)
    above = _quote(replace(reserved, model=_model("17000.00", "16500.00", "17500.00")))
    assert fair.market_position is MarketPosition.FAIR
    [fair_demand] = [line for line in fair.lines if line.kind is QuoteLineKind.DEMAND_ADJUSTMENT]
    assert fair_demand.amount == Decimal("600.00")  # 6 / (12 + 10) x 0.25, capped at 3 %
    assert above.market_position is MarketPosition.ABOVE_MARKET
    [demand] = [line for line in above.lines if line.kind is QuoteLineKind.DEMAND_ADJUSTMENT]
    assert (demand.amount, demand.vat) == (Decimal("0.00"), Decimal("0.00"))
    assert demand.label == (
        "Demand adjustment: none, the asking price is above the market value "
        "(6 of 12 comparable listings reserved)"
    )
    assert above.total == fair.total - fair_demand.amount - fair_demand.vat
