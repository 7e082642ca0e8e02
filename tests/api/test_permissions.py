"""The permission matrix: every role against every guarded operation, as a table.

`dealer` owns the vehicle acted on (it is listed for dealer_ids[0]); `other dealer` is a
dealer too, of dealer_ids[1]. createVehicle names dealer_ids[0] as the listing dealer.
updateDealer rewrites the last dealer's own rating, so that no value changes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.ids import to_global_id
from tests.accounts_data import create_vehicle, new_vin, trust
from tests.api.conftest import Cast
from tests.conftest import graphql

OK = "ok"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"

OPERATIONS: dict[str, str] = {
    "me": "query Me { me { email } }",
    "createVehicle": """
        mutation Create($input: CreateVehicleInput!) {
          createVehicle(input: $input) { vehicle { vin } userErrors { code } }
        }""",
    "updateVehicle": """
        mutation Update($input: UpdateVehicleInput!) {
          updateVehicle(input: $input) { vehicle { mileageKm } userErrors { code } }
        }""",
    "withdrawVehicle": """
        mutation Withdraw($input: WithdrawVehicleInput!) {
          withdrawVehicle(input: $input) { vehicle { status } userErrors { code } }
        }""",
    "updateDealer": """
        mutation UpdateDealer($input: UpdateDealerInput!) {
          updateDealer(input: $input) { dealer { rating } userErrors { code } }
        }""",
}

ROLES = ("anonymous", "buyer", "dealer", "other dealer", "admin", "partner")

# role -> the outcome of (me, createVehicle, updateVehicle, withdrawVehicle, updateDealer)
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    "anonymous":    (UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED,
                     UNAUTHENTICATED),
    "buyer":        (OK,              FORBIDDEN,       FORBIDDEN,       FORBIDDEN, FORBIDDEN),
    "dealer":       (OK,              OK,              OK,              OK,        FORBIDDEN),
    "other dealer": (OK,              FORBIDDEN,       FORBIDDEN,       FORBIDDEN, FORBIDDEN),
    "admin":        (OK,              OK,              OK,              OK,        OK),
    "partner":      (FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN, FORBIDDEN),
}  # fmt: skip

CASES = [
    (role, operation, outcome)
    for role, outcomes in MATRIX.items()
    for operation, outcome in zip(OPERATIONS, outcomes, strict=True)
]


def _headers(cast: Cast, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "partner":
        return {"X-API-Key": cast.partner_key}
    user = {"buyer": cast.buyer, "dealer": cast.dealer, "other dealer": cast.other_dealer,
            "admin": cast.admin}[role]  # fmt: skip
    return user.headers


async def _variables(
    engine: AsyncEngine, redis: Redis, cast: Cast, operation: str
) -> dict[str, Any]:
    owner = cast.dealer_ids[0]
    if operation == "me":
        return {}
    if operation == "updateDealer":
        last = sa.text("SELECT id, rating FROM dealer ORDER BY id DESC LIMIT 1")
        async with engine.connect() as conn:
            dealer_id, rating = (await conn.execute(last)).one()
        return {"input": {"id": to_global_id("Dealer", dealer_id), "rating": str(rating)}}
    if operation == "createVehicle":
        return {"input": {
            "dealerId": to_global_id("Dealer", owner), "vin": new_vin(), "make": "Renault",
            "model": "Zoe", "year": 2021, "mileageKm": 18000, "fuel": "ELECTRIC",
            "transmission": "AUTOMATIC", "bodyType": "HATCHBACK", "colour": "Blue",
            "powerKw": 80, "locationCountry": "FR", "locationCity": "Lyon", "price": "17950.00",
        }}  # fmt: skip
    vehicle = await create_vehicle(engine, redis, owner)
    gid = to_global_id("Vehicle", vehicle["id"])
    if operation == "updateVehicle":
        return {"input": {"id": gid, "mileageKm": 43000}}
    return {"input": {"id": gid}}


def test_the_matrix_covers_every_role_and_operation() -> None:
    assert set(MATRIX) == set(ROLES)
    assert len(CASES) == len(ROLES) * len(OPERATIONS)


@pytest.mark.parametrize(("role", "operation", "outcome"), CASES)
async def test_permission_matrix(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    cast: Cast,
    role: str,
    operation: str,
    outcome: str,
) -> None:
    variables = await _variables(engine, redis, cast, operation)
    if role == "partner":
        await trust(engine, "cast-partner", OPERATIONS[operation])
    body = await graphql(client, OPERATIONS[operation], variables, **_headers(cast, role))
    if outcome == OK:
        assert "errors" not in body, body
        result = body["data"][operation]
        assert result is not None
        if operation != "me":
            assert result["userErrors"] == []
            assert all(value is not None for value in result.values()), result
        return
    assert body["data"] == {operation: None}
    assert [error["extensions"]["code"] for error in body["errors"]] == [outcome], body
    assert body["errors"][0]["path"] == [operation]
