"""Money and country rules, each in one module: minor units <-> Decimal with the
currency's exponent, and what a country code is."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest

from models.vehicle import CurrencyCode
from services import countries, money
from services.pricing.rules import VAT_STANDARD_RATES


def test_every_currency_has_two_minor_digits() -> None:
    assert {money.minor_digits(c) for c in CurrencyCode} == {2}
    assert money.minor_unit("HUF") == Decimal("0.01")


@pytest.mark.parametrize(
    ("amount", "minor"),
    [(Decimal("18990.00"), 1899000), (Decimal("0.01"), 1), (Decimal("-3.5"), -350),
     (Decimal("12"), 1200), (Decimal("1E+2"), 10000)],
)  # fmt: skip
def test_amounts_become_exact_minor_units_and_back(amount: Decimal, minor: int) -> None:
    assert money.to_minor(amount, "EUR") == minor
    assert money.from_minor(minor, "EUR") == amount
    assert money.from_minor(minor) == Decimal(minor) / 100


@pytest.mark.parametrize("amount", [Decimal("0.001"), Decimal("NaN"), Decimal("Infinity")])
def test_an_amount_that_does_not_fit_is_refused(amount: Decimal) -> None:
    with pytest.raises(money.InexactAmountError) as refused:
        money.to_minor(amount)
    assert refused.value.finite is amount.is_finite()


def test_a_rounding_mode_cuts_to_the_minor_unit() -> None:
    assert money.to_minor(Decimal("10.019"), rounding=ROUND_DOWN) == 1001
    assert money.to_minor(Decimal("-10.019"), rounding=ROUND_DOWN) == -1001


def test_a_median_of_minor_units_may_have_a_fraction() -> None:
    assert money.from_minor(Decimal("150.5")) == Decimal("1.505")


def test_country_codes() -> None:
    assert countries.normalise_country(" fr ") == "FR"
    assert [countries.is_alpha2(c) for c in ("FR", "fr", "F", "FRA", "F1", "ÄÖ")] == [
        True, True, False, False, False, False
    ]  # fmt: skip
    assert countries.is_eu_member("DE")
    assert not countries.is_eu_member("CH")
    assert not countries.is_eu_member("de")  # as stored: upper-case


def test_the_vat_table_covers_exactly_the_member_states() -> None:
    assert len(countries.EU_MEMBER_STATES) == 27
    assert frozenset(VAT_STANDARD_RATES) == countries.EU_MEMBER_STATES
