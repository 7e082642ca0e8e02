"""The rules a dealer's listing is held to (pure: no database)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.vehicles.listing import listing_problems, normalised

TODAY = date(2026, 6, 15)
VALID: dict[str, Any] = {
    "vin": "WVWZZZ1KZAW000001", "make": "Volkswagen", "model": "Golf", "trim": None,
    "year": 2020, "first_registration": date(2020, 3, 1), "mileage_km": 50_000,
    "colour": "Black", "power_kw": 110, "co2_g_km": 120, "location_country": "DE",
    "location_city": "Köln", "price_minor": 1_990_000,
}  # fmt: skip


def test_a_valid_listing_has_no_problem() -> None:
    assert listing_problems(VALID, today=TODAY) == []
    assert listing_problems({}, today=TODAY) == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("vin", "WVWZZZ1KZAW00000I", "VIN_INVALID"),
        ("vin", "WVWZZZ1KZAW0001", "VIN_INVALID"),
        ("make", "", "TEXT_LENGTH"),
        ("model", "x" * 61, "TEXT_LENGTH"),
        ("year", 1949, "YEAR_OUT_OF_RANGE"),
        ("year", 2028, "YEAR_OUT_OF_RANGE"),
        ("first_registration", date(2026, 6, 16), "DATE_OUT_OF_RANGE"),
        ("mileage_km", -1, "OUT_OF_RANGE"),
        ("power_kw", 0, "OUT_OF_RANGE"),
        ("co2_g_km", 1001, "OUT_OF_RANGE"),
        ("price_minor", 0, "OUT_OF_RANGE"),
        ("price_minor", 10_000_000_01, "OUT_OF_RANGE"),
        ("location_country", "CH", "COUNTRY_UNSUPPORTED"),
        ("location_country", "de", "COUNTRY_UNSUPPORTED"),
    ],
)
def test_each_rule_names_its_field(field: str, value: Any, code: str) -> None:
    problems = listing_problems({**VALID, field: value}, today=TODAY)
    assert [(p.field, p.code) for p in problems] == [(field, code)]


def test_next_model_year_is_allowed() -> None:
    assert listing_problems({"year": 2027}, today=TODAY) == []


def test_values_are_normalised_before_the_rules() -> None:
    clean = normalised({"vin": " wvwzzz1k-zaw000001 ", "location_country": "fr", "trim": "  "})
    assert clean == {"vin": "WVWZZZ1KZAW000001", "location_country": "FR", "trim": None}
