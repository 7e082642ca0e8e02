"""Dealers' listings over GraphQL: create, update, withdraw, the rules they are held to,
and the quote cache they invalidate."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.redis_keys import QUOTE_CACHE_PREFIX
from schema.ids import to_global_id
from tests.accounts_data import create_vehicle, new_vin
from tests.api.conftest import Cast
from tests.conftest import graphql

VEHICLE_FIELDS = """
  vehicle { vin make model trim year mileageKm fuel status price { amount currency }
            location { country city } dealer { id } }
  userErrors { field code message }
"""
CREATE = f"""
mutation Create($input: CreateVehicleInput!) {{
  createVehicle(input: $input) {{ {VEHICLE_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateVehicleInput!) {{
  updateVehicle(input: $input) {{ {VEHICLE_FIELDS} }}
}}
"""
WITHDRAW = """
mutation Withdraw($input: WithdrawVehicleInput!) {
  withdrawVehicle(input: $input) { vehicle { status } userErrors { field code } }
}
"""


def _create_input(**overrides: Any) -> dict[str, Any]:
    return {
        "vin": new_vin().lower(), "make": "Peugeot", "model": "308", "trim": " GT Line ",
        "year": 2019, "mileageKm": 61000, "fuel": "PETROL", "transmission": "MANUAL",
        "bodyType": "HATCHBACK", "colour": "White", "powerKw": 96, "locationCountry": "be",
        "locationCity": "Gent", "price": "14500.50", **overrides,
    }  # fmt: skip


async def test_a_dealer_lists_a_vehicle_for_their_own_dealer(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    given = _create_input()
    body = await graphql(client, CREATE, {"input": given}, **cast.dealer.headers)
    assert body == {
        "data": {"createVehicle": {"vehicle": {
            "vin": given["vin"].upper(), "make": "Peugeot", "model": "308", "trim": "GT Line",
            "year": 2019, "mileageKm": 61000, "fuel": "PETROL", "status": "AVAILABLE",
            "price": {"amount": "14500.50", "currency": "EUR"},
            "location": {"country": "BE", "city": "Gent"},
            "dealer": {"id": to_global_id("Dealer", cast.dealer_ids[0])},
        }, "userErrors": []}}
    }  # fmt: skip


async def test_an_admin_must_name_the_dealer(client: httpx.AsyncClient, cast: Cast) -> None:
    body = await graphql(client, CREATE, {"input": _create_input()}, **cast.admin.headers)
    assert body["data"]["createVehicle"] == {
        "vehicle": None,
        "userErrors": [{"field": ["input", "dealerId"], "code": "REQUIRED",
                        "message": "An admin must name the dealer."}],
    }  # fmt: skip
    named = _create_input(dealerId=to_global_id("Dealer", cast.dealer_ids[1]))
    body = await graphql(client, CREATE, {"input": named}, **cast.admin.headers)
    assert body["data"]["createVehicle"]["vehicle"]["dealer"] == {
        "id": to_global_id("Dealer", cast.dealer_ids[1])
    }


async def test_listing_rules_name_every_field_at_fault(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    bad = _create_input(vin="WVWZZZ1KZAW00000O", year=1900, price="0", locationCountry="US",
                        mileageKm=-5, make="")  # fmt: skip
    body = await graphql(client, CREATE, {"input": bad}, **cast.dealer.headers)
    payload = body["data"]["createVehicle"]
    assert payload["vehicle"] is None
    assert sorted((e["field"][1], e["code"]) for e in payload["userErrors"]) == [
        ("locationCountry", "COUNTRY_UNSUPPORTED"),
        ("make", "TEXT_LENGTH"),
        ("mileageKm", "OUT_OF_RANGE"),
        ("price", "OUT_OF_RANGE"),
        ("vin", "VIN_INVALID"),
        ("year", "YEAR_OUT_OF_RANGE"),
    ]


async def test_a_vin_already_listed_is_refused(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, redis: Redis
) -> None:
    existing = await create_vehicle(engine, redis, cast.dealer_ids[1])
    body = await graphql(
        client, CREATE, {"input": _create_input(vin=existing["vin"])}, **cast.dealer.headers
    )
    assert body["data"]["createVehicle"]["userErrors"] == [
        {"field": ["input", "vin"], "code": "VIN_TAKEN", "message": "Another listing has this VIN."}
    ]
    mine = await create_vehicle(engine, redis, cast.dealer_ids[0])
    changed = {"id": to_global_id("Vehicle", mine["id"]), "vin": existing["vin"]}
    body = await graphql(client, UPDATE, {"input": changed}, **cast.dealer.headers)
    assert [e["code"] for e in body["data"]["updateVehicle"]["userErrors"]] == ["VIN_TAKEN"]


async def test_update_changes_only_what_is_given_and_null_clears_optional_fields(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, redis: Redis
) -> None:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    gid = to_global_id("Vehicle", vehicle["id"])
    body = await graphql(
        client, UPDATE, {"input": {"id": gid, "price": "15999.99", "trim": None}},
        **cast.dealer.headers,
    )  # fmt: skip
    updated = body["data"]["updateVehicle"]["vehicle"]
    assert updated["price"] == {"amount": "15999.99", "currency": "EUR"}
    assert updated["trim"] is None
    assert (updated["make"], updated["mileageKm"]) == (vehicle["make"], vehicle["mileage_km"])
    required = await graphql(
        client, UPDATE, {"input": {"id": gid, "make": None}}, **cast.dealer.headers
    )
    assert required["data"]["updateVehicle"]["userErrors"] == [
        {"field": ["input", "make"], "code": "REQUIRED", "message": "Cannot be empty."}
    ]


async def test_withdraw_is_idempotent_and_a_reserved_vehicle_cannot_be_changed(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, redis: Redis
) -> None:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    gid = to_global_id("Vehicle", vehicle["id"])
    for _ in range(2):
        body = await graphql(client, WITHDRAW, {"input": {"id": gid}}, **cast.dealer.headers)
        assert body == {
            "data": {"withdrawVehicle": {"vehicle": {"status": "WITHDRAWN"}, "userErrors": []}}
        }
    reserved = await create_vehicle(engine, redis, cast.dealer_ids[0])
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE vehicle SET status = 'RESERVED' WHERE id = :id"), {"id": reserved["id"]}
        )
    reserved_id = to_global_id("Vehicle", reserved["id"])
    body = await graphql(client, WITHDRAW, {"input": {"id": reserved_id}}, **cast.admin.headers)
    assert body["data"]["withdrawVehicle"] == {
        "vehicle": None, "userErrors": [{"field": ["input", "id"], "code": "VEHICLE_RESERVED"}]
    }  # fmt: skip
    body = await graphql(
        client, UPDATE, {"input": {"id": reserved_id, "price": "1.00"}}, **cast.admin.headers
    )
    assert [e["code"] for e in body["data"]["updateVehicle"]["userErrors"]] == ["VEHICLE_RESERVED"]


async def test_unknown_and_malformed_vehicle_ids(client: httpx.AsyncClient, cast: Cast) -> None:
    missing = to_global_id("Vehicle", 987_654_321)
    body = await graphql(client, WITHDRAW, {"input": {"id": missing}}, **cast.admin.headers)
    assert body["data"] == {"withdrawVehicle": None}
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    body = await graphql(client, WITHDRAW, {"input": {"id": "nonsense"}}, **cast.dealer.headers)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_a_change_drops_the_vehicles_cached_quotes(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, redis: Redis
) -> None:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    key = f"{QUOTE_CACHE_PREFIX}{vehicle['id']}"
    gid = to_global_id("Vehicle", vehicle["id"])
    await redis.hset(key, mapping={"DE:test": b"{}"})
    await graphql(client, UPDATE, {"input": {"id": gid, "price": "9999.00"}}, **cast.dealer.headers)
    assert await redis.exists(key) == 0
    await redis.hset(key, mapping={"DE:test": b"{}"})
    await graphql(client, WITHDRAW, {"input": {"id": gid}}, **cast.dealer.headers)
    assert await redis.exists(key) == 0
