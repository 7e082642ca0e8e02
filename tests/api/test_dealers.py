"""Staff edit dealers over GraphQL: updateDealer, the rules it holds the input to, who may
call it, and the cached catalog answers it drops.

The tests edit the last seeded dealer, which no other test relies on, and put its values
back afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.ids import to_global_id
from services.dealers import update_dealer
from tests.api.conftest import Cast
from tests.conftest import graphql

UPDATE = """
mutation UpdateDealer($input: UpdateDealerInput!) {
  updateDealer(input: $input) {
    dealer { id name city rating }
    userErrors { field code message }
  }
}
"""
DEALER = "query Dealer($id: ID!) { dealer(id: $id) { name city rating } }"
DEALERS = "query Dealers { dealers(first: 100) { edges { node { id name } } } }"
DEALER_VEHICLES = """
query DealerVehicles($dealerIds: [ID!]) {
  vehicles(filter: {dealerId: $dealerIds}, first: 5) { edges { node { dealer { name rating } } } }
}
"""


def _state(row: Any) -> dict[str, Any]:
    return {"name": row["name"], "city": row["city"], "rating": row["rating"]}


async def _stored(engine: AsyncEngine, dealer_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT name, city, rating FROM dealer WHERE id = :id"), {"id": dealer_id}
            )
        ).one()
    return _state(row._mapping)


@pytest.fixture
async def dealer(engine: AsyncEngine, redis: Redis) -> AsyncIterator[dict[str, Any]]:
    """The last dealer by id; its name, city and rating are put back after the test."""
    async with engine.connect() as conn:
        row = (
            (await conn.execute(sa.text("SELECT * FROM dealer ORDER BY id DESC LIMIT 1")))
            .mappings()
            .one()
        )
    yield {**row, "gid": to_global_id("Dealer", row["id"])}
    await update_dealer(engine, redis, row["id"], _state(row))


async def _update(client: httpx.AsyncClient, headers: dict[str, str], **input: Any) -> Any:
    return await graphql(client, UPDATE, {"input": input}, **headers)


async def test_an_admin_changes_each_field_and_the_dealer_shows_it(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, dealer: dict[str, Any]
) -> None:
    gid = dealer["gid"]
    body = await _update(client, cast.admin.headers, id=gid, name="  Autohaus Nord  ")
    assert body == {"data": {"updateDealer": {
        "dealer": {"id": gid, "name": "Autohaus Nord", "city": dealer["city"],
                   "rating": str(dealer["rating"])},
        "userErrors": [],
    }}}  # fmt: skip
    body = await _update(client, cast.admin.headers, id=gid, city=" Kiel ")
    assert body["data"]["updateDealer"]["dealer"]["city"] == "Kiel"
    for given, shown, stored in (
        ("4.50", "4.5", Decimal("4.5")),
        ("5", "5.0", Decimal("5.0")),
        ("0.0", "0.0", Decimal("0.0")),
        (3.7, "3.7", Decimal("3.7")),  # a JSON number is read as its decimal text
    ):
        body = await _update(client, cast.admin.headers, id=gid, rating=given)
        assert body["data"]["updateDealer"]["dealer"]["rating"] == shown
        assert (await _stored(engine, dealer["id"]))["rating"] == stored
    assert await graphql(client, DEALER, {"id": gid}) == {
        "data": {"dealer": {"name": "Autohaus Nord", "city": "Kiel", "rating": "3.7"}}
    }
    body = await _update(client, cast.admin.headers, id=gid)
    assert body["data"]["updateDealer"] == {
        "dealer": {"id": gid, "name": "Autohaus Nord", "city": "Kiel", "rating": "3.7"},
        "userErrors": [],
    }


def _error(field: str, code: str, message: str) -> dict[str, Any]:
    return {"field": ["input", field], "code": code, "message": message}


NAME_LENGTH = _error("name", "TEXT_LENGTH", "1 to 200 characters.")
CITY_LENGTH = _error("city", "TEXT_LENGTH", "1 to 100 characters.")
RATING_RANGE = _error("rating", "OUT_OF_RANGE", "From 0.0 to 5.0.")
RATING_DECIMALS = _error("rating", "TOO_MANY_DECIMALS", "At most one decimal place.")

REFUSED_INPUTS = [
    ({"name": "   "}, [NAME_LENGTH]),
    ({"name": "x" * 201}, [NAME_LENGTH]),
    ({"name": None}, [_error("name", "REQUIRED", "Cannot be empty.")]),
    ({"city": ""}, [CITY_LENGTH]),
    ({"city": "y" * 101}, [CITY_LENGTH]),
    ({"city": None}, [_error("city", "REQUIRED", "Cannot be empty.")]),
    ({"rating": "5.1"}, [RATING_RANGE]),
    ({"rating": "-1"}, [RATING_RANGE]),
    ({"rating": "4.25"}, [RATING_DECIMALS]),
    ({"rating": None}, [_error("rating", "REQUIRED", "Cannot be empty.")]),
    # One field at fault refuses the whole change: the valid name is not written either.
    ({"name": "Valid Name", "rating": "4.25"}, [RATING_DECIMALS]),
    ({"name": "", "city": "", "rating": "9"}, [NAME_LENGTH, CITY_LENGTH, RATING_RANGE]),
]


@pytest.mark.parametrize(("changes", "errors"), REFUSED_INPUTS)
async def test_input_breaking_a_rule_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    dealer: dict[str, Any],
    changes: dict[str, Any],
    errors: list[dict[str, Any]],
) -> None:
    body = await _update(client, cast.admin.headers, id=dealer["gid"], **changes)
    assert body == {"data": {"updateDealer": {"dealer": None, "userErrors": errors}}}
    assert await _stored(engine, dealer["id"]) == _state(dealer)


async def test_unknown_and_wrong_ids_are_coded_errors(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, dealer: dict[str, Any]
) -> None:
    cases = [
        (to_global_id("Dealer", 987_654_321), {"code": "NOT_FOUND", "field": "id"}),
        # A Vehicle's id, even one whose key is this dealer's, does not name a dealer.
        (to_global_id("Vehicle", dealer["id"]), {"code": "BAD_USER_INPUT", "field": "id"}),
        ("nonsense", {"code": "BAD_USER_INPUT", "field": "id"}),
    ]
    for gid, extensions in cases:
        body = await _update(client, cast.admin.headers, id=gid, name="Nowhere Motors")
        assert body["data"] == {"updateDealer": None}
        assert [(e["extensions"], e["path"]) for e in body["errors"]] == [
            (extensions, ["updateDealer"])
        ]
    body = await _update(client, cast.admin.headers, id=dealer["gid"], rating="four")
    assert "data" not in body  # the variables are refused before execution
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert await _stored(engine, dealer["id"]) == _state(dealer)


async def test_only_admins_may_edit_a_dealer(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, dealer: dict[str, Any]
) -> None:
    own_dealer = to_global_id("Dealer", cast.dealer_ids[0])
    before = await _stored(engine, cast.dealer_ids[0])
    refusals = [
        ({}, dealer["gid"], "UNAUTHENTICATED"),
        (cast.buyer.headers, dealer["gid"], "FORBIDDEN"),
        (cast.dealer.headers, dealer["gid"], "FORBIDDEN"),
        (cast.dealer.headers, own_dealer, "FORBIDDEN"),  # not even their own dealer
    ]
    for headers, gid, code in refusals:
        body = await _update(client, headers, id=gid, name="Taken Over", rating="0.1")
        assert body["data"] == {"updateDealer": None}
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
            (code, ["updateDealer"])
        ]
    assert await _stored(engine, dealer["id"]) == _state(dealer)
    assert await _stored(engine, cast.dealer_ids[0]) == before


async def _read(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    """(x-response-cache header, data) of an anonymous catalog read."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return response.headers.get("x-response-cache"), body["data"]


