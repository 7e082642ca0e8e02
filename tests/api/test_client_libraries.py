"""The GraphQL clients frontends use, run by Node against a live server (tests/clients).

Each library plays one buyer's session (tests/clients/scenario.mjs): sign in, read the
buyer and a vehicle, order it with a reservation, be refused another buyer's order
stream, then follow the order live: the replayed history, two transitions made here by
the services (as another process would), the client's own cancelOrder, and the stream's
`complete`. The sockets behave as a browser's (a binary frame arrives as a Blob).

Needs Node and `npm ci --prefix tests/clients` (CI installs both and sets
AUTOBROKER_REQUIRE_NODE=1, so a missing install fails instead of skipping).
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from services.orders.queries import fetch_events_by_order_ids
from tests.accounts_data import PASSWORD, create_user, create_vehicle
from tests.api.conftest import Cast
from tests.api.subscription_support import WAIT_SECONDS, churn, gid, reserved_order
from tests.node_packages import TESTS_DIR, require_node

CLIENTS_DIR = TESTS_DIR / "clients"
LIBRARIES = ("graphql-ws", "apollo", "urql", "urql-sse", "subscriptions-transport-ws")


def _order_pk(global_id: str) -> int:
    padded = global_id + "=" * (-len(global_id) % 4)
    type_name, _, pk = base64.urlsafe_b64decode(padded).decode().partition(":")
    assert type_name == "Order", global_id
    return int(pk)


def _without_typename(value: Any) -> Any:
    """Apollo's cache adds __typename to every selection; the others do not."""
    if isinstance(value, dict):
        return {k: _without_typename(v) for k, v in value.items() if k != "__typename"}
    if isinstance(value, list):
        return [_without_typename(item) for item in value]
    return value


async def _line(process: asyncio.subprocess.Process, stderr: Path) -> dict[str, Any]:
    assert process.stdout is not None
    raw = await asyncio.wait_for(process.stdout.readline(), WAIT_SECONDS * 4)
    assert raw, f"the client ended early:\n{stderr.read_text()[-3000:]}"
    line: dict[str, Any] = json.loads(raw)
    return line


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_buyer_session_through_the_client_library(
    library: str,
    live_server: str,
    engine: AsyncEngine,
    redis: Redis,
    cast: Cast,
    settings: Settings,
    tmp_path: Path,
) -> None:
    node = require_node(CLIENTS_DIR, "graphql-ws")
    buyer = await create_user(engine, settings, UserRole.BUYER)
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    foreign_order = await reserved_order(engine, redis, cast)
    config = {
        "email": buyer.email,
        "password": PASSWORD,
        "vehicleId": gid("Vehicle", vehicle["id"]),
        "foreignOrderId": gid("Order", foreign_order),
    }
    stderr = tmp_path / "client.stderr"
    with stderr.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            node, str(CLIENTS_DIR / "run.mjs"), library, live_server,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(config).encode())
        process.stdin.close()
        ready = await _line(process, stderr)
        order_id = _order_pk(ready["ready"])
        # Checkout and a failed payment, committed by another process than the server.
        await churn(engine, redis, order_id, 2, buyer_id=buyer.id)
        result = _without_typename((await _line(process, stderr))["result"])
        assert await asyncio.wait_for(process.wait(), WAIT_SECONDS) == 0, stderr.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    order = gid("Order", order_id)
    async with engine.connect() as conn:
        rows = (await fetch_events_by_order_ids(conn, [order_id], after_sequence=1))[order_id]
    assert result["me"] == {"id": gid("User", buyer.id), "email": buyer.email, "role": "BUYER"}
    assert result["vehicle"] == {
        "id": gid("Vehicle", vehicle["id"]),
        "make": vehicle["make"],
        "model": vehicle["model"],
        "status": "AVAILABLE",
        "price": {"amount": "18990.00", "currency": "EUR"},
    }
    assert result["created"] == {"order": {"id": order, "status": "RESERVED"}, "userErrors": []}
    assert result["refused"] == ["FORBIDDEN"]
    # Each event as written, once and in order; `order` is read when it is delivered.
    assert [{k: v for k, v in e.items() if k != "order"} for e in result["events"]] == [
        {
            "sequence": row["sequence"],
            "from": row["from_status"],
            "to": row["to_status"],
            "actor": row["actor"],
            "reason": row["reason"],
        }
        for row in rows
    ]
    assert {e["order"]["id"] for e in result["events"]} == {order}
    assert result["events"][-1]["order"]["status"] == "CANCELLED"
    assert [(e["sequence"], e["to"]) for e in result["events"]] == [
        (2, "QUOTED"), (3, "RESERVED"), (4, "PAYMENT_PENDING"), (5, "PAYMENT_FAILED"),
        (6, "CANCELLED"),
    ]  # fmt: skip
    assert result["events"][-1]["reason"] == "changed my mind"
    assert result["cancelled"] == {
        "cancelOrder": {"order": {"id": order, "status": "CANCELLED"}, "userErrors": []}
    }
    if library == "apollo":
        _assert_persisted_queries_by_get(result["observed"]["http"])


def _assert_persisted_queries_by_get(exchanges: list[dict[str, Any]]) -> None:
    """Apollo's persisted-query link: each query's hash alone by GET, unknown at first (so
    the text follows by POST), a hit the second time; mutations by POST with their text."""
    by_operation = [(e["operationName"], e["method"], e["sentQuery"]) for e in exchanges]
    assert by_operation == [
        ("SignIn", "POST", False), ("SignIn", "POST", True),
        ("Me", "GET", False), ("Me", "POST", True), ("Me", "GET", False),
        ("Vehicle", "GET", False), ("Vehicle", "POST", True), ("Vehicle", "GET", False),
        ("Order", "POST", False), ("Order", "POST", True),
        ("Cancel", "POST", False), ("Cancel", "POST", True),
    ], exchanges  # fmt: skip
    assert {e["status"] for e in exchanges} == {200}
    assert {e["clientName"] for e in exchanges} == {"autobroker-client-tests"}
