"""Automatic persisted queries, Apollo's protocol: miss, register, hit, by POST and GET."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx

QUERY_TEMPLATE = "query Apq{n} {{ vehicles(first: 2) {{ edges {{ node {{ vin }} }} }} }}"


def _fresh_query() -> tuple[str, str]:
    # A text no other test has registered: unique operation name.
    query = QUERY_TEMPLATE.format(n=uuid.uuid4().hex[:12])
    return query, hashlib.sha256(query.encode()).hexdigest()


def _extensions(digest: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_round_trip_by_post(client: httpx.AsyncClient) -> None:
    query, digest = _fresh_query()
    miss = await client.post("/graphql", json={"extensions": _extensions(digest)})
    assert miss.status_code == 200
    assert miss.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    register = await client.post(
        "/graphql", json={"query": query, "extensions": _extensions(digest)}
    )
    assert len(register.json()["data"]["vehicles"]["edges"]) == 2
    hit = await client.post("/graphql", json={"extensions": _extensions(digest)})
    assert hit.json()["data"] == register.json()["data"]


async def test_round_trip_by_get_with_cache_headers(client: httpx.AsyncClient) -> None:
    query, digest = _fresh_query()
    params = {"extensions": json.dumps(_extensions(digest))}
    miss = await client.get("/graphql", params=params)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["cache-control"] == "no-store"
    register = await client.get("/graphql", params={**params, "query": query})
    assert "errors" not in register.json()
    hit = await client.get("/graphql", params=params)
    assert hit.status_code == 200
    assert hit.json()["data"] == register.json()["data"]
    assert hit.headers["cache-control"] == "public, max-age=60"
    assert "Authorization" in hit.headers["vary"]


async def test_a_hash_that_does_not_match_the_text_is_refused(client: httpx.AsyncClient) -> None:
    query, _ = _fresh_query()
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = await client.post(
        "/graphql", json={"query": query, "extensions": _extensions(wrong)}
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "does not match" in error["message"]
    later = await client.post("/graphql", json={"extensions": _extensions(wrong)})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_only_documents_that_pass_validation_are_stored(client: httpx.AsyncClient) -> None:
    query = "query Invalid" + uuid.uuid4().hex[:8] + " { vehicles { noSuchField } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    refused = await client.post(
        "/graphql", json={"query": query, "extensions": _extensions(digest)}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    later = await client.post("/graphql", json={"extensions": _extensions(digest)})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_malformed_persisted_query_extension(client: httpx.AsyncClient) -> None:
    for extension in ({"version": 2, "sha256Hash": "a" * 64}, {"version": 1, "sha256Hash": "xyz"}):
        response = await client.post("/graphql", json={"extensions": {"persistedQuery": extension}})
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
