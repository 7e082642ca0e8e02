"""orderStatusChanged and other operations over Server-Sent Events, with the graphql-sse
npm client itself (createClient, distinct connections mode) from Node, against a live
server: live events and completion, resume with afterSequence, who may subscribe, coded
errors, queries and mutations, partners' registered operations.

Needs Node and `npm ci --prefix tests/graphql_sse` (CI does both, and sets
AUTOBROKER_REQUIRE_NODE=1 so a missing install fails instead of skipping).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.accounts.partners import partner_id_for
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from tests.accounts_data import create_vehicle, trust
from tests.api.conftest import Cast
from tests.api.sse_support import sse_client
from tests.api.subscription_support import (
    STATUS_CHANGED,
    bearer,
    churn,
    expected,
    gid,
    reserved_order,
    step,
    variables,
    without_cost,
)

CONNECTED = {"connected": True}
COMPLETE = {"complete": True}
REQUEST_QUOTE = """
mutation SseQuote($input: RequestQuoteInput!) {
  requestQuote(input: $input) { quote { destinationCountry } userErrors { code } }
}
"""


def _event(result: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = without_cost(result)["data"]["orderStatusChanged"]
    return data


async def test_events_arrive_as_they_happen_and_the_stream_completes_at_the_end(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    buyer = Actor(ActorKind.BUYER, cast.buyer.id)
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, 3), headers=bearer(cast.buyer.token)
    ) as client:
        assert await client.line() == CONNECTED
        received = []
        for _ in range(3):
            [applied] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
            received += await client.results(1)
            assert _event(received[-1]) == expected(applied)
        cancelled = await step(engine, redis, order_id, OrderEventKind.CANCEL, buyer)
        assert [_event(result) for result in await client.results(1)] == [expected(cancelled)]
        assert await client.line() == COMPLETE
    # A subscription is costed once, when it starts, as over WebSocket: every event says so.
    costs = {repr(result["extensions"]["cost"]) for result in received}
    assert len(costs) == 1
    cost = received[0]["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 10


async def test_a_new_subscription_with_after_sequence_gets_what_it_missed_then_live_events(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    token = bearer(cast.buyer.token)
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, 3), headers=token, dispose_after=1
    ) as client:
        assert await client.line() == CONNECTED
        [seen] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert [_event(result) for result in await client.results(1)] == [expected(seen)]
        assert await client.line() == {"disposed": True}
    missed = await churn(engine, redis, order_id, 3, buyer_id=cast.buyer.id)
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, seen.sequence), headers=token
    ) as client:
        assert await client.line() == CONNECTED
        now = missed[-1].to_status
        replayed = [_event(result) for result in await client.results(3)]
        assert replayed == [expected(event, order_status=now) for event in missed]
        [live] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        assert [_event(result) for result in await client.results(1)] == [expected(live)]


async def test_someone_elses_order_is_forbidden_and_nobody_is_unauthenticated(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    for headers, code in ((bearer(cast.dealer.token), "FORBIDDEN"), ({}, "UNAUTHENTICATED")):
        async with sse_client(
            live_server, STATUS_CHANGED, variables(order_id, 0), headers=headers
        ) as client:
            assert await client.line() == CONNECTED
            [result] = await client.results(1)
            assert without_cost(result) == {
                "data": None,
                "errors": [{
                    "message": result["errors"][0]["message"],
                    "locations": [{"line": 3, "column": 3}],
                    "path": ["orderStatusChanged"],
                    "extensions": {"code": code},
                }],
            }  # fmt: skip
            assert await client.line() == COMPLETE


async def test_bad_arguments_and_a_bad_credential_are_coded_errors(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, 4), headers=bearer(cast.buyer.token)
    ) as client:
        assert await client.line() == CONNECTED
        [result] = await client.results(1)
        [error] = result["errors"]
        assert error["message"] == "afterSequence: the order's last event is 3"
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "afterSequence"}
        assert await client.line() == COMPLETE
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, 0), headers=bearer("not-a-token")
    ) as client:
        line = await client.line()
    assert line["error"]["status"] == 401  # refused before GraphQL: the client's NetworkError
    assert '"code":"UNAUTHENTICATED"' in line["error"]["body"]


async def test_a_query_and_a_mutation_answer_once_then_complete(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    async with sse_client(live_server, "query SseCount { vehicles(first: 1) { totalCount } }") as q:
        [result] = await q.results(1)
        assert result["data"]["vehicles"]["totalCount"] > 0
        assert await q.line() == COMPLETE
    quote_input = {"vehicleId": gid("Vehicle", vehicle["id"]), "destinationCountry": "FR"}
    async with sse_client(live_server, REQUEST_QUOTE, {"input": quote_input}) as m:
        [result] = await m.results(1)
        assert set(result) == {"data", "extensions"}
        assert result["data"] == {
            "requestQuote": {"quote": {"destinationCountry": "FR"}, "userErrors": []}
        }
        assert await m.line() == COMPLETE


async def test_a_partner_subscribes_with_registered_operations_only(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    async with engine.connect() as conn:
        partner_id = await partner_id_for(conn, "cast-partner")
    order_id = await reserved_order(engine, redis, cast, partner_id=partner_id)
    partner = {"X-API-Key": cast.partner_key}
    unregistered = STATUS_CHANGED.replace("StatusChanged", "UnregisteredStatus")
    async with sse_client(
        live_server, unregistered, variables(order_id, 0), headers=partner
    ) as client:
        [result] = await client.results(1)
        assert [e["extensions"]["code"] for e in result["errors"]] == [
            "PERSISTED_QUERY_NOT_ALLOWED"
        ]
        assert await client.line() == COMPLETE
    await trust(engine, "cast-partner", STATUS_CHANGED)
    async with sse_client(
        live_server, STATUS_CHANGED, variables(order_id, 0), headers=partner, dispose_after=3
    ) as client:
        events = [_event(result) for result in await client.results(3)]
        assert [event["to"] for event in events] == ["DRAFT", "QUOTED", "RESERVED"]
