"""The WebSocket protocols around orderStatusChanged: text frames, connection_init, its
timeout, ids, acknowledgement, ping and keep-alive, who may subscribe, argument errors,
the cap per connection, the cost of a subscription, and the close on shutdown. Over real
sockets."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from services.accounts.partners import create_api_key, partner_id_for
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from tests.accounts_data import create_user, trust
from tests.api.conftest import Cast
from tests.api.subscription_support import (
    STATUS_CHANGED,
    WAIT_SECONDS,
    bearer,
    gid,
    legacy_ws,
    reserved_order,
    step,
    transport_ws,
)
from tests.conftest import Servers, running_uvicorn, start_uvicorn, stop_process

TIGHT_ENV = {
    "WS_CONNECTION_INIT_TIMEOUT_SECONDS": "1",
    "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "2",
    "WS_KEEP_ALIVE_SECONDS": "0.2",
    "MAX_QUERY_COST": "12",
}
COSTLY = STATUS_CHANGED.replace(
    "order { id status }", "order { id status number version destinationCountry createdAt }"
)


@pytest.fixture(scope="module")
def tight_server(
    servers: Servers, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An API process with a 1 s connection_init timeout, 2 operations a connection,
    a 0.2 s graphql-ws keep-alive and a maximum query cost of 12."""
    log = tmp_path_factory.mktemp("tight") / "server.log"
    with running_uvicorn(servers, log, extra_env=TIGHT_ENV) as base_url:
        yield base_url


def _codes(message: dict[str, Any]) -> list[str]:
    assert message["type"] == "error", message
    return [error["extensions"]["code"] for error in message["payload"]]


