"""A resolver that fails while a sibling still has SQL in flight on the operation's
connection: the request answers coded errors, and the connection goes back to the pool
clean (or is discarded), so the requests after it are served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from core.app import create_app
from core.settings import Settings
from schema.ids import to_global_id
from tests.accounts_data import PASSWORD
from tests.api.conftest import Cast
from tests.api.sse_support import view_of

# A Dealer and a FeedRun: the FeedRun refuses an anonymous caller while the Dealer loads.
DEALER_AND_FEED_RUN = '{ nodes(ids: ["RGVhbGVyOjE", "RmVlZFJ1bjox"]) { id } }'
# A bad id fails the non-null root field while dealer(id:) reads.
BAD_ID_BESIDE_A_READ = '{ nodes(ids: ["!!"]) { id } dealer(id: "RGVhbGVyOjE") { id name } }'
DEALER = "query Dealer($id: ID!) { dealer(id: $id) { id name } }"
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken userErrors { code } }
}
"""
IDLE_IN_TRANSACTION = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'autobroker'
  AND state LIKE 'idle in transaction%'
"""


@pytest.fixture
async def one_connection_app(settings: Settings, database: str) -> AsyncIterator[Any]:
    """An application whose pool has a single connection: every request reuses it."""
    app = create_app(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    async with app.router.lifespan_context(app):
        yield app


async def _post(client: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = variables
    return await client.post("/graphql", json=body, headers={"cache-control": "no-store"})


async def test_a_resolver_failing_beside_sql_in_flight_leaves_the_pool_clean(
    one_connection_app: Any, db_conn: asyncpg.Connection, cast: Cast
) -> None:
    dealer_id, name = await db_conn.fetchrow("SELECT id, name FROM dealer ORDER BY id LIMIT 1")
    dealer = {"id": to_global_id("Dealer", dealer_id), "name": name}
    transport = httpx.ASGITransport(app=one_connection_app, client=("10.17.1.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await _post(client, DEALER_AND_FEED_RUN)
        assert first.status_code == 200
        [error] = first.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"

        second = await _post(client, BAD_ID_BESIDE_A_READ)
        assert second.status_code == 200
        codes = [e["extensions"]["code"] for e in second.json()["errors"]]
        assert codes == ["BAD_USER_INPUT"]

        for index in range(100):
            if index % 10 == 0:
                response = await _post(
                    client, LOGIN, input={"email": cast.buyer.email, "password": PASSWORD}
                )
                assert response.status_code == 200, response.text
                assert response.json()["data"]["login"]["accessToken"]
            else:
                response = await _post(client, DEALER, id=dealer["id"])
                assert response.status_code == 200, response.text
                assert response.json()["data"] == {"dealer": dealer}
                assert "errors" not in response.json()
    assert await db_conn.fetchval(IDLE_IN_TRANSACTION) == 0
    pool: Any = view_of(one_connection_app).database.engine.pool
    assert pool.checkedout() == 0
