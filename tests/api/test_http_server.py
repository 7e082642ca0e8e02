"""The API over a real uvicorn socket: GraphQL, GraphiQL page, health, request ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Servers, _free_port, running_uvicorn

QUERY = """{ vehicles(first: 3, filter: {status: [AVAILABLE]}) {
  totalCount edges { node { vin status } } } }"""


def test_graphql_over_a_real_socket(live_server: str) -> None:
    response = httpx.post(f"{live_server}/graphql", json={"query": QUERY}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()["data"]["vehicles"]
    assert data["totalCount"] > 0
    assert [edge["node"]["status"] for edge in data["edges"]] == ["AVAILABLE"] * 3


def test_queries_may_come_by_get(live_server: str) -> None:
    response = httpx.get(f"{live_server}/graphql", params={"query": QUERY}, timeout=10)
    assert response.status_code == 200
    assert len(response.json()["data"]["vehicles"]["edges"]) == 3


def test_graphiql_page_is_served_to_browsers(live_server: str) -> None:
    response = httpx.get(f"{live_server}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    assert "vehicles(" in response.text


def test_request_id_is_echoed_or_made(live_server: str) -> None:
    given = httpx.get(f"{live_server}/health/live", headers={"x-request-id": "abc-123"}, timeout=5)
    assert given.headers["x-request-id"] == "abc-123"
    made = httpx.get(
        f"{live_server}/health/live", headers={"x-request-id": "bad id <script>"}, timeout=5
    )
    assert len(made.headers["x-request-id"]) == 32


def test_health_endpoints(live_server: str) -> None:
    assert httpx.get(f"{live_server}/health/live", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{live_server}/health/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.fixture(params=["database", "redis"])
def server_with_a_dead_dependency(
    request: pytest.FixtureRequest, servers: Servers, database: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    dead_port = _free_port()  # nothing listens there
    broken = (
        Servers(
            f"postgresql+asyncpg://postgres@127.0.0.1:{dead_port}/none", servers.redis_url, False
        )
        if request.param == "database"
        else Servers(servers.database_url, f"redis://127.0.0.1:{dead_port}/0", False)
    )
    with running_uvicorn(broken, tmp_path / "server.log") as base_url:
        yield request.param, base_url


def test_ready_and_graphql_without_a_dependency(
    server_with_a_dead_dependency: tuple[str, str],
) -> None:
    failing, base_url = server_with_a_dead_dependency
    ready = httpx.get(f"{base_url}/health/ready", timeout=15)
    checks = ready.json()["checks"]
    assert checks == {
        name: "unavailable" if name == failing else "ok" for name in ("database", "redis")
    }
    # asked with no-store: an answer the response cache still holds is served even then
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": "{ vehicles(first: 1) { totalCount } }"},
        headers={"cache-control": "no-store"},
        timeout=15,
    )
    if failing == "database":
        # not ready; what needs the database is refused with a coded 503, no stack trace
        assert (ready.status_code, ready.json()["status"]) == (503, "unavailable")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        body = response.json()
        assert body.pop("extensions")["cost"]["actualQueryCost"] == 0
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": "temporarily unavailable (database); retry in 5 s",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["vehicles"],
                    "extensions": {
                        "code": "SERVICE_UNAVAILABLE",
                        "retryAfter": 5,
                        "dependency": "database",
                    },
                }
            ],
        }
    else:
        # serving without Redis: degraded, and the catalog answers (its rate limit is
        # kept by the process meanwhile)
        assert (ready.status_code, ready.json()["status"]) == (200, "degraded")
        assert response.status_code == 200
        assert response.json()["data"]["vehicles"]["totalCount"] > 0
        assert "errors" not in response.json()
