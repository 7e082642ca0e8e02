"""Decimal arguments are bounded in the scalar: a huge, infinite or over-precise number
is BAD_USER_INPUT at validation, never an error further on."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from schema.scalars import parse_bounded_decimal

CATALOG_LITERAL = '{ vehicles(filter: {priceMin: "%s"}, first: 1) { totalCount } }'
CATALOG_VARIABLE = (
    "query Priced($min: Decimal) { vehicles(filter: {priceMin: $min}, first: 1) { totalCount } }"
)
HOSTILE = [
    "1e999999999",
    "-1e999999999",
    "9" * 5000,
    "0." + "1" * 5000,
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e16",
    "12345678901234567",
    "0.0000000000001",
    "1e-999999999",
    "twelve",
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_a_hostile_decimal_literal_is_bad_user_input(
    client: httpx.AsyncClient, text: str
) -> None:
    response = await client.post("/graphql", json={"query": CATALOG_LITERAL % text})
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "Decimal" in error["message"]


@pytest.mark.parametrize("value", [*HOSTILE, 1e300, 10**20])
async def test_a_hostile_decimal_variable_is_bad_user_input(
    client: httpx.AsyncClient, value: object
) -> None:
    response = await client.post(
        "/graphql", json={"query": CATALOG_VARIABLE, "variables": {"min": value}}
    )
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("Variable '$min' has invalid value")


async def test_a_decimal_within_the_bounds_still_filters(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CATALOG_VARIABLE, "variables": {"min": "9999999999999999.00"}},
    )
    assert response.json()["data"] == {"vehicles": {"totalCount": 0}}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("18990.00", Decimal("18990.00")),
        ("-0", Decimal("-0")),
        ("1.50000000000000000", Decimal("1.500000000000")),
        ("1e15", Decimal("1e15")),
        (" 42 ", Decimal(42)),
        (12.5, Decimal("12.5")),
    ],
)
def test_decimals_within_the_bounds_parse_exactly(text: object, parsed: Decimal) -> None:
    assert parse_bounded_decimal(text) == parsed
    assert str(parse_bounded_decimal(text)) == str(parsed)
