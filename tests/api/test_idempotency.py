"""Idempotency-Key: a retried mutation returns the first result and changes nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts_data import create_vehicle, trust
from tests.api.conftest import Cast
from tests.api.test_orders import CREATE, gid


async def _orders_for(engine: AsyncEngine, vehicle_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.text("SELECT count(*) FROM orders WHERE vehicle_id = :v"), {"v": vehicle_id}
            )
        )


async def _post(
    client: httpx.AsyncClient, cast: Cast, vehicle: str, key: str, country: str = "DE"
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={
            "query": CREATE,
            "variables": {"input": {"vehicleId": vehicle, "destinationCountry": country}},
        },
        headers={**cast.buyer.headers, "Idempotency-Key": key},
    )


async def test_a_retry_replays_the_first_response_and_creates_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    key = str(uuid.uuid4())
    first = await _post(client, cast, gid("Vehicle", row["id"]), key)
    again = await _post(client, cast, gid("Vehicle", row["id"]), key)
    assert first.json()["data"]["createOrder"]["order"]["status"] == "QUOTED"
    assert again.content == first.content
    assert again.status_code == first.status_code
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _orders_for(engine, row["id"]) == 1


async def test_the_same_key_with_another_input_is_a_conflict(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    key = str(uuid.uuid4())
    await _post(client, cast, gid("Vehicle", row["id"]), key)
    other = await _post(client, cast, gid("Vehicle", row["id"]), key, country="FR")
    assert other.status_code == 409
    assert other.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await _orders_for(engine, row["id"]) == 1


async def test_concurrent_retries_run_once(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    key = str(uuid.uuid4())
    responses = await asyncio.gather(
        *(_post(client, cast, gid("Vehicle", row["id"]), key) for _ in range(5))
    )
    assert await _orders_for(engine, row["id"]) == 1
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200, 409}


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    key = str(uuid.uuid4())
    await _post(client, cast, gid("Vehicle", row["id"]), key)
    await trust(engine, "cast-partner", CREATE)
    partner = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": {"vehicleId": gid("Vehicle", row["id"]),
                                                       "destinationCountry": "DE"}}},
        headers={"X-API-Key": cast.partner_key, "Idempotency-Key": key},
    )  # fmt: skip
    assert "idempotent-replayed" not in partner.headers
    assert await _orders_for(engine, row["id"]) == 2


async def test_queries_ignore_the_key_and_bad_keys_are_refused(client: httpx.AsyncClient) -> None:
    query = {"query": "{ vehicles(first: 1) { totalCount } }"}
    first = await client.post("/graphql", json=query, headers={"Idempotency-Key": "k-1"})
    again = await client.post("/graphql", json=query, headers={"Idempotency-Key": "k-1"})
    assert "idempotent-replayed" not in again.headers
    assert first.status_code == again.status_code == 200
    bad = await client.post("/graphql", json=query, headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 400
