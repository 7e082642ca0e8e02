"""Bodies that are not a GraphQL request, and failures nothing else caught: always a
coded JSON answer carrying the request id, never Starlette's plain-text 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from core.app import create_app
from core.error_boundary import INTERNAL_MESSAGE
from core.settings import Settings

JSON = {"content-type": "application/json"}
QUERY = "query($v: JSON) { __typename }"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MALFORMED = {
    "variables nested 255 deep": (
        '{"query": "{ __typename }", "variables": {"v": ' + _nested(255) + "}}"
    ).encode(),
    "a batch inside a batch": b'[[{"query": "{ __typename }"}]]',
    "an invalid UTF-8 byte": b'{"query": "{ __typename \xff }"}',
    "an integer of 4,301 digits": (
        '{"query": "{ __typename }", "variables": {"n": ' + "9" * 4301 + "}}"
    ).encode(),
    "a lone value in a batch": b'[1, {"query": "{ __typename }"}]',
    "not JSON at all": b"{query",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_a_malformed_body_is_a_coded_400(
    client: httpx.AsyncClient, body: bytes, accept: str
) -> None:
    response = await client.post("/graphql", content=body, headers={**JSON, "accept": accept})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(accept)
    assert response.headers["x-request-id"]
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json()


@pytest.fixture
async def failing_app(settings: Settings, database: str) -> AsyncIterator[Starlette]:
    """The application with one more route that fails in a way nothing expects."""
    app = create_app(settings)

    async def broken(request: Request) -> Any:
        raise RuntimeError("secret detail of the failure")

    app.router.routes.append(Route("/broken", broken))
    async with app.router.lifespan_context(app):
        yield app


async def test_any_unexpected_failure_is_a_coded_json_500_with_the_request_id(
    failing_app: Starlette,
) -> None:
    transport = httpx.ASGITransport(app=failing_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/broken", headers={"x-request-id": "req-17-boundary"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-17-boundary"
    assert response.json() == {
        "errors": [
            {
                "message": INTERNAL_MESSAGE,
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-17-boundary"},
            }
        ]
    }
    assert "secret" not in response.text


@pytest.mark.parametrize(
    "variables",
    ['{"v": ' + _nested(100) + "}", '{"n": ' + "9" * 4301 + "}", '{"n": NaN}', "{"],
    ids=["nested 100 deep", "4,301 digits", "NaN", "not JSON"],
)
async def test_malformed_variables_by_get_are_a_coded_400(
    client: httpx.AsyncClient, variables: str
) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ __typename }", "variables": variables}
    )
    assert response.status_code == 400, response.text
    assert response.headers["x-request-id"]
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