async def test_every_message_comes_as_a_text_frame_on_both_protocols(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    # Browsers hand binary frames to their clients as Blobs, which no client reads;
    # the test clients' receive() refuses any binary frame.
    orders = [await reserved_order(engine, redis, cast) for _ in range(2)]
    buyer = Actor(ActorKind.BUYER, cast.buyer.id)
    async with transport_ws(live_server) as ws:
        await ws.send({"type": "connection_init", "payload": bearer(cast.buyer.token)})
        assert await ws.receive() == {"type": "connection_ack"}
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
        await ws.subscribe("1", orders[0], after=2)
        assert (await ws.receive())["payload"]["data"]["orderStatusChanged"]["sequence"] == 3
        await ws.subscribe("2", 10**12)
        assert (await ws.receive())["type"] == "error"
        await step(engine, redis, orders[0], OrderEventKind.CANCEL, buyer)
        assert (await ws.receive())["payload"]["data"]["orderStatusChanged"]["to"] == "CANCELLED"
        assert await ws.receive() == {"id": "1", "type": "complete"}
    async with legacy_ws(live_server) as legacy:
        await legacy.send({"type": "connection_init", "payload": bearer(cast.buyer.token)})
        assert await legacy.raw() == {"type": "connection_ack"}
        assert await legacy.raw() == {"type": "ka"}
        await legacy.start("1", orders[1], after=2)
        assert (await legacy.raw())["payload"]["data"]["orderStatusChanged"]["sequence"] == 3
        await step(engine, redis, orders[1], OrderEventKind.CANCEL, buyer)
        assert (await legacy.raw())["type"] == "data"
        assert await legacy.raw() == {"id": "1", "type": "complete"}


async def test_the_legacy_protocol_runs_queries_and_mutations_too(
    live_server: str, cast: Cast
) -> None:
    # subscriptions-transport-ws sends every operation over its socket.
    me = "query Me { me { email } }"
    logout = 'mutation Out { logout(input: {refreshToken: "unknown"}) { revoked } }'
    async with legacy_ws(live_server, bearer(cast.buyer.token)) as legacy:
        await legacy.send({"id": "1", "type": "start", "payload": {"query": me}})
        answer = await legacy.receive()
        assert answer["type"] == "data"
        assert answer["payload"]["data"] == {"me": {"email": cast.buyer.email}}
        assert await legacy.receive() == {"type": "complete", "id": "1"}
        await legacy.send({"id": "2", "type": "start", "payload": {"query": logout}})
        answer = await legacy.receive()
        assert (answer["type"], answer["id"]) == ("data", "2")
        # The resolver ran: the unknown refresh token is its refusal.
        assert answer["payload"]["data"] == {"logout": None}
        assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["UNAUTHENTICATED"]
        assert await legacy.receive() == {"type": "complete", "id": "2"}


async def test_no_connection_init_in_time_closes_4408(tight_server: str) -> None:
    async with transport_ws(tight_server) as ws:
        assert await ws.close_code() == 4408
    async with legacy_ws(tight_server) as legacy:
        assert await legacy.close_code() == 4408


async def test_a_second_connection_init_closes_4429(live_server: str, cast: Cast) -> None:
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.send({"type": "connection_init", "payload": bearer(cast.buyer.token)})
        assert await ws.close_code() == 4429


async def test_subscribing_before_the_acknowledgement_closes_4401(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server) as ws:
        await ws.subscribe("1", order_id)
        assert await ws.close_code() == 4401


async def test_a_duplicate_subscription_id_closes_4409(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=3)
        await ws.subscribe("1", order_id, after=3)
        assert await ws.close_code() == 4409


async def test_an_invalid_token_is_refused_on_connection_init(live_server: str) -> None:
    async with transport_ws(live_server) as ws:
        await ws.send({"type": "connection_init", "payload": bearer("not.a.jwt")})
        assert await ws.close_code() == 4403
    async with legacy_ws(live_server) as legacy:
        await legacy.send({"type": "connection_init", "payload": bearer("not.a.jwt")})
        refusal = await legacy.receive()
        assert refusal["type"] == "connection_error"
        assert refusal["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
        assert await legacy.close_code() == 1011


async def test_ping_is_answered_and_legacy_clients_get_keep_alives(
    tight_server: str, cast: Cast
) -> None:
    async with transport_ws(tight_server, bearer(cast.buyer.token)) as ws:
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
    async with legacy_ws(tight_server, bearer(cast.buyer.token)) as legacy:
        kinds = [(await legacy.raw())["type"] for _ in range(3)]
        assert kinds == ["ka", "ka", "ka"]


async def test_only_the_buyer_the_partner_and_staff_may_subscribe(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast, settings: Settings
) -> None:
    async with engine.connect() as conn:
        partner_id = await partner_id_for(conn, "cast-partner")
    placed_by_partner = await reserved_order(engine, redis, cast, partner_id=partner_id)
    bought = await reserved_order(engine, redis, cast)
    other_buyer = await create_user(engine, settings, UserRole.BUYER)
    other_partner = await create_api_key(engine, "other-partner")
    # Partners run registered operations only, over sockets too.
    await trust(engine, "cast-partner", STATUS_CHANGED)
    await trust(engine, "other-partner", STATUS_CHANGED)
    cases = [
        (bearer(cast.buyer.token), bought, None),
        ({"apiKey": cast.partner_key}, placed_by_partner, None),
        (bearer(cast.admin.token), bought, None),
        (bearer(cast.admin.token), placed_by_partner, None),
        (bearer(other_buyer.token), bought, "FORBIDDEN"),
        (bearer(cast.buyer.token), placed_by_partner, "FORBIDDEN"),
        (bearer(cast.dealer.token), bought, "FORBIDDEN"),
        ({"apiKey": other_partner.key}, placed_by_partner, "FORBIDDEN"),
        ({"apiKey": cast.partner_key}, bought, "FORBIDDEN"),
        ({}, bought, "UNAUTHENTICATED"),
    ]
    for init, order_id, refusal in cases:
        async with transport_ws(live_server, init) as ws:
            await ws.subscribe("1", order_id, after=0)
            if refusal is None:
                assert (await ws.events("1", 1))[0]["to"] == "DRAFT"
                continue
            assert _codes(await ws.receive()) == [refusal], (init, order_id)
            await ws.send({"type": "ping"})  # the socket stays open
            assert await ws.receive() == {"type": "pong"}


async def test_bad_arguments_are_refused_before_the_stream_starts(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    cases = [
        ({"id": gid("Order", 10**12)}, "NOT_FOUND", "orderId"),
        ({"id": gid("Vehicle", order_id)}, "BAD_USER_INPUT", "orderId"),
        ({"id": "not-an-id"}, "BAD_USER_INPUT", "orderId"),
        ({"id": gid("Order", order_id), "after": -1}, "BAD_USER_INPUT", "afterSequence"),
        ({"id": gid("Order", order_id), "after": 4}, "BAD_USER_INPUT", "afterSequence"),
    ]
    async with transport_ws(live_server, bearer(cast.admin.token)) as ws:
        for number, (variables, code, field) in enumerate(cases):
            payload = {"query": STATUS_CHANGED, "variables": variables}
            await ws.send({"id": str(number), "type": "subscribe", "payload": payload})
            message = await ws.receive()
            assert message["id"] == str(number)
            [error] = message["payload"]
            assert (error["extensions"]["code"], error["extensions"].get("field")) == (code, field)
        assert "the order's last event is 3" in error["message"]


async def test_operations_per_connection_are_capped(
    tight_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    orders = [await reserved_order(engine, redis, cast) for _ in range(3)]
    async with transport_ws(tight_server, bearer(cast.buyer.token)) as ws:
        for number, order_id in enumerate(orders):
            await ws.subscribe(str(number), order_id, after=2)
        received = [await ws.receive() for _ in range(3)]
        refused = next(m for m in received if m["type"] == "error")
        assert refused == {"id": "2", "type": "error", "payload": [{
            "message": "at most 2 operations may run at once on one connection",
            "extensions": {"code": "RATE_LIMITED", "maximum": 2},
        }]}  # fmt: skip
        await ws.send({"id": "0", "type": "complete"})
        await ws.subscribe("2", orders[2], after=2)
        [event] = await ws.events("2", 1)
        assert event["sequence"] == 3
    async with legacy_ws(tight_server, bearer(cast.buyer.token)) as legacy:
        for number, order_id in enumerate(orders):
            await legacy.start(str(number), order_id, after=2)
        received = [await legacy.receive() for _ in range(3)]
        assert {"type": "error", "id": "2", "payload": {
            "message": "at most 2 operations may run at once on one connection",
            "extensions": {"code": "RATE_LIMITED", "maximum": 2},
        }} in received  # fmt: skip


async def test_a_subscription_is_costed_once_when_it_starts(
    tight_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(tight_server, bearer(cast.buyer.token)) as ws:
        await ws.subscribe("1", order_id, after=0, query=COSTLY)
        message = await ws.receive()
        assert _codes(message) == ["QUERY_TOO_COMPLEX"]
        assert message["payload"][0]["extensions"]["requestedQueryCost"] == 14
        await ws.subscribe("2", order_id, after=1)
        first, second = (await ws.receive(), await ws.receive())
    costs = [m["payload"]["extensions"]["cost"] for m in (first, second)]
    assert costs[0] == costs[1]
    assert costs[0]["requestedQueryCost"] == costs[0]["actualQueryCost"] == 10
    status = costs[0]["throttleStatus"]
    assert status["currentlyAvailable"] <= status["maximumAvailable"] - 10


async def test_shutdown_closes_every_socket_with_a_reconnect_code(
    servers: Servers,
    database: str,
    tmp_path_factory: pytest.TempPathFactory,
    engine: AsyncEngine,
    redis: Redis,
    cast: Cast,
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    log = tmp_path_factory.mktemp("stopping") / "server.log"
    process, base_url = start_uvicorn(servers, log)
    try:
        async with (
            transport_ws(base_url, bearer(cast.buyer.token)) as ws,
            legacy_ws(base_url, bearer(cast.buyer.token)) as legacy,
        ):
            await ws.subscribe("1", order_id, after=2)
            await legacy.start("1", order_id, after=2)
            assert (await ws.events("1", 1))[0]["sequence"] == 3
            assert (await legacy.events("1", 1))[0]["sequence"] == 3
            process.send_signal(signal.SIGTERM)
            # uvicorn closes each socket with 1012 (service restart): clients reconnect.
            assert await ws.close_code() == 1012
            assert await legacy.close_code() == 1012
        # uvicorn re-raises the stop signal once it has shut down cleanly.
        assert process.wait(timeout=WAIT_SECONDS) == -signal.SIGTERM
    finally:
        stop_process(process)
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert "Traceback" not in text
