"""Production's defaults show nothing of the schema and multiply no request's work:
introspection (and Federation's `_service`), field suggestions, GraphiQL, query text by
GET, batches and /metrics beside /graphql are off; development keeps every one on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from core.app import create_app
from core.settings import Environment, Settings

TYPO_FIELD = "{ vehicles(first: 1) { totalCont } }"
TYPO_ENUM = "query Sorted($by: VehicleOrderBy) { vehicles(first: 1, orderBy: $by) { totalCount } }"
SDL = "{ _service { sdl } }"
INTROSPECTION = "{ __schema { types { name } } }"
TYPE_BY_NAME = '{ __type(name: "Vehicle") { fields { name } } }'
CATALOG = "{ vehicles(first: 1) { totalCount } }"

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_in(settings: Settings, database: str) -> Client:
    """A client of an app built in the given environment, from settings as that
    environment reads them (its defaults, then `overrides` as if set explicitly)."""

    @asynccontextmanager
    async def open_client(
        environment: Environment, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        chosen = Settings(
            environment=environment,
            database_url=settings.database_url,
            redis_url=settings.redis_url,
            rate_limit_anonymous=settings.rate_limit_anonymous,
            _env_file=None,
            **overrides,
        )
        app = create_app(chosen)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c

    return open_client


def _messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


def _codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_production_refuses_introspection_and_the_federation_sdl(client_in: Client) -> None:
    async with client_in(Environment.PRODUCTION, federation=True) as client:
        for query in (INTROSPECTION, TYPE_BY_NAME, SDL):
            response = await client.post("/graphql", json={"query": query})
            assert response.status_code == 200, response.text
            assert set(_codes(response)) == {"BAD_USER_INPUT"}, response.json()
            assert "introspection has been disabled" in _messages(response)[0], query
            assert "data" not in response.json()
        typename = await client.post("/graphql", json={"query": "{ __typename }"})
        assert typename.json()["data"] == {"__typename": "Query"}
        # A router's run-time requests still resolve.
        entities = await client.post(
            "/graphql",
            json={"query": "{ _entities(representations: []) { __typename } }"},
        )
        assert entities.json()["data"] == {"_entities": []}


async def test_development_serves_the_federation_sdl_and_introspection(client_in: Client) -> None:
    async with client_in(Environment.DEVELOPMENT, federation=True) as client:
        sdl = (await client.post("/graphql", json={"query": SDL})).json()
        assert "type Vehicle" in sdl["data"]["_service"]["sdl"]
        schema = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
        assert {"name": "Vehicle"} in schema["data"]["__schema"]["types"]


async def test_production_errors_make_no_suggestions(client_in: Client) -> None:
    async with client_in(Environment.PRODUCTION) as client:
        field = await client.post("/graphql", json={"query": TYPO_FIELD})
        assert _messages(field) == ["Cannot query field 'totalCont' on type 'VehicleConnection'."]
        enum = await client.post(
            "/graphql",
            json={"query": TYPO_ENUM, "variables": {"by": {"field": "PRCE", "direction": "ASC"}}},
        )
        assert _codes(enum) == ["BAD_USER_INPUT"]
        assert "PRCE" in _messages(enum)[0]
        assert "Did you mean" not in _messages(enum)[0]
        introspective = await client.post("/graphql", json={"query": "{ __schema { directive } }"})
        assert not any("Did you mean" in message for message in _messages(introspective))


async def test_development_keeps_the_suggestions(client_in: Client) -> None:
    async with client_in(Environment.DEVELOPMENT) as client:
        field = await client.post("/graphql", json={"query": TYPO_FIELD})
        assert _messages(field) == [
            "Cannot query field 'totalCont' on type 'VehicleConnection'. Did you mean 'totalCount'?"
        ]


async def test_production_serves_no_graphiql_and_no_metrics_beside_graphql(
    client_in: Client,
) -> None:
    async with client_in(Environment.PRODUCTION) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 406
        assert "graphiql" not in page.text.lower()
        assert (await client.get("/metrics")).status_code == 404
    async with client_in(Environment.DEVELOPMENT) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        assert (await client.get("/metrics")).status_code == 200
    async with client_in(Environment.DEVELOPMENT, metrics_port=9) as client:
        assert (await client.get("/metrics")).status_code == 404  # on its own port only


async def test_production_get_runs_persisted_queries_only(client_in: Client) -> None:
    digest = hashlib.sha256(CATALOG.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    async with client_in(Environment.PRODUCTION) as client:
        text = await client.get("/graphql", params={"query": CATALOG})
        assert text.status_code == 405
        assert text.headers["allow"] == "POST"
        assert _codes(text) == ["BAD_USER_INPUT"]
        assert "persisted queries only" in _messages(text)[0]
        unknown = await client.get("/graphql", params={"extensions": extensions})
        assert _codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
        registered = await client.post(
            "/graphql", json={"query": CATALOG, "extensions": json.loads(extensions)}
        )
        assert registered.json()["data"]["vehicles"]["totalCount"] > 0
        by_hash = await client.get("/graphql", params={"extensions": extensions})
        assert by_hash.json()["data"] == registered.json()["data"]
    async with client_in(Environment.DEVELOPMENT) as client:
        text = await client.get("/graphql", params={"query": CATALOG})
        assert text.json()["data"]["vehicles"]["totalCount"] > 0


async def test_production_refuses_batches_unless_switched_on(client_in: Client) -> None:
    batch = [{"query": "{ __typename }"}] * 2
    async with client_in(Environment.PRODUCTION) as client:
        refused = await client.post("/graphql", json=batch)
        assert refused.status_code == 400
        assert _codes(refused) == ["BAD_USER_INPUT"]
    async with client_in(Environment.PRODUCTION, batching=True) as client:
        answered = await client.post("/graphql", json=batch)
        assert [item["data"] for item in answered.json()] == [{"__typename": "Query"}] * 2
