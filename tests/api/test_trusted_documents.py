"""Trusted documents: partners run only the operations they registered."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.app import create_app
from core.settings import Environment, Settings
from services.accounts.documents import register_manifest
from services.accounts.partners import create_api_key
from tests.api.conftest import Cast
from tests.conftest import ROOT

CATALOG = "query PartnerCatalog($n: Int!) { vehicles(first: $n) { totalCount } }"
FIRST_PARTY = "query AppHome { vehicles(first: 1) { totalCount } }"


def _manifest(*operations: tuple[str, str]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": op_id, "name": op_id, "type": "query", "body": body}
            for op_id, body in operations
        ],
    }


@pytest.fixture(scope="module")
async def registered(engine: AsyncEngine) -> str:
    """A partner of its own (other tests add to the shared one); returns its key."""
    key = await create_api_key(engine, "trusted-documents-partner")
    async with engine.connect() as conn:
        partner_id = await conn.scalar(
            sa.text("SELECT id FROM partner WHERE name = 'trusted-documents-partner'")
        )
    await register_manifest(engine, partner_id, _manifest(("catalog-v1", CATALOG)))
    await register_manifest(engine, None, _manifest(("home-v1", FIRST_PARTY)))
    return key.key


def _partner(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def test_a_partner_runs_a_registered_operation_by_id_hash_or_text(
    client: httpx.AsyncClient, registered: str
) -> None:
    digest = hashlib.sha256(CATALOG.encode()).hexdigest()
    by_id = await client.post(
        "/graphql",
        json={"documentId": "catalog-v1", "variables": {"n": 1}},
        headers=_partner(registered),
    )
    by_hash = await client.post(
        "/graphql",
        json={
            "variables": {"n": 1},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        },
        headers=_partner(registered),
    )
    by_get = await client.get("/graphql", params={"documentId": f"sha256:{digest}", "variables": '{"n": 1}'},
                              headers=_partner(registered))  # fmt: skip
    by_text = await client.post(
        "/graphql", json={"query": CATALOG, "variables": {"n": 1}}, headers=_partner(registered)
    )
    for response in (by_id, by_hash, by_get, by_text):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["vehicles"]["totalCount"] > 0


async def test_anything_else_is_not_allowed(
    client: httpx.AsyncClient, cast: Cast, registered: None
) -> None:
    attempts = [
        {"query": "{ vehicles(first: 1) { totalCount } }"},
        {"documentId": "no-such-operation"},
        {"documentId": "home-v1"},  # first-party, not this partner's
        {"documentId": "catalog-v1", "query": "{ dealers(first: 1) { totalCount } }"},
    ]
    for body in attempts:
        response = await client.post("/graphql", json=body, headers=_partner(registered))
        errors = response.json()["errors"]
        assert errors[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED", body
        assert "data" not in response.json()


@pytest.fixture
async def strict_client(settings: Settings, database: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"require_registered_operations": True,
                                                 "environment": Environment.DEVELOPMENT}))  # fmt: skip
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c


async def test_the_switch_holds_every_client_but_staff_and_graphiql(
    strict_client: httpx.AsyncClient, cast: Cast, registered: str
) -> None:
    adhoc = {"query": "{ vehicles(first: 1) { totalCount } }"}
    anonymous = await strict_client.post("/graphql", json=adhoc)
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    first_party = await strict_client.post("/graphql", json={"documentId": "home-v1"})
    assert first_party.json()["data"]["vehicles"]["totalCount"] > 0
    staff = await strict_client.post("/graphql", json=adhoc, headers=cast.admin.headers)
    assert "errors" not in staff.json()
    graphiql = await strict_client.post("/graphql", json=adhoc, headers={"X-GraphiQL": "1"})
    assert "errors" not in graphiql.json()


def test_register_operations_command(tmp_path: Path, database: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest(("cli-v1", CATALOG), ("cli-v2", FIRST_PARTY))))
    env = {**os.environ, "DATABASE_URL": database}
    ok = subprocess.run([sys.executable, "-m", "core.cli", "register-operations", str(manifest), "--partner", "cli-partner"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "registered 2 operations for partner 'cli-partner'"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                    "operations": [{"id": "x", "type": "query", "body": "mutation { x }"}]}))  # fmt: skip
    bad = subprocess.run([sys.executable, "-m", "core.cli", "register-operations", str(manifest)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "autobroker: MANIFEST: operations[0].body: must hold exactly one query"
    ]


async def test_over_a_websocket_a_partner_runs_registered_operations_only(
    live_server: str, engine: AsyncEngine, cast: Cast
) -> None:
    from tests.accounts_data import trust
    from tests.api.subscription_support import transport_ws

    registered = "query SocketCatalog { vehicles(first: 2) { totalCount } }"
    unregistered = "query SocketOther { vehicles(first: 3) { totalCount } }"
    await trust(engine, "cast-partner", registered)
    async with transport_ws(live_server, {"X-API-Key": cast.partner_key}) as ws:
        await ws.send({"id": "1", "type": "subscribe", "payload": {"query": unregistered}})
        refused = await ws.receive()
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        await ws.send({"id": "2", "type": "subscribe", "payload": {"query": registered}})
        answered = await ws.receive()
        assert answered["type"] == "next", answered
        assert answered["payload"]["data"]["vehicles"]["totalCount"] > 0
    # A signed-in buyer is not held to registered operations (the switch is off).
    async with transport_ws(live_server, {"Authorization": f"Bearer {cast.buyer.token}"}) as ws:
        await ws.send({"id": "1", "type": "subscribe", "payload": {"query": unregistered}})
        assert (await ws.receive())["type"] == "next"
