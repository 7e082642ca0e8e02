"""Cheap requests that would tie the server up are refused before validation, quickly and
with a code; what is let through costs what it asks for."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.app import create_app
from core.settings import Settings
from schema.ids import to_global_id

QUICKLY = 0.2  # seconds: a refusal must cost less than this, on a loaded machine too
VEHICLE = to_global_id("Vehicle", 1)
ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename }
}
"""


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a Federation subgraph (so `_entities` exists), with its default limits."""
    app = create_app(settings.model_copy(update={"federation": True}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.17.2.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _timed(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    content = json.dumps(
        body, separators=(",", ":")
    ).encode()  # encoded before the clock starts: the server's time
    headers = {"cache-control": "no-store", "content-type": "application/json"}
    started = time.perf_counter()
    response = await client.post("/graphql", content=content, headers=headers)
    elapsed = time.perf_counter() - started
    return elapsed, response.json()


def _representations(count: int) -> list[dict[str, Any]]:
    return [{"__typename": "Vehicle", "id": to_global_id("Vehicle", n)} for n in range(count)]


async def test_a_list_argument_longer_than_the_limit_is_refused_naming_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = {"query": ENTITIES, "variables": {"representations": _representations(19_000)}}
    elapsed, answer = await _timed(client, body)
    assert answer == {
        "errors": [
            {
                "message": f"_entities(representations): a list of 19000 items; "
                f"at most {settings.max_input_list_length}",
                "extensions": {
                    "code": "BAD_USER_INPUT",
                    "field": "representations",
                    "maximum": settings.max_input_list_length,
                },
            }
        ]
    }
    assert elapsed < QUICKLY


async def test_each_representation_counts_in_the_cost(client: httpx.AsyncClient) -> None:
    body = {"query": ENTITIES, "variables": {"representations": _representations(300)}}
    _, answer = await _timed(client, body)
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 1 + 300


async def test_each_duplicated_field_counts_in_the_cost(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f'vehicle(id: "{VEHICLE}") {{ vin }}' for _ in range(3)) + " }"
    _, answer = await _timed(client, {"query": query})
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 3 + 3


async def test_a_field_repeated_past_the_limit_is_refused_before_validation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    query = "{ " + " ".join(f'vehicle(id: "{VEHICLE}") {{ vin }}' for _ in range(295)) + " }"
    elapsed, answer = await _timed(client, {"query": query})
    [error] = answer["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "same field",
        "maximum": settings.max_query_same_field,
    }
    assert elapsed < QUICKLY


async def test_a_document_longer_than_the_limit_is_refused_before_validation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    query = "{ " + " ".join(f"unknown{n}{'x' * 2048}" for n in range(200)) + " }"
    elapsed, answer = await _timed(client, {"query": query})
    [error] = answer["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "characters",
        "maximum": settings.max_query_characters,
    }
    assert elapsed < QUICKLY


async def test_many_tokens_are_refused_by_the_parser(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    query = "{ " + " ".join("__typename" for _ in range(settings.max_query_tokens)) + " }"
    elapsed, answer = await _timed(client, {"query": query})
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert elapsed < QUICKLY
