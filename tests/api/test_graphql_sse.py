"""GraphQL over Server-Sent Events on the wire: answers framed as events, coded refusals,
subscriptions over GET, cost and rate limit, keep-alive comments, what a disconnect
releases, and the end of every stream on shutdown. Over real sockets. (A subscription
without an event stream: tests/api/test_http_protocol.py.)"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core import metrics
from core.app import create_app
from core.event_streams import STOPPING_COMMENT
from core.settings import Settings
from tests.api.conftest import Cast
from tests.api.sse_support import (
    WAIT_SECONDS,
    Event,
    EventReader,
    event_stream,
    framed,
    served,
    view_of,
)
from tests.api.subscription_support import (
    STATUS_CHANGED,
    bearer,
    churn,
    expected,
    reserved_order,
    variables,
    without_cost,
)
from tests.conftest import Servers, start_uvicorn
from tests.process_support import terminate

URQL_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)
COMPLETE = Event("complete", None)
COSTLY = STATUS_CHANGED.replace(
    "order { id status }", "order { id status number version destinationCountry createdAt }"
)


def _refusal(message: str) -> list[Event]:
    error = {"message": message, "extensions": {"code": "BAD_USER_INPUT"}}
    return [Event("next", {"errors": [error]}), COMPLETE]


@pytest.fixture(scope="module")
async def small_app(settings: Settings) -> AsyncIterator[tuple[str, Any]]:
    """An API in this process behind uvicorn: keep-alive every 0.2 s, a maximum query cost
    of 12, and 12 points (1 a second) for anonymous callers. Its URL, and the app."""
    app = create_app(
        settings.model_copy(
            update={
                "sse_keep_alive_seconds": 0.2,
                "max_query_cost": 12,
                "rate_limit_anonymous": (12, 1),
            }
        )
    )
    async with served(app) as base_url:
        yield base_url, app


async def test_an_events_only_client_gets_each_answer_as_one_event_then_complete(
    live_server: str,
) -> None:
    events = await framed(live_server, {"query": "query SseTypename { __typename }"})
    assert [(e.name, without_cost(e.data) if e.data else None) for e in events] == [
        ("next", {"data": {"__typename": "Query"}}),
        ("complete", None),
    ]


async def test_a_client_that_also_accepts_json_gets_json_and_streams_subscriptions(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=WAIT_SECONDS) as client:
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": URQL_ACCEPT}
        )
    assert response.headers["content-type"] == "application/graphql-response+json"
    assert response.json()["data"] == {"__typename": "Query"}
    order_id = await reserved_order(engine, redis, cast)
    body = {"query": STATUS_CHANGED, "variables": variables(order_id, 2)}
    headers = {**bearer(cast.buyer.token), "accept": URQL_ACCEPT}
    async with event_stream(live_server, body, headers) as events:
        assert events.response.headers["content-type"] == "text/event-stream"
        first = await events.next()
        assert first is not None
        assert first.data["data"]["orderStatusChanged"]["sequence"] == 3


async def test_refusals_before_execution_are_coded_next_events(live_server: str) -> None:
    query = "query Known { __typename }"
    cases: list[tuple[Any, list[Event]]] = [
        ([{"query": query}], _refusal("Batching is not supported for SSE")),
        ({"query": query, "operationName": "Unknown"}, _refusal('Unknown operation named "Unknown".')),
        ({"variables": {}}, _refusal("no GraphQL query in the request")),
        ({"query": 42}, _refusal(
            "The GraphQL operation's `query` must be a string or null, if provided.")),
    ]  # fmt: skip
    for body, answer in cases:
        assert await framed(live_server, body) == answer, body
    [syntax, complete] = await framed(live_server, {"query": "query {"})
    assert syntax.data["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Syntax Error" in syntax.data["errors"][0]["message"]
    assert complete == COMPLETE
    async with httpx.AsyncClient(base_url=live_server, timeout=WAIT_SECONDS) as client:
        malformed = await client.post(
            "/graphql",
            content=b'{"query": ',
            headers={"accept": "text/event-stream", "content-type": "application/json"},
        )
    assert malformed.status_code == 200
    assert malformed.text == (
        'event: next\ndata: {"errors":[{"message":"not valid JSON: Expecting value: line 1 '
        'column 11 (char 10)","extensions":{"code":"BAD_USER_INPUT"}}]}\n\n'
        "event: complete\ndata: \n\n"
    )


async def test_refusals_of_the_exchange_itself_keep_their_status(live_server: str) -> None:
    headers = {"accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=live_server, timeout=WAIT_SECONDS) as client:
        oversized = await client.post(
            "/graphql", json={"query": "{ __typename }", "pad": "x" * 1_000_001}, headers=headers
        )
        not_json = await client.post(
            "/graphql", content=b"query { __typename }", headers={**headers, "content-type": "text/plain"}
        )  # fmt: skip
    assert (oversized.status_code, oversized.json()["errors"][0]["extensions"]) == (
        413, {"code": "BAD_USER_INPUT"}
    )  # fmt: skip
    assert (not_json.status_code, not_json.json()["errors"][0]["extensions"]) == (
        415, {"code": "BAD_USER_INPUT"}
    )  # fmt: skip


async def test_a_subscription_streams_over_get_as_an_event_source_would_ask(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    params = {"query": STATUS_CHANGED, "variables": json.dumps(variables(order_id, 2))}
    headers = {**bearer(cast.buyer.token), "accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(base_url=live_server, timeout=WAIT_SECONDS) as client,
        client.stream("GET", "/graphql", params=params, headers=headers) as response,
    ):
        events = EventReader(response)
        first = await events.next()
        assert first is not None
        assert first.data["data"]["orderStatusChanged"]["sequence"] == 3
        [applied] = await churn(engine, redis, order_id, 1, buyer_id=cast.buyer.id)
        live = await events.next()
        assert live is not None
        assert without_cost(live.data) == {"data": {"orderStatusChanged": expected(applied)}}


async def test_a_subscription_is_costed_and_rate_limited_when_it_starts(
    small_app: tuple[str, Any], engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    base_url, _ = small_app
    order_id = await reserved_order(engine, redis, cast)
    body = {"query": COSTLY, "variables": variables(order_id, 0)}
    [too_complex, complete] = await framed(base_url, body, bearer(cast.buyer.token))
    assert too_complex.data["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX", "requestedQueryCost": 14, "maximumQueryCost": 12
    }  # fmt: skip
    assert complete == COMPLETE
    # Anonymous callers have 12 points here: the first subscription spends 10 (then is
    # refused, as nobody may follow an order anonymously), the second finds 2 left.
    body = {"query": STATUS_CHANGED, "variables": variables(order_id, 0)}
    [first, _] = await framed(base_url, body)
    [second, _] = await framed(base_url, body)
    assert first.data["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    [limited] = second.data["errors"]
    assert limited["extensions"]["code"] == "RATE_LIMITED"
    assert limited["message"].startswith("rate limit: this query costs 10 and 2 is available")


async def test_keep_alive_comments_flow_while_no_event_happens(
    small_app: tuple[str, Any], engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    base_url, _ = small_app
    order_id = await reserved_order(engine, redis, cast)
    body = {"query": STATUS_CHANGED, "variables": variables(order_id, 3)}
    async with event_stream(base_url, body, bearer(cast.buyer.token)) as events:
        started = time.monotonic()
        comments = [await events.next(comments=True) for _ in range(3)]
    assert comments == [Event(None, "ping")] * 3
    assert time.monotonic() - started < 3


async def _until(condition: Any) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_disconnect_ends_the_subscription_and_releases_what_it_held(
    small_app: tuple[str, Any], engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    base_url, app = small_app
    view = view_of(app)
    assert view.order_events is not None
    hub, pool = view.order_events, view.database.engine.pool
    # Earlier tests' streams on this server have ended (their clients went away).
    await _until(lambda: hub.subscriber_count == 0 and len(view.open_streams) == 0)
    active = metrics.ACTIVE_SUBSCRIPTIONS._value.get()
    order_id = await reserved_order(engine, redis, cast)
    body = {"query": STATUS_CHANGED, "variables": variables(order_id, 2)}
    async with event_stream(base_url, body, bearer(cast.buyer.token)) as events:
        assert (await events.next()) is not None
        await _until(lambda: hub.subscriber_count == 1)
        assert len(view.open_streams) == 1
        assert metrics.ACTIVE_SUBSCRIPTIONS._value.get() == active + 1
        assert pool.checkedout() == 0  # waiting for an event holds no connection
    await _until(lambda: hub.subscriber_count == 0 and len(view.open_streams) == 0)
    await _until(lambda: metrics.ACTIVE_SUBSCRIPTIONS._value.get() == active)
    assert pool.checkedout() == 0


async def test_shutdown_ends_every_stream_at_once_without_complete(
    servers: Servers, database: str, tmp_path: Path, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    log = tmp_path / "server.log"
    process, base_url = start_uvicorn(servers, log)
    try:
        body = {"query": STATUS_CHANGED, "variables": variables(order_id, 2)}
        async with event_stream(base_url, body, bearer(cast.buyer.token)) as events:
            assert (await events.next()) is not None
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert await events.next(comments=True) == Event(None, STOPPING_COMMENT)
            assert await events.next(comments=True) is None  # the response ended cleanly
            assert time.monotonic() - stopped_at < 3
        # uvicorn re-raises the stop signal once it has shut down cleanly.
        assert process.wait(timeout=WAIT_SECONDS) == -signal.SIGTERM
    finally:
        terminate(process)
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert "Traceback" not in text
