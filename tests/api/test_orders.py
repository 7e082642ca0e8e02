"""Orders over GraphQL: create, reserve, cancel, advance; never a double booking."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from tests.accounts_data import TestUser, create_user, create_vehicle, trust
from tests.api.conftest import Cast
from tests.conftest import graphql

ORDER_FIELDS = """
  order { id number status version destinationCountry reservedUntil total { amount currency }
          vehicle { id status } quote { id total { amount } }
          events { sequence from to actor reason } }
  userErrors { field code message }
"""
CREATE = (
    f"mutation($input: CreateOrderInput!) {{ createOrder(input: $input) {{ {ORDER_FIELDS} }} }}"
)
RESERVE = (
    f"mutation($input: ReserveOrderInput!) {{ reserveOrder(input: $input) {{ {ORDER_FIELDS} }} }}"
)
CANCEL = (
    f"mutation($input: CancelOrderInput!) {{ cancelOrder(input: $input) {{ {ORDER_FIELDS} }} }}"
)
ADVANCE = (
    f"mutation($input: AdvanceOrderInput!) {{ advanceOrder(input: $input) {{ {ORDER_FIELDS} }} }}"
)
ORDER = "query($id: ID!) { order(id: $id) { id status buyer { email } } }"
MY_ORDERS = "{ myOrders(first: 50) { totalCount edges { node { id } } } }"
ALL_ORDERS = "query($f: OrderFilterInput) { orders(filter: $f, first: 100) { totalCount edges { node { id status } } } }"


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).rstrip(b"=").decode()


async def _vehicle(engine: AsyncEngine, redis: Redis, cast: Cast) -> str:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    return gid("Vehicle", row["id"])


async def _create(
    client: httpx.AsyncClient, user: TestUser, vehicle: str, **extra: Any
) -> dict[str, Any]:
    body = await graphql(
        client, CREATE, {"input": {"vehicleId": vehicle, "destinationCountry": "DE", **extra}},
        **user.headers,
    )  # fmt: skip
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createOrder"]
    return payload


async def test_create_and_reserve_in_one_step(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    payload = await _create(client, cast.buyer, vehicle, reserve=True)
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["status"] == "RESERVED"
    assert order["version"] == 3
    assert order["number"].startswith("AB-")
    assert order["vehicle"]["status"] == "RESERVED"
    assert order["total"] == order["quote"]["total"] | {"currency": "EUR"}
    assert order["reservedUntil"] is not None
    assert [(e["sequence"], e["from"], e["to"]) for e in order["events"]] == [
        (1, None, "DRAFT"), (2, "DRAFT", "QUOTED"), (3, "QUOTED", "RESERVED"),
    ]  # fmt: skip
    assert [e["actor"] for e in order["events"]] == [
        f"buyer:{cast.buyer.id}", "system", f"buyer:{cast.buyer.id}",
    ]  # fmt: skip


async def test_cancel_releases_the_vehicle(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    order = (await _create(client, cast.buyer, vehicle, reserve=True))["order"]
    body = await graphql(client, CANCEL, {"input": {"orderId": order["id"], "reason": "changed my mind"}},
                         **cast.buyer.headers)  # fmt: skip
    cancelled = body["data"]["cancelOrder"]["order"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["vehicle"]["status"] == "AVAILABLE"
    assert cancelled["events"][-1] == {
        "sequence": 4, "from": "RESERVED", "to": "CANCELLED",
        "actor": f"buyer:{cast.buyer.id}", "reason": "changed my mind",
    }  # fmt: skip


@pytest.mark.parametrize("round_number", range(4))
async def test_fifty_concurrent_reservations_give_exactly_one_winner(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    cast: Cast,
    round_number: int,
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    buyers = await asyncio.gather(
        *(create_user(engine, settings, UserRole.BUYER) for _ in range(50))
    )
    quoted = [await _create(client, buyer, vehicle) for buyer in buyers]
    assert {payload["order"]["status"] for payload in quoted} == {"QUOTED"}

    async def reserve(buyer: TestUser, order_id: str) -> httpx.Response:
        return await client.post(
            "/graphql", json={"query": RESERVE, "variables": {"input": {"orderId": order_id}}},
            headers=buyer.headers,
        )  # fmt: skip

    responses = await asyncio.gather(
        *(
            reserve(buyer, payload["order"]["id"])
            for buyer, payload in zip(buyers, quoted, strict=True)
        )
    )
    assert {response.status_code for response in responses} == {200}
    payloads = [response.json()["data"]["reserveOrder"] for response in responses]
    winners = [p for p in payloads if p["order"] is not None and p["order"]["status"] == "RESERVED"]
    losers = [p for p in payloads if p["userErrors"]]
    assert len(winners) == 1
    assert len(losers) == 49
    assert {p["userErrors"][0]["code"] for p in losers} == {"VEHICLE_UNAVAILABLE"}
    assert {tuple(p["userErrors"][0]["field"]) for p in losers} == {("input", "vehicleId")}
    async with engine.connect() as conn:
        active = await conn.scalar(
            sa.text("SELECT count(*) FROM orders WHERE vehicle_id = :v AND status = 'RESERVED'"),
            {"v": int(base64.urlsafe_b64decode(vehicle + "==").decode().split(":")[1])},
        )
    assert active == 1


async def test_an_expired_quote_cannot_be_used(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    quote = await graphql(
        client,
        'mutation($v: ID!) { requestQuote(input: {vehicleId: $v, destinationCountry: "DE"}) { quote { id } } }',
        {"v": vehicle},
    )
    quote_id = quote["data"]["requestQuote"]["quote"]["id"]
    quoted = await _create(client, cast.buyer, vehicle)
    async with engine.begin() as conn:
        await conn.execute(sa.text(
            "UPDATE quote SET created_at = now() - interval '40 minutes',"
            " valid_until = now() - interval '10 minutes'"
            " WHERE id IN (SELECT id FROM quote ORDER BY created_at DESC LIMIT 2)"
        ))  # fmt: skip
    late = await graphql(client, CREATE, {"input": {"vehicleId": vehicle, "destinationCountry": "DE",
                                                    "quoteId": quote_id}}, **cast.buyer.headers)  # fmt: skip
    assert late["data"]["createOrder"]["order"] is None
    assert late["data"]["createOrder"]["userErrors"][0]["code"] == "QUOTE_EXPIRED"
    assert late["data"]["createOrder"]["userErrors"][0]["field"] == ["input", "quoteId"]
    reserve = await graphql(
        client, RESERVE, {"input": {"orderId": quoted["order"]["id"]}}, **cast.buyer.headers
    )
    assert reserve["data"]["reserveOrder"]["userErrors"][0]["code"] == "QUOTE_EXPIRED"


async def test_staff_advance_and_invalid_steps_are_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    order = (await _create(client, cast.buyer, vehicle, reserve=True))["order"]
    body = await graphql(
        client, ADVANCE, {"input": {"orderId": order["id"], "step": "SHIP"}}, **cast.admin.headers
    )
    payload = body["data"]["advanceOrder"]
    assert payload["order"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "step"],
            "code": "TRANSITION_NOT_ALLOWED",
            "message": "SHIP is not allowed from RESERVED",
        }
    ]
    as_buyer = await graphql(client, ADVANCE, {"input": {"orderId": order["id"], "step": "PREPARE"}},
                             **cast.buyer.headers)  # fmt: skip
    assert as_buyer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    stale = await graphql(client, CANCEL, {"input": {"orderId": order["id"], "expectedVersion": 1}},
                          **cast.buyer.headers)  # fmt: skip
    assert stale["data"]["cancelOrder"]["userErrors"][0]["code"] == "VERSION_CONFLICT"
    assert stale["data"]["cancelOrder"]["userErrors"][0]["field"] == ["input", "expectedVersion"]


async def test_who_sees_which_orders(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings, cast: Cast
) -> None:
    other = await create_user(engine, settings, UserRole.BUYER)
    mine = (await _create(client, cast.buyer, await _vehicle(engine, redis, cast)))["order"]
    theirs = (await _create(client, other, await _vehicle(engine, redis, cast)))["order"]
    own = await graphql(client, ORDER, {"id": mine["id"]}, **cast.buyer.headers)
    assert own["data"]["order"] == {
        "id": mine["id"],
        "status": "QUOTED",
        "buyer": {"email": cast.buyer.email},
    }
    foreign = await graphql(client, ORDER, {"id": theirs["id"]}, **cast.buyer.headers)
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert foreign["data"] == {"order": None}
    node = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": theirs["id"]},
        **cast.buyer.headers,
    )
    assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await graphql(client, MY_ORDERS, **cast.buyer.headers)
    ids = {edge["node"]["id"] for edge in listed["data"]["myOrders"]["edges"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids
    staff = await graphql(
        client, ALL_ORDERS, {"f": {"buyerId": gid("User", other.id)}}, **cast.admin.headers
    )
    assert [edge["node"]["id"] for edge in staff["data"]["orders"]["edges"]] == [theirs["id"]]
    refused = await graphql(client, ALL_ORDERS, **cast.buyer.headers)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = await graphql(client, ORDER, {"id": gid("Order", 987654321)}, **cast.admin.headers)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = await graphql(client, ORDER, {"id": mine["id"]})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_sold_or_withdrawn_vehicles_cannot_be_ordered(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    for status in ("SOLD", "WITHDRAWN"):
        row = await create_vehicle(engine, redis, cast.dealer_ids[0])
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE vehicle SET status = :s WHERE id = :id"),
                {"s": status, "id": row["id"]},
            )
        body = await graphql(client, CREATE, {"input": {"vehicleId": gid("Vehicle", row["id"]),
                                                        "destinationCountry": "DE"}}, **cast.buyer.headers)  # fmt: skip
        assert body["data"]["createOrder"]["userErrors"][0]["code"] == "VEHICLE_UNAVAILABLE"
        assert body["data"]["createOrder"]["userErrors"][0]["field"] == ["input", "vehicleId"]
        async with engine.begin() as conn:  # no SOLD vehicle without its order is left behind
            await conn.execute(
                sa.text("UPDATE vehicle SET status = 'WITHDRAWN' WHERE id = :id"), {"id": row["id"]}
            )


async def test_partners_order_and_dealers_do_not(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    await trust(engine, "cast-partner", CREATE)  # partners run registered operations only
    partner = await graphql(client, CREATE, {"input": {"vehicleId": vehicle, "destinationCountry": "FR"}},
                            **{"X-API-Key": cast.partner_key})  # fmt: skip
    order = partner["data"]["createOrder"]["order"]
    assert order["events"][0]["actor"].startswith("partner:")
    dealer = await graphql(client, CREATE, {"input": {"vehicleId": vehicle, "destinationCountry": "FR"}},
                           **cast.dealer.headers)  # fmt: skip
    assert dealer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    buyer = await graphql(client, CANCEL, {"input": {"orderId": order["id"]}}, **cast.buyer.headers)
    assert buyer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


MY_ORDERS_DEEP = """{ myOrders(first: 50) { edges { node { number status total { amount }
  vehicle { vin dealer { name } } quote { total { amount } lines { kind } } buyer { email }
  events { sequence to } } } } }"""


async def test_an_order_page_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings, cast: Cast
) -> None:
    from core.db import start_counting

    counts = []
    for size in (2, 6):
        buyer = await create_user(engine, settings, UserRole.BUYER)
        for _ in range(size):
            await _create(client, buyer, await _vehicle(engine, redis, cast))
        counter = start_counting(keep_text=True)
        body = await graphql(client, MY_ORDERS_DEEP, **buyer.headers)
        assert len(body["data"]["myOrders"]["edges"]) == size
        counts.append(counter.count)
    # page, vehicles, dealers, quotes and their lines, buyers, events
    assert counts[0] == counts[1] == 7, counts
