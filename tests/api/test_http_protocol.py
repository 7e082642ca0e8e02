"""GraphQL over HTTP: media types, status codes and refusals before execution."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.api.test_metrics import samples, scrape, value

GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY = {"query": "{ vehicles(first: 1) { totalCount } }"}


async def test_the_newer_media_type_is_used_when_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    legacy = await client.post("/graphql", json=QUERY, headers={"accept": "application/json"})
    assert legacy.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ vehicles { "},  # syntax
        {"query": "{ vehicles { nothing } }"},  # validation
        {
            "query": "query($n: Int!) { vehicles(first: $n) { totalCount } }",
            "variables": {"n": "x"},
        },
    ],
)
async def test_request_errors_are_400_without_data(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    strict = await client.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE})
    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert strict.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    legacy = await client.post("/graphql", json=body, headers={"accept": "application/json"})
    assert legacy.status_code == 200
    assert "data" not in legacy.json()


async def test_field_errors_keep_data_and_200(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": '{ vehicle(id: "VmVoaWNsZTo5OTk5OTk5") { vin } }'},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"vehicle": None}


async def test_unsupported_content_type_is_415(client: httpx.AsyncClient) -> None:
    # also the CSRF case: a form a foreign site could post without a preflight
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"content-type": content_type},
        )
        assert response.status_code == 415, content_type
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nothing_acceptable_is_406(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"accept": "text/xml"})
    assert response.status_code == 406


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = '{"query": "{ __typename }", "variables": {"pad": "' + "x" * 2_000_000 + '"}}'
    response = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_other_methods_are_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json=QUERY)
    assert response.status_code == 405


async def test_a_mutation_over_get_is_405_allowing_post(client: httpx.AsyncClient) -> None:
    mutation = 'mutation { login(input: {email: "a@b.eu", password: "x"}) { accessToken } }'
    response = await client.get("/graphql", params={"query": mutation})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


SUBSCRIPTION = """subscription Follow($id: ID!) {
  orderStatusChanged(orderId: $id) { sequence }
}"""
SUBSCRIPTIONS_ELSEWHERE = (
    "subscriptions are served over WebSocket (graphql-transport-ws, or the legacy "
    "graphql-ws) and Server-Sent Events (graphql-sse), not by a plain HTTP request"
)


@pytest.mark.parametrize(
    ("method", "accept", "status"),
    [
        ("POST", GRAPHQL_RESPONSE, 400),
        ("POST", "application/json", 200),
        ("GET", GRAPHQL_RESPONSE, 400),
        ("GET", "application/json", 200),
    ],
)
async def test_a_subscription_in_a_plain_request_is_a_request_error(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    accept: str,
    status: int,
) -> None:
    before = await scrape(client)
    variables = {"id": "T3JkZXI6MQ"}
    if method == "POST":
        body = {"query": SUBSCRIPTION, "variables": variables}
        response = await client.post("/graphql", json=body, headers={"accept": accept})
    else:
        params = {"query": SUBSCRIPTION, "variables": json.dumps(variables)}
        response = await client.get("/graphql", params=params, headers={"accept": accept})

    assert response.status_code == status
    assert response.headers["content-type"] == accept
    assert response.json() == {
        "errors": [{"message": SUBSCRIPTIONS_ELSEWHERE, "extensions": {"code": "BAD_USER_INPUT"}}]
    }
    # Nothing unexpected: no stack trace in the log, no internal error counted.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    after = await scrape(client)
    errors = "autobroker_graphql_errors_total"
    assert value(after, errors, code="INTERNAL_SERVER_ERROR") == value(
        before, errors, code="INTERNAL_SERVER_ERROR"
    )
    assert (
        value(after, errors, code="BAD_USER_INPUT")
        == value(before, errors, code="BAD_USER_INPUT") + 1
    )
    # Counted as refused before execution (under `other`: a refused operation's name is
    # never admitted as a label), never as an error.
    assert _subscriptions(after, "rejected") == _subscriptions(before, "rejected") + 1
    assert _subscriptions(after, "error") == _subscriptions(before, "error")


def _subscriptions(text: str, outcome: str) -> float:
    return sum(
        count
        for (name, labels), count in samples(text).items()
        if name == "autobroker_graphql_operations_total"
        and ("type", "subscription") in labels
        and ("outcome", outcome) in labels
    )
