"""The catalog over GraphQL: filters, sorts, cursor pagination, lookups, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import graphql

CATALOG = """
query Catalog($filter: VehicleFilterInput, $orderBy: VehicleOrderBy, $first: Int,
              $after: String, $last: Int, $before: String) {
  vehicles(filter: $filter, orderBy: $orderBy, first: $first, after: $after,
           last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id vin make model year mileageKm fuel status
                          price { amount currency } location { country city } } }
  }
}
"""


async def _catalog(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, CATALOG, variables)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["vehicles"]
    return connection


async def test_filtered_sorted_page_matches_the_database(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    expected = await db_conn.fetch(
        """SELECT vin, price_minor FROM vehicle
           WHERE fuel IN ('DIESEL', 'PETROL') AND year BETWEEN 2016 AND 2022
             AND price_minor <= 3000000
           ORDER BY price_minor ASC, id ASC"""
    )
    assert len(expected) > 25, "the seed should give this filter enough rows"
    connection = await _catalog(
        client,
        filter={
            "fuel": ["DIESEL", "PETROL"],
            "yearMin": 2016,
            "yearMax": 2022,
            "priceMax": "30000",
        },
        orderBy={"field": "PRICE", "direction": "ASC"},
        first=25,
    )
    assert connection["totalCount"] == len(expected)
    got = [edge["node"]["vin"] for edge in connection["edges"]]
    assert got == [row["vin"] for row in expected[:25]]
    first_price = connection["edges"][0]["node"]["price"]
    assert first_price == {
        "amount": str(Decimal(expected[0]["price_minor"]).scaleb(-2)),
        "currency": "EUR",
    }
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is False


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("PRICE", "price_minor"),
        ("YEAR", "year"),
        ("MILEAGE", "mileage_km"),
        ("NEWEST", "created_at"),
    ],
)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_walking_every_page_forwards_and_back_sees_each_vehicle_once(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection, field: str, column: str, direction: str
) -> None:
    flt = {"country": ["DE", "FR", "IT"]}
    order = "DESC" if direction == "DESC" else "ASC"
    expected = [
        row["vin"]
        for row in await db_conn.fetch(
            f"SELECT vin FROM vehicle WHERE location_country IN ('DE','FR','IT') "
            f"ORDER BY {column} {order}, id {order}"
        )
    ]
    seen: list[str] = []
    after = None
    while True:
        page = await _catalog(client, filter=flt, orderBy={"field": field, "direction": direction},
                              first=40, after=after)  # fmt: skip
        seen += [edge["node"]["vin"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected

    backwards: list[str] = []
    before = None
    while True:
        page = await _catalog(client, filter=flt, orderBy={"field": field, "direction": direction},
                              last=40, before=before)  # fmt: skip
        backwards = [edge["node"]["vin"] for edge in page["edges"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == expected


async def test_every_filter_narrows_to_exactly_the_matching_rows(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    dealer = await db_conn.fetchrow("SELECT id FROM dealer ORDER BY id LIMIT 1")
    sample = await db_conn.fetchrow("SELECT make, model FROM vehicle ORDER BY id LIMIT 1")
    import base64

    dealer_gid = base64.urlsafe_b64encode(f"Dealer:{dealer['id']}".encode()).rstrip(b"=").decode()
    cases: list[tuple[dict[str, Any], str, list[Any]]] = [
        ({"make": sample["make"].upper()}, "lower(make) = lower($1)", [sample["make"]]),
        (
            {"make": sample["make"], "model": sample["model"]},
            "make = $1 AND model = $2",
            [sample["make"], sample["model"]],
        ),
        ({"mileageMax": 30000}, "mileage_km <= 30000", []),
        ({"priceMin": "20000.50"}, "price_minor >= 2000050", []),
        ({"transmission": ["AUTOMATIC"]}, "transmission = 'AUTOMATIC'", []),
        ({"bodyType": ["SUV", "ESTATE"]}, "body_type IN ('SUV', 'ESTATE')", []),
        ({"country": ["nl"]}, "location_country = 'NL'", []),
        ({"dealerId": [dealer_gid]}, f"dealer_id = {dealer['id']}", []),
        ({"status": ["SOLD", "WITHDRAWN"]}, "status IN ('SOLD', 'WITHDRAWN')", []),
        (
            {"fuel": ["ELECTRIC"], "status": ["AVAILABLE"]},
            "fuel = 'ELECTRIC' AND status = 'AVAILABLE'",
            [],
        ),
        (
            {"search": sample["model"]},
            "search @@ websearch_to_tsquery('simple', $1)",
            [sample["model"]],
        ),
    ]
    for flt, where, args in cases:
        expected = await db_conn.fetchval(f"SELECT count(*) FROM vehicle WHERE {where}", *args)
        assert expected > 0, flt
        connection = await _catalog(client, filter=flt, first=100)
        assert connection["totalCount"] == expected, flt
        assert len(connection["edges"]) == min(expected, 100), flt


async def test_vehicle_lookups_by_id_vin_and_node(client: httpx.AsyncClient) -> None:
    page = await _catalog(client, first=2)
    node = page["edges"][0]["node"]
    body = await graphql(
        client,
        """query($id: ID!, $vin: String!, $ids: [ID!]!) {
             vehicle(id: $id) { vin make }
             vehicleByVin(vin: $vin) { id }
             node(id: $id) { __typename id ... on Vehicle { vin } }
             nodes(ids: $ids) { id }
           }""",
        {
            "id": node["id"],
            "vin": node["vin"].lower(),
            "ids": [e["node"]["id"] for e in page["edges"]],
        },
    )
    assert body == {
        "data": {
            "vehicle": {"vin": node["vin"], "make": node["make"]},
            "vehicleByVin": {"id": node["id"]},
            "node": {"__typename": "Vehicle", "id": node["id"], "vin": node["vin"]},
            "nodes": [{"id": e["node"]["id"]} for e in page["edges"]],
        }
    }


async def test_dealers_with_their_vehicles(
    client: httpx.AsyncClient, db_conn: asyncpg.Connection
) -> None:
    body = await graphql(
        client,
        """{ dealers(first: 5, country: "DE") { totalCount edges { node { id name country
               vehicles(first: 3, orderBy: {field: PRICE, direction: DESC}) {
                 totalCount edges { node { vin dealer { name } } } } } } } }""",
    )
    assert "errors" not in body, body
    dealers = body["data"]["dealers"]
    assert dealers["totalCount"] == await db_conn.fetchval(
        "SELECT count(*) FROM dealer WHERE country = 'DE'"
    )
    for edge in dealers["edges"]:
        dealer = edge["node"]
        assert dealer["country"] == "DE"
        rows = await db_conn.fetch(
            """SELECT v.vin FROM vehicle v JOIN dealer d ON d.id = v.dealer_id
               WHERE d.name = $1 ORDER BY v.price_minor DESC, v.id DESC""",
            dealer["name"],
        )
        assert dealer["vehicles"]["totalCount"] == len(rows)
        assert [e["node"]["vin"] for e in dealer["vehicles"]["edges"]] == [
            r["vin"] for r in rows[:3]
        ]
        assert all(
            e["node"]["dealer"]["name"] == dealer["name"] for e in dealer["vehicles"]["edges"]
        )


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("{ vehicles(first: 101) { totalCount } }", {}, "first"),
        ("{ vehicles(last: -1) { totalCount } }", {}, "last"),
        ("{ vehicles(first: 1, last: 1) { totalCount } }", {}, "last"),
        ("{ vehicles(filter: {yearMin: 2020, yearMax: 2010}) { totalCount } }", {}, "yearMin"),
        ('{ vehicles(filter: {priceMin: "500", priceMax: "100"}) { totalCount } }', {}, "priceMin"),
        ('{ vehicles(filter: {priceMin: "1.001"}) { totalCount } }', {}, "priceMin"),
        ('{ vehicles(filter: {country: ["Germany"]}) { totalCount } }', {}, "country"),
        ('{ vehicles(after: "not-a-cursor") { totalCount } }', {}, "after"),
        ('{ vehicle(id: "garbage!") { vin } }', {}, "id"),
        ('{ vehicle(id: "RGVhbGVyOjE") { vin } }', {}, "id"),  # a Dealer's ID
        ('{ vehicleByVin(vin: "IOQ") { vin } }', {}, "vin"),
        ('{ vehicles(filter: {dealerId: ["VmVoaWNsZTox"]}) { totalCount } }', {}, "dealerId"),
    ],
)
async def test_bad_arguments_are_bad_user_input_naming_the_field(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], field: str
) -> None:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert response.status_code == 200
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert error["extensions"]["field"] == field, body
    assert "Traceback" not in response.text


async def test_a_cursor_from_another_ordering_is_refused(client: httpx.AsyncClient) -> None:
    page = await _catalog(client, orderBy={"field": "PRICE", "direction": "ASC"}, first=2)
    body = await graphql(
        client, CATALOG, {"orderBy": {"field": "YEAR"}, "after": page["pageInfo"]["endCursor"]}
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize(
    ("payload"),
    [
        {"query": "{ vehicles { edges { node { vin } }"},  # syntax error
        {"query": "{ vehicles { nope } }"},  # unknown field
        {"query": "query($n: Int) { vehicles(first: $n) { totalCount } }",
         "variables": {"n": "ten"}},
        {"query": "{ vehicles(orderBy: {field: COLOUR}) { totalCount } }"},  # unknown enum
        {"query": "query($f: VehicleFilterInput) { vehicles(filter: $f) { totalCount } }",
         "variables": {"f": {"fuel": ["STEAM"]}}},
    ],
)  # fmt: skip
async def test_malformed_documents_get_bad_user_input_without_a_stack_trace(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    response = await client.post("/graphql", json=payload)
    body = response.json()
    assert body["errors"], body
    assert all(error["extensions"]["code"] == "BAD_USER_INPUT" for error in body["errors"]), body
    assert "Traceback" not in response.text
    assert response.status_code < 500


async def test_missing_vehicle_is_not_found(client: httpx.AsyncClient) -> None:
    body = await graphql(client, '{ vehicle(id: "VmVoaWNsZTo5OTk5OTk5") { vin } }')
    assert body["data"] == {"vehicle": None}
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    assert body["errors"][0]["path"] == ["vehicle"]
