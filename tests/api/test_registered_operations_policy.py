"""One registered-operations policy over HTTP and WebSocket: with the switch on, everyone
but staff and partners' own registered operations is refused; GraphiQL's mark exempts it
outside production, as a header over HTTP and in connection_init over the WebSocket (in
production it exempts nothing: tests/unit/test_registered_operations_rule.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Cast
from tests.api.subscription_support import transport_ws
from tests.conftest import Servers, running_uvicorn

ADHOC = "query PolicyAdhoc { vehicles(first: 1) { totalCount } }"
MARK = {"X-GraphiQL": "1"}


@pytest.fixture
def strict_development(servers: Servers, database: str, tmp_path: Path) -> Iterator[str]:
    env = {"ENVIRONMENT": "development", "REQUIRE_REGISTERED_OPERATIONS": "true"}
    with running_uvicorn(servers, tmp_path / "server.log", extra_env=env) as url:
        yield url


async def _over_http(base_url: str, headers: dict[str, str]) -> str | None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        body = (await client.post("/graphql", json={"query": ADHOC}, headers=headers)).json()
    return body["errors"][0]["extensions"]["code"] if "errors" in body else None


async def _over_websocket(base_url: str, init: dict[str, str]) -> str | None:
    async with transport_ws(base_url, init) as ws:
        await ws.send({"id": "1", "type": "subscribe", "payload": {"query": ADHOC}})
        answer = await ws.receive()
    if answer["type"] == "error":
        return str(answer["payload"][0]["extensions"]["code"])
    assert answer["type"] == "next", answer
    assert answer["payload"]["data"]["vehicles"]["totalCount"] >= 0
    return None


async def test_in_development_graphiql_and_staff_run_unregistered_operations_everywhere(
    strict_development: str, cast: Cast
) -> None:
    url = strict_development
    refused = "PERSISTED_QUERY_NOT_ALLOWED"
    assert await _over_http(url, {}) == refused
    assert await _over_websocket(url, {}) == refused
    assert await _over_http(url, MARK) is None
    assert await _over_websocket(url, MARK) is None
    admin = {"Authorization": f"Bearer {cast.admin.token}"}
    assert await _over_http(url, admin) is None
    assert await _over_websocket(url, admin) is None
    # A partner is held to its own registered operations, GraphiQL's mark or not.
    partner = {"X-API-Key": cast.partner_key, **MARK}
    assert await _over_http(url, partner) == refused
    assert await _over_websocket(url, partner) == refused