async def test_an_edit_drops_every_cached_answer_showing_the_dealer(
    client: httpx.AsyncClient, cast: Cast, dealer: dict[str, Any]
) -> None:
    gid = dealer["gid"]
    reads = {
        "vehicles": (DEALER_VEHICLES, {"dealerIds": [gid]}),
        "dealer": (DEALER, {"id": gid}),
        "dealers": (DEALERS, {}),
    }

    def shown(data: dict[str, Any], name: str, city: str, rating: str) -> None:
        vehicles = [edge["node"]["dealer"] for edge in data["vehicles"]["edges"]]
        assert vehicles
        assert vehicles == [{"name": name, "rating": rating}] * len(vehicles)
        assert data["dealer"] == {"name": name, "city": city, "rating": rating}
        assert {"id": gid, "name": name} in [edge["node"] for edge in data["dealers"]["edges"]]

    async def read_all(expected_cache: str | None) -> dict[str, Any]:
        data = {}
        for field, (query, variables) in reads.items():
            cache, data_of_read = await _read(client, query, variables)
            assert cache == expected_cache, field
            data.update(data_of_read)
        return data

    old = (dealer["name"], dealer["city"], str(dealer["rating"]))
    shown(await read_all("MISS"), *old)
    shown(await read_all("HIT"), *old)

    body = await _update(
        client, cast.admin.headers, id=gid, name="Renamed Motors", city="Graz", rating="1.2"
    )
    assert body["data"]["updateDealer"]["userErrors"] == []

    new = ("Renamed Motors", "Graz", "1.2")
    shown(await read_all("MISS"), *new)
    shown(await read_all("HIT"), *new)
