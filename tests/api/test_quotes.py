"""Quotes over GraphQL: requestQuote, quote(id:), node(id:), Vehicle.deliveredPrice, the
cache invalidation, bad input, and the SQL statements a priced catalog page costs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from core.db import start_counting
from core.redis import create_redis
from schema.ids import from_global_id, to_global_id
from services.pricing import invalidate_vehicle_quotes
from tests.conftest import Servers, graphql
from tests.pricing_data import InsertVehicle, pricing_vehicles, unique_model

QUOTE_FIELDS = """
    id destinationCountry rulesVersion vatScheme marketPosition comparableCount
    marketValue { amount currency }
    lines { kind label amount { amount currency } vatRate vat { amount currency } }
    subtotal { amount currency } vat { amount currency } total { amount currency }
    createdAt validUntil expired vehicle { id }
"""

REQUEST_QUOTE = f"""
mutation RequestQuote($input: RequestQuoteInput!) {{
  requestQuote(input: $input) {{
    quote {{ {QUOTE_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""

QUOTE_BY_ID = f"""
query Quote($id: ID!) {{
  quote(id: $id) {{ {QUOTE_FIELDS} }}
  node(id: $id) {{ ... on Quote {{ {QUOTE_FIELDS} }} }}
}}
"""

DELIVERED_PAGE = """
query DeliveredPage($first: Int!, $country: String!, $filter: VehicleFilterInput) {
  vehicles(first: $first, filter: $filter, orderBy: {field: PRICE, direction: ASC}) {
    totalCount
    edges { node {
      id status price { amount currency } dealer { id name }
      deliveredPrice(destinationCountry: $country) {
        destinationCountry subtotal { amount } vat { amount } total { amount currency }
        vatScheme marketPosition comparableCount marketValue { amount } rulesVersion
      }
    } }
  }
}
"""


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
async def insert(db_conn: asyncpg.Connection) -> AsyncIterator[InsertVehicle]:
    async with pricing_vehicles(db_conn) as insert:
        yield insert


async def _golf(insert: InsertVehicle, model: str | None = None) -> int:
    """A used car in DE at 20,000 EUR with five comparables at 21,000, one reserved."""
    model = model or unique_model()
    for status in ("AVAILABLE",) * 4 + ("RESERVED",):
        await insert(model=model, location_country="DE", price_minor=2_100_000, status=status)
    return await insert(model=model, location_country="DE", price_minor=2_000_000)


async def _request(client: httpx.AsyncClient, vehicle_id: str, country: str) -> dict[str, Any]:
    body = await graphql(
        client,
        REQUEST_QUOTE,
        {"input": {"vehicleId": vehicle_id, "destinationCountry": country}},
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["requestQuote"]
    return payload


async def test_request_quote_returns_a_persisted_explained_quote(
    client: httpx.AsyncClient, insert: InsertVehicle
) -> None:
    model = unique_model()
    vehicle_id = to_global_id("Vehicle", await _golf(insert, model))
    payload = await _request(client, vehicle_id, "fr")

    quote = payload["quote"]
    created, valid_until = (
        datetime.fromisoformat(quote.pop(k)) for k in ("createdAt", "validUntil")
    )
    assert valid_until - created == timedelta(minutes=30)
    assert quote.pop("id").startswith("UXVvdGU6")  # base64 of "Quote:"
    assert payload == {
        "quote": {
            "destinationCountry": "FR",
            "rulesVersion": "2026-11",
            "vatScheme": "MARGIN",
            "marketPosition": "FAIR",
            "comparableCount": 5,
            "marketValue": _eur("21000.00"),
            "lines": [
                {
                    "kind": "VEHICLE_PRICE",
                    "label": f"2020 Pricingtest {model}: asking price; used car under the "
                    "margin scheme, no VAT shown; 5 comparables value it at 21,000.00 EUR "
                    "(no model)",
                    "amount": _eur("20000.00"),
                    "vatRate": "0",
                    "vat": _eur("0.00"),
                },
                {
                    "kind": "TRANSPORT",
                    "label": "Transport from DE to FR, about 1,009 km",
                    "amount": _eur("850.00"),
                    "vatRate": "0.2",
                    "vat": _eur("170.00"),
                },
                {
                    "kind": "BROKER_FEE",
                    "label": "Broker fee: 2.5 % of the vehicle price, at least 290.00 EUR, "
                    "at most 1,490.00 EUR",
                    "amount": _eur("500.00"),
                    "vatRate": "0.2",
                    "vat": _eur("100.00"),
                },
                {
                    "kind": "REGISTRATION_FEE",
                    "label": "Registration fee in FR (administrative charges)",
                    "amount": _eur("300.00"),
                    "vatRate": "0.2",
                    "vat": _eur("60.00"),
                },
                {
                    "kind": "DEMAND_ADJUSTMENT",
                    "label": "Demand adjustment: +1.67 % of the vehicle price "
                    "(1 of 5 comparable listings reserved; at most 3 %)",
                    "amount": _eur("334.00"),  # 1 / (5 + 10) x 0.25 = 1.67 %
                    "vatRate": "0.2",
                    "vat": _eur("66.80"),
                },
            ],
            "subtotal": _eur("21984.00"),
            "vat": _eur("396.80"),
            "total": _eur("22380.80"),
            "expired": False,
            "vehicle": {"id": vehicle_id},
        },
        "userErrors": [],
    }


async def test_a_quote_is_read_back_by_quote_and_node(
    client: httpx.AsyncClient, insert: InsertVehicle
) -> None:
    quote = (await _request(client, to_global_id("Vehicle", await _golf(insert)), "DE"))["quote"]
    body = await graphql(client, QUOTE_BY_ID, {"id": quote["id"]})
    assert body == {"data": {"quote": quote, "node": quote}}


async def test_a_price_change_shows_in_the_next_quote_at_once(
    client: httpx.AsyncClient,
    insert: InsertVehicle,
    db_conn: asyncpg.Connection,
    servers: Servers,
) -> None:
    vehicle = await _golf(insert)
    vehicle_id = to_global_id("Vehicle", vehicle)
    first = (await _request(client, vehicle_id, "FR"))["quote"]
    # What updateVehicle does: change the price, commit, invalidate the vehicle's quotes.
    await db_conn.execute("UPDATE vehicle SET price_minor = $2 WHERE id = $1", vehicle, 1_850_000)
    redis = create_redis(servers.redis_url)
    try:
        await invalidate_vehicle_quotes(redis, vehicle)
    finally:
        await redis.aclose()
    second = (await _request(client, vehicle_id, "FR"))["quote"]
    assert first["lines"][0]["amount"] == _eur("20000.00")
    assert second["lines"][0]["amount"] == _eur("18500.00")
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    ("country", "message"),
    [
        ("CH", "'CH' is not a destination we deliver to"),
        ("Germany", "'Germany' is not a destination we deliver to"),
        ("", "'' is not a destination we deliver to"),
    ],
)
async def test_a_destination_outside_the_eu_is_a_user_error(
    client: httpx.AsyncClient, insert: InsertVehicle, country: str, message: str
) -> None:
    vehicle_id = to_global_id("Vehicle", await insert(model=unique_model()))
    payload = await _request(client, vehicle_id, country)
    assert payload == {
        "quote": None,
        "userErrors": [
            {
                "field": ["input", "destinationCountry"],
                "code": "UNSUPPORTED_DESTINATION",
                "message": f"{message}: an EU member state's ISO 3166-1 alpha-2 code is expected",
            }
        ],
    }


@pytest.mark.parametrize("status", ["SOLD", "WITHDRAWN"])
async def test_a_sold_or_withdrawn_vehicle_is_a_user_error(
    client: httpx.AsyncClient, insert: InsertVehicle, status: str
) -> None:
    vehicle_id = to_global_id("Vehicle", await insert(model=unique_model(), status=status))
    assert await _request(client, vehicle_id, "FR") == {
        "quote": None,
        "userErrors": [
            {
                "field": ["input", "vehicleId"],
                "code": "VEHICLE_UNAVAILABLE",
                "message": f"the vehicle is {status.lower()} and cannot be quoted",
            }
        ],
    }


async def test_an_unknown_vehicle_is_a_user_error(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    missing = await db_conn.fetchval("SELECT max(id) + 1000 FROM vehicle")
    assert await _request(client, to_global_id("Vehicle", missing), "FR") == {
        "quote": None,
        "userErrors": [
            {
                "field": ["input", "vehicleId"],
                "code": "VEHICLE_NOT_FOUND",
                "message": "no vehicle with this id",
            }
        ],
    }


@pytest.mark.parametrize(
    ("vehicle_id", "message"),
    [
        (
            to_global_id("Dealer", 1),
            "vehicleId: expected the ID of a Vehicle, got the ID of a Dealer",
        ),
        ("not-an-id", "vehicleId: not a valid global ID"),
    ],
)
async def test_a_foreign_or_malformed_vehicle_id_is_bad_user_input(
    client: httpx.AsyncClient, vehicle_id: str, message: str
) -> None:
    body = await graphql(
        client, REQUEST_QUOTE, {"input": {"vehicleId": vehicle_id, "destinationCountry": "FR"}}
    )
    assert body == {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 3, "column": 3}],
                "path": ["requestQuote"],
                "extensions": {"code": "BAD_USER_INPUT", "field": "vehicleId"},
            }
        ],
    }


async def test_quote_lookups_name_what_is_wrong(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    unused = await db_conn.fetchval(
        "SELECT min(x) FROM generate_series(1, 100) x WHERE x NOT IN (SELECT id FROM quote)"
    )
    missing = to_global_id("Quote", unused)
    body = await graphql(client, "query($id: ID!) { quote(id: $id) { id } }", {"id": missing})
    assert body["data"] == {"quote": None}
    assert [error["extensions"] for error in body["errors"]] == [
        {"code": "NOT_FOUND", "field": "id"}
    ]
    body = await graphql(
        client, "query($id: ID!) { quote(id: $id) { id } }", {"id": to_global_id("Vehicle", 1)}
    )
    assert [error["extensions"] for error in body["errors"]] == [
        {"code": "BAD_USER_INPUT", "field": "id"}
    ]
    body = await graphql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": missing})
    assert body == {"data": {"node": None}}


async def test_a_catalog_page_shows_delivered_prices_that_match_quotes(
    client: httpx.AsyncClient, insert: InsertVehicle
) -> None:
    model = unique_model()
    vehicle = await _golf(insert, model)
    sold = await insert(model=model, location_country="DE", status="SOLD")
    body = await graphql(
        client, DELIVERED_PAGE, {"first": 10, "country": "fr", "filter": {"model": model}}
    )
    assert "errors" not in body, body
    prices = {
        edge["node"]["id"]: edge["node"]["deliveredPrice"]
        for edge in body["data"]["vehicles"]["edges"]
    }
    assert len(prices) == 7
    assert prices[to_global_id("Vehicle", sold)] is None
    assert prices[to_global_id("Vehicle", vehicle)] == {
        "destinationCountry": "FR",
        "subtotal": {"amount": "21984.00"},
        "vat": {"amount": "396.80"},
        "total": _eur("22380.80"),
        "vatScheme": "MARGIN",
        "marketPosition": "FAIR",
        # the sold car is a comparable too: the page was valued with it
        "comparableCount": 6,
        "marketValue": {"amount": "21000.00"},
        "rulesVersion": "2026-11",
    }
    quote = (await _request(client, to_global_id("Vehicle", vehicle), "FR"))["quote"]
    assert quote["total"] == prices[to_global_id("Vehicle", vehicle)]["total"]


async def test_a_delivered_price_to_nowhere_is_bad_user_input(client: httpx.AsyncClient) -> None:
    body = await graphql(client, DELIVERED_PAGE, {"first": 2, "country": "XX"})
    assert body["data"]["vehicles"]["totalCount"] > 2
    assert [edge["node"]["deliveredPrice"] for edge in body["data"]["vehicles"]["edges"]] == [
        None,
        None,
    ]
    assert [(error["path"][-1], error["extensions"]) for error in body["errors"]] == [
        ("deliveredPrice", {"code": "BAD_USER_INPUT", "field": "destinationCountry"}),
    ] * 2


@pytest.mark.parametrize("page_size", [50, 100])
async def test_a_priced_catalog_page_costs_three_statements(
    client: httpx.AsyncClient, page_size: int
) -> None:
    counter = start_counting(keep_text=True)
    no_store = {"cache-control": "no-store"}  # computed, not served by the response cache
    body = await graphql(client, DELIVERED_PAGE, {"first": page_size, "country": "IT"}, **no_store)
    assert "errors" not in body, body
    edges = body["data"]["vehicles"]["edges"]
    assert len(edges) == page_size
    priced = [edge for edge in edges if edge["node"]["deliveredPrice"] is not None]
    assert len(priced) == sum(edge["node"]["status"] in ("AVAILABLE", "RESERVED") for edge in edges)
    # the page with its dealers joined, its total count, every price of the page
    assert counter.count == 3, counter.statements


REQUEST = """
mutation($input: RequestQuoteInput!) { requestQuote(input: $input) { quote { id } } }
"""


async def test_quote_ids_are_random_not_a_sequence(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    vehicle = await db_conn.fetchval(
        "SELECT id FROM vehicle WHERE status = 'AVAILABLE' AND location_country = 'DE' LIMIT 1"
    )
    given = {"input": {"vehicleId": to_global_id("Vehicle", vehicle), "destinationCountry": "FR"}}
    ids = []
    for _ in range(8):
        body = await graphql(client, REQUEST, given)
        type_name, key = from_global_id(body["data"]["requestQuote"]["quote"]["id"])
        assert type_name == "Quote"
        ids.append(int(key))
    assert len(set(ids)) == len(ids)
    # Eight ids drawn from 63 random bits: none near another, most of them huge.
    gaps = [abs(a - b) for a in ids for b in ids if a != b]
    assert min(gaps) > 1000
    assert sum(quote_id > 2**40 for quote_id in ids) >= 6
    for quote_id in ids:  # each readable by its id alone
        body = await graphql(
            client, "query($id: ID!) { quote(id: $id) { id } }",
            {"id": to_global_id("Quote", quote_id)},
        )  # fmt: skip
        assert body["data"]["quote"]["id"] == to_global_id("Quote", quote_id)
