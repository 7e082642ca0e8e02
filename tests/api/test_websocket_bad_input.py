"""Bad input on WebSockets: each gets its protocol's answer, and everyone else is served.

graphql-transport-ws closes a malformed message with 4400 naming what is wrong, an
unknown subprotocol with 4406, a message over MAX_BODY_BYTES with 1009; the legacy
graphql-ws protocol answers a malformed message with `error` or `connection_error` and
keeps the socket. Meanwhile a subscriber on another socket goes on streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.api.conftest import Cast
from tests.api.subscription_support import (
    STATUS_CHANGED,
    WAIT_SECONDS,
    TransportClient,
    bearer,
    churn,
    expected,
    legacy_ws,
    reserved_order,
    transport_ws,
    ws_url,
)

MAX_BODY_BYTES = 1_000_000  # the setting's default, which the live server runs with
SUBSCRIBE = {"id": "1", "type": "subscribe", "payload": {"query": STATUS_CHANGED}}
# A frame (text, or bytes for a binary frame) and the reason graphql-transport-ws closes with.
TRANSPORT_WS_CASES: list[tuple[str | bytes, str]] = [
    ("[1]", "a message must be a JSON object"),
    ("null", "a message must be a JSON object"),
    ("1", "a message must be a JSON object"),
    ('{"type": "ping", "payload": {"n": ' + "9" * 4301 + "}}", "WebSocket message must be valid JSON"),
    ('{"type": "ping", "payload": ' + "[" * 300 + "]" * 300 + "}",
     "WebSocket message must be valid JSON"),
    ('"connection_init"', "a message must be a JSON object"),
    ("{", "WebSocket message must be valid JSON"),
    (b'{"type": "ping"}', "WebSocket message type must be text"),
    ('{"type": 5}', "a message needs a type, a string"),
    ('{"type": "next", "id": "1"}', "unknown message type: next"),
    (json.dumps({**SUBSCRIBE, "payload": "subscription { x }"}),
     "the payload of a subscribe message must be an object"),
    (json.dumps({**SUBSCRIBE, "id": ["1"]}), "a subscribe message needs an id, a non-empty string"),
    (json.dumps({**SUBSCRIBE, "id": ""}), "a subscribe message needs an id, a non-empty string"),
    (json.dumps({**SUBSCRIBE, "payload": {"query": 5}}),
     "the payload of a subscribe message needs a query, a string"),
    (json.dumps({**SUBSCRIBE, "payload": {"query": "{ me { id } }", "variables": [1]}}),
     "variables must be an object"),
    ('{"type": "complete"}', "a complete message needs an id, a non-empty string"),
    ('{"type": "ping", "payload": 1}', "the payload of ping must be an object"),
]  # fmt: skip


async def _close(socket: Any) -> tuple[int | None, str | None]:
    """Wait for the server's close frame: its code and reason."""
    async with asyncio.timeout(WAIT_SECONDS):
        with contextlib.suppress(ConnectionClosed):
            async for _ in socket:
                pass
    received = socket.protocol.close_rcvd
    return (received.code, received.reason) if received else (None, None)


@asynccontextmanager
async def _watching(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> AsyncIterator[tuple[TransportClient, int]]:
    order_id = await reserved_order(engine, redis, cast)
    async with transport_ws(live_server, bearer(cast.buyer.token)) as watcher:
        await watcher.subscribe("w", order_id, after=3)
        yield watcher, order_id


async def _still_streams(
    watcher: TransportClient, engine: AsyncEngine, redis: Redis, order_id: int, buyer_id: int
) -> None:
    [applied] = await churn(engine, redis, order_id, 1, buyer_id=buyer_id)
    assert await watcher.events("w", 1) == [expected(applied)]


async def test_malformed_messages_close_4400_while_others_stream(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    async with _watching(live_server, engine, redis, cast) as (watcher, order_id):
        for frame, reason in TRANSPORT_WS_CASES:
            async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
                await ws.socket.send(frame)
                assert await _close(ws.socket) == (4400, reason), frame
        await _still_streams(watcher, engine, redis, order_id, cast.buyer.id)


async def test_an_optional_payload_may_be_null(live_server: str) -> None:
    async with transport_ws(live_server) as ws:
        await ws.send({"type": "connection_init", "payload": None})
        assert await ws.receive() == {"type": "connection_ack"}
        await ws.send({"type": "ping", "payload": None})
        assert await ws.receive() == {"type": "pong"}


async def test_an_unknown_subprotocol_closes_4406(live_server: str) -> None:
    for offered in ([Subprotocol("graphql-sse")], None):
        async with ws_connect(
            ws_url(live_server), subprotocols=offered, open_timeout=WAIT_SECONDS
        ) as socket:
            assert await _close(socket) == (4406, "Subprotocol not acceptable")


def _message_of(size: int, *, kind: str = "subscribe") -> str:
    """An operation message of exactly `size` bytes (padded in its extensions: a query
    is held to MAX_QUERY_CHARACTERS)."""
    padding = {"padding": ""}
    message = {
        "id": "2",
        "type": kind,
        "payload": {"query": "{ me { id } }", "extensions": padding},
    }
    padding["padding"] = " " * (size - len(json.dumps(message)))
    return json.dumps(message)


async def test_a_message_over_the_size_limit_closes_1009_on_both_protocols(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    async with _watching(live_server, engine, redis, cast) as (watcher, order_id):
        async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
            await ws.socket.send(_message_of(MAX_BODY_BYTES))  # at the limit: served
            assert (await ws.receive())["payload"]["data"]["me"]["id"]
            await ws.socket.send(_message_of(MAX_BODY_BYTES + 1))
            assert await _close(ws.socket) == (
                1009,
                f"a message may be at most {MAX_BODY_BYTES} bytes",
            )
        async with legacy_ws(live_server, bearer(cast.buyer.token)) as legacy:
            await legacy.socket.send(_message_of(MAX_BODY_BYTES + 1, kind="start"))
            assert (await _close(legacy.socket))[0] == 1009
        await _still_streams(watcher, engine, redis, order_id, cast.buyer.id)


async def test_the_legacy_protocol_answers_malformed_messages_and_stays_open(
    live_server: str, cast: Cast
) -> None:
    code = {"code": "BAD_USER_INPUT"}
    async with legacy_ws(live_server) as legacy:
        for frame, message in [
            ("[1]", "a message must be a JSON object"),
            ('"x"', "a message must be a JSON object"),
            ("1", "a message must be a JSON object"),
            ("null", "a message must be a JSON object"),
            ("{", "a message must be valid JSON"),
            ('{"type": "ka", "n": ' + "9" * 4301 + "}", "a message must be valid JSON"),
            ('{"type": "subscribe"}', "unknown message type: subscribe"),
        ]:
            await legacy.socket.send(frame)
            assert await legacy.receive() == {
                "type": "connection_error", "payload": {"message": message, "extensions": code},
            }  # fmt: skip
        await legacy.init(bearer(cast.buyer.token))
        for payload, message in [
            ("{ me { id } }", "the payload of a start message must be an object"),
            ({"variables": {}}, "the payload of a start message needs a query, a string"),
            ({"query": "{ me { id } }", "operationName": 1}, "operationName must be a string"),
        ]:
            await legacy.send({"id": "7", "type": "start", "payload": payload})
            assert await legacy.receive() == {
                "type": "error", "id": "7", "payload": {"message": message, "extensions": code},
            }  # fmt: skip
        await legacy.send({"id": "8", "type": "start", "payload": {"query": "{ me { email } }"}})
        answer = await legacy.receive()
        assert answer["payload"]["data"] == {"me": {"email": cast.buyer.email}}
