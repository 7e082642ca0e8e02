"""Protection: document limits, query cost, rate limits, batches and introspection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from core.app import create_app
from core.settings import Settings

COST_QUERY = "{ vehicles(first: 10) { edges { node { vin } } } }"
# Computed every time: a response-cache hit costs 1 point (tested below), not the query's.
COMPUTED = {"cache-control": "no-store"}


@asynccontextmanager
async def _client_for(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(f"10.9.{id(overrides) % 250}.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def client_for(settings: Settings, database: str) -> Callable[..., Any]:
    return lambda **overrides: _client_for(settings, **overrides)


async def test_cost_is_reported_on_every_response(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": COST_QUERY}, headers=COMPUTED)).json()
    cost = body["extensions"]["cost"]
    # vehicles 1 + edges (1 + 10 x (node 1 + vin 1)) requested; 10 rows came back
    assert cost["requestedQueryCost"] == 22
    assert cost["actualQueryCost"] == 22
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] > status["currentlyAvailable"] > 0
    assert status["restoreRate"] > 0


async def test_a_short_page_costs_what_it_returned(client: httpx.AsyncClient) -> None:
    query = '{ vehicles(first: 50, filter: {search: "nosuchmodel"}) { edges { node { vin } } } }'
    body = (await client.post("/graphql", json={"query": query})).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 102
    assert body["extensions"]["cost"]["actualQueryCost"] == 2


async def test_a_query_above_the_maximum_cost_is_refused_naming_both_numbers(
    client: httpx.AsyncClient,
) -> None:
    query = """{ dealers(first: 100) { edges { node {
        vehicles(first: 100) { edges { node { vin make model } } } } } } }"""
    response = await client.post("/graphql", json={"query": query})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    requested = error["extensions"]["requestedQueryCost"]
    maximum = error["extensions"]["maximumQueryCost"]
    assert requested > maximum
    assert str(requested) in error["message"]
    assert str(maximum) in error["message"]
    assert "data" not in response.json()


async def test_a_burst_over_the_limit_gets_429_and_recovers(client_for: Callable[..., Any]) -> None:
    # 100 points, 50 a second: four 22-point queries pass, the fifth waits
    async with client_for(rate_limit_anonymous=(100, 50)) as client:
        statuses = []
        for _ in range(5):
            response = await client.post("/graphql", json={"query": COST_QUERY}, headers=COMPUTED)
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 200, 429]
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        retry_after = int(response.headers["retry-after"])
        assert retry_after == body["errors"][0]["extensions"]["retryAfter"] >= 1
        await asyncio.sleep(retry_after)
        again = await client.post("/graphql", json={"query": COST_QUERY}, headers=COMPUTED)
        assert again.status_code == 200
        assert "errors" not in again.json()


async def test_cached_answers_cost_one_point_and_an_empty_bucket_still_refuses(
    client_for: Callable[..., Any],
) -> None:
    # 30 points, 1 a second: the 22-point query is computed once, then served from the
    # cache at 1 point a time until the bucket is empty.
    query = "# hit costs\n" + COST_QUERY
    async with client_for(rate_limit_anonymous=(30, 1)) as client:
        first = await client.post("/graphql", json={"query": query})
        assert first.json()["extensions"]["cost"]["requestedQueryCost"] == 22
        available = first.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        hits = []
        for _ in range(available + 3):
            response = await client.post("/graphql", json={"query": query})
            if response.status_code != 200:
                break
            assert response.headers["x-response-cache"] == "HIT"
            assert response.json()["extensions"]["cost"]["actualQueryCost"] == 1
            hits.append(response)
        assert available <= len(hits) <= available + 2  # the bucket refills 1 a second
        assert response.status_code == 429
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(response.headers["retry-after"]) >= 1


def _deep(levels: int) -> str:
    inner = "vin"
    for _ in range(levels):
        inner = f"dealer {{ vehicles(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    return f"{{ vehicles(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (_deep(10), "depth"),
        (
            "{ "
            + " ".join(f"a{i}: vehicles(first: 1) {{ totalCount }}" for i in range(200))
            + " }",
            "aliases",
        ),
        ("{ vehicles(first: 1) { edges { node { " + "vin " * 2000 + "} } } }", "same field"),
        (
            "{ vehicles(first: 1) { edges { node { "
            + ("dealer { " + "name " * 45 + "} ") * 15
            + "} } } }",
            "fields",
        ),
        (
            "{ vehicles(first: 1) { "
            + "__typename @include(if: true) totalCount @include(if: true) " * 30
            + "} }",
            "directives",
        ),
        ("{ __typename " + "@aa" * 10 + " }", "repeated directives"),
    ],
    ids=[
        "deep nesting",
        "alias flood",
        "field duplication",
        "field flood",
        "directive flood",
        "directive overloading",
    ],
)
async def test_attack_shapes_are_refused_before_validation(
    client: httpx.AsyncClient, query: str, limit: str
) -> None:
    response = await client.post("/graphql", json={"query": query})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert error["extensions"]["limit"] == limit


async def test_a_token_flood_is_refused_by_the_parser(client: httpx.AsyncClient) -> None:
    query = (
        "{ vehicles(first: 1) { totalCount } }" + " " + "query Q { __typename } " * 700
    )  # 3,500 tokens in 16,000 characters
    response = await client.post("/graphql", json={"query": query})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "tokens" in error["message"]


async def test_batches_run_and_are_capped(client: httpx.AsyncClient) -> None:
    batch = [{"query": "{ vehicles(first: 1) { totalCount } }"}] * 3
    response = await client.post("/graphql", json=batch)
    assert [item["data"]["vehicles"]["totalCount"] > 0 for item in response.json()] == [True] * 3
    flood = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 50)
    assert flood.status_code == 400


async def test_introspection_can_be_switched_off(client_for: Callable[..., Any]) -> None:
    async with client_for(introspection=False) as client:
        response = await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "introspection" in response.json()["errors"][0]["message"].lower()
        ordinary = await client.post(
            "/graphql", json={"query": "{ vehicles(first: 1) { totalCount } }"}
        )
        assert "errors" not in ordinary.json()


async def test_cors_allows_only_configured_origins(client_for: Callable[..., Any]) -> None:
    async with client_for(cors_origins=["https://shop.example"]) as client:
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        }
        allowed = await client.options(
            "/graphql", headers={"origin": "https://shop.example", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        refused = await client.options(
            "/graphql", headers={"origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in refused.headers
