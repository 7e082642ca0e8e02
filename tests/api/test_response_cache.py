"""The response cache: public catalog answers come from Redis until what they show changes.

Each test asks its own documents (a comment naming the test makes the text, and so the
key, its own) about vehicles it creates, so no test can see another's entries.
`x-response-cache: HIT` says an answer came from the cache; each invalidation test first
proves the answer is cached, then changes the data through the product's own mutations,
jobs or feed ingestion, and checks the next answer is computed afresh and equal to an
answer computed without the cache.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.persisted_queries import sha256_of
from core.rate_limit import BucketLimit
from core.response_cache import Plan, ResponseCache, cache_key, invalidate, vehicle_tag
from services.feeds.ingest import ingest_run
from services.feeds.runs import create_run
from services.orders.maintenance import expire_reservations
from tests.accounts_data import create_vehicle, trust
from tests.api.conftest import Cast
from tests.api.test_orders import CANCEL, CREATE, gid
from tests.feeds_data import csv_text, feed_rows, new_source, source_vehicles

NO_CACHE = {"cache-control": "no-cache"}

PAGE = """
query Page($make: String!) {
  vehicles(filter: {make: $make}, orderBy: {field: PRICE, direction: ASC}, first: 20) {
    totalCount
    edges { node { id status price { amount } dealer { name }
                   deliveredPrice(destinationCountry: "DE") { total { amount } } } }
  }
}
"""
DETAIL = """
query Detail($id: ID!) {
  vehicle(id: $id) {
    id status mileageKm price { amount }
    deliveredPrice(destinationCountry: "FR") {
      total { amount } marketValue { amount } marketPosition comparableCount
    }
  }
}
"""
UPDATE = """
mutation($input: UpdateVehicleInput!) {
  updateVehicle(input: $input) { vehicle { id } userErrors { field code } }
}
"""
WITHDRAW = """
mutation($input: WithdrawVehicleInput!) {
  withdrawVehicle(input: $input) { vehicle { status } userErrors { field code } }
}
"""


def own(document: str, name: str) -> str:
    """The document under a key of its own (the comment is part of the hashed text)."""
    return f"# {name}\n{document}"


async def ask(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    **headers: str,
) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """Body without extensions, the cache's verdict, and the extensions."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    extensions = body.pop("extensions", {})
    return body, response.headers.get("x-response-cache"), extensions


async def cached(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], **headers: str
) -> dict[str, Any]:
    """Ask until the answer is a hit (the first ask may store it); the hit's body."""
    first, _, _ = await ask(client, query, variables, **headers)
    again, verdict, extensions = await ask(client, query, variables, **headers)
    assert verdict == "HIT", again
    assert again == first
    assert extensions["cost"]["actualQueryCost"] == 1
    return again


async def fresh(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], **headers: str
) -> dict[str, Any]:
    """The next answer must be computed afresh, and equal to one computed without cache."""
    body, verdict, _ = await ask(client, query, variables, **headers)
    assert verdict != "HIT", body
    uncached, _, _ = await ask(client, query, variables, **headers, **NO_CACHE)
    assert body == uncached
    return body


def _make() -> str:
    return "Cachetest" + uuid.uuid4().hex[:8]


async def test_a_catalog_page_follows_created_edited_and_withdrawn_listings(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    make = _make()
    query = own(PAGE, "listings")
    created = []
    for price in ("21000", "23000"):
        body, _, _ = await ask(
            client, CREATE_VEHICLE, {"input": _listing(make, price)}, **cast.dealer.headers
        )
        created.append(body["data"]["createVehicle"]["vehicle"]["id"])
    page = await cached(client, query, {"make": make})
    assert page["data"]["vehicles"]["totalCount"] == 2

    await ask(client, UPDATE, {"input": {"id": created[0], "price": "25000"}},
              **cast.dealer.headers)  # fmt: skip
    page = await fresh(client, query, {"make": make})
    prices = [e["node"]["price"]["amount"] for e in page["data"]["vehicles"]["edges"]]
    assert prices == ["23000.00", "25000.00"]

    await cached(client, query, {"make": make})
    await ask(client, WITHDRAW, {"input": {"id": created[1]}}, **cast.dealer.headers)
    page = await fresh(client, query, {"make": make})
    statuses = [e["node"]["status"] for e in page["data"]["vehicles"]["edges"]]
    assert sorted(statuses) == ["AVAILABLE", "WITHDRAWN"]

    await cached(client, query, {"make": make})
    await ask(client, CREATE_VEHICLE, {"input": _listing(make, "19000")}, **cast.dealer.headers)
    page = await fresh(client, query, {"make": make})
    assert page["data"]["vehicles"]["totalCount"] == 3


async def test_a_delivered_price_follows_its_comparables_and_nothing_else(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    make = _make()
    rows = [
        await create_vehicle(engine, redis, cast.dealer_ids[0], make=make, model="Alpha",
                             price_minor=2_000_000 + i * 10_000, mileage_km=40_000 + i * 1000)
        for i in range(6)
    ]  # fmt: skip
    other = await create_vehicle(engine, redis, cast.dealer_ids[0], make=make, model="Beta")
    query = own(DETAIL, "comparables")
    subject = {"id": gid("Vehicle", rows[0]["id"])}
    elsewhere = {"id": gid("Vehicle", other["id"])}
    before = await cached(client, query, subject)
    await cached(client, query, elsewhere)

    # Another car of the same model gets cheaper: the subject's market value moves.
    comparable = gid("Vehicle", rows[3]["id"])
    await ask(client, UPDATE, {"input": {"id": comparable, "price": "9000"}},
              **cast.dealer.headers)  # fmt: skip
    after = await fresh(client, query, subject)
    assert after != before  # the valuation read the new price
    # A vehicle of another model is not touched by it.
    _, verdict, _ = await ask(client, query, elsewhere)
    assert verdict == "HIT"


async def test_reserving_cancelling_and_expiring_an_order_move_the_cached_vehicle(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0], make=_make())
    query = own(DETAIL, "orders")
    variables = {"id": gid("Vehicle", row["id"])}
    assert (await cached(client, query, variables))["data"]["vehicle"]["status"] == "AVAILABLE"

    order_input = {"vehicleId": variables["id"], "destinationCountry": "DE", "reserve": True}
    body, _, _ = await ask(client, CREATE, {"input": order_input}, **cast.buyer.headers)
    order = body["data"]["createOrder"]["order"]
    assert (await fresh(client, query, variables))["data"]["vehicle"]["status"] == "RESERVED"

    await cached(client, query, variables)
    cancel = {"orderId": order["id"], "expectedVersion": order["version"]}
    body, _, _ = await ask(client, CANCEL, {"input": cancel}, **cast.buyer.headers)
    assert body["data"]["cancelOrder"]["userErrors"] == [], body
    assert (await fresh(client, query, variables))["data"]["vehicle"]["status"] == "AVAILABLE"

    # The expiry job releases a lapsed reservation: the job's change drops the entry too.
    body, _, _ = await ask(client, CREATE, {"input": order_input}, **cast.buyer.headers)
    assert (await fresh(client, query, variables))["data"]["vehicle"]["status"] == "RESERVED"
    await cached(client, query, variables)
    from datetime import timedelta

    from models.base import utcnow

    assert await expire_reservations(engine, redis, now=utcnow() + timedelta(days=1)) >= 1
    assert (await fresh(client, query, variables))["data"]["vehicle"]["status"] == "AVAILABLE"


async def test_a_feed_run_drops_the_pages_and_prices_it_changes(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, tmp_path: Path
) -> None:
    source = new_source()
    [row] = feed_rows(1)
    feed = tmp_path / "feed.csv"
    feed.write_text(csv_text([row]))
    await _ingest(engine, redis, source, feed, cast.dealer_ids[1])
    [vehicle] = (await source_vehicles(engine, source)).values()
    query = own(PAGE, "feeds")
    page_variables = {"make": vehicle["make"]}
    detail_variables = {"id": gid("Vehicle", vehicle["id"])}
    await cached(client, query, page_variables)
    await cached(client, own(DETAIL, "feeds"), detail_variables)

    feed.write_text(csv_text([{**row, "price": "12345.67"}]))
    await _ingest(engine, redis, source, feed, cast.dealer_ids[1])
    await fresh(client, query, page_variables)
    detail = await fresh(client, own(DETAIL, "feeds"), detail_variables)
    assert detail["data"]["vehicle"]["price"] == {"amount": "12345.67"}


async def _ingest(engine: AsyncEngine, redis: Redis, source: str, feed: Path, dealer: int) -> None:
    run = await create_run(engine, source=source, url=str(feed), dealer_id=dealer)
    assert await ingest_run(engine, redis, run["id"]) is not None


async def test_errors_and_private_answers_are_never_kept(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    missing = {"id": gid("Vehicle", 999_999_999)}
    for _ in range(2):
        body, verdict, _ = await ask(client, own(DETAIL, "missing"), missing)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert verdict != "HIT"
    mixed = own("{ me { email } vehicles(first: 1) { totalCount } }", "mixed")
    for _ in range(2):
        body, verdict, _ = await ask(client, mixed, **cast.buyer.headers)
        assert body["data"]["me"]["email"] == cast.buyer.email
        assert verdict is None


async def test_variables_and_audiences_have_entries_of_their_own(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    make = _make()
    await create_vehicle(engine, redis, cast.dealer_ids[0], make=make)
    query = own(PAGE, "audiences")
    await cached(client, query, {"make": make})
    _, verdict, _ = await ask(client, query, {"make": make + "x"})
    assert verdict == "MISS"
    _, verdict, _ = await ask(client, query, {"make": make}, **cast.buyer.headers)
    assert verdict == "MISS"
    # Variables are compared as values: the order of an object's keys does not matter.
    same = own("query($f: VehicleFilterInput) { vehicles(filter: $f) { totalCount } }", "order")
    await cached(client, same, {"f": {"make": make, "yearMin": 2000}})
    _, verdict, _ = await ask(client, same, {"f": {"yearMin": 2000, "make": make}})
    assert verdict == "HIT"


async def test_a_partner_runs_only_registered_operations_even_when_the_answer_is_cached(
    client: httpx.AsyncClient, engine: AsyncEngine, cast: Cast
) -> None:
    query = own(PAGE, "partner " + uuid.uuid4().hex)
    variables = {"make": "Skoda"}
    await cached(client, query, variables)
    partner = {"x-api-key": cast.partner_key}
    body, verdict, _ = await ask(client, query, variables, **partner)
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert verdict != "HIT"
    await trust(engine, "cast-partner", query)
    assert (await cached(client, query, variables, **partner))["data"]["vehicles"]


async def test_no_cache_recomputes_and_no_store_leaves_the_cache_alone(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    make = _make()
    await create_vehicle(engine, redis, cast.dealer_ids[0], make=make)
    query = own(PAGE, "directives")
    _, verdict, _ = await ask(client, query, {"make": make}, **{"cache-control": "no-store"})
    assert verdict is None
    _, verdict, _ = await ask(client, query, {"make": make}, **NO_CACHE)
    assert verdict == "MISS"  # computed, and stored for the next caller
    _, verdict, _ = await ask(client, query, {"make": make})
    assert verdict == "HIT"


async def test_a_persisted_query_registered_by_a_cached_answer_is_registered(
    client: httpx.AsyncClient,
) -> None:
    query = own("{ vehicles(first: 3) { totalCount } }", "apq " + uuid.uuid4().hex)
    await cached(client, query, {})
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}
    registering = await client.post("/graphql", json={"query": query, "extensions": extensions})
    assert registering.headers["x-response-cache"] == "HIT"
    # By hash alone, computed (no-store), so the persisted-query store itself is asked.
    by_hash = await client.post(
        "/graphql", json={"extensions": extensions}, headers={"cache-control": "no-store"}
    )
    assert by_hash.json()["data"] == registering.json()["data"]


async def test_a_get_hit_keeps_the_http_cache_headers(client: httpx.AsyncClient) -> None:
    params = {"query": own("{ vehicles(first: 2) { totalCount } }", "get " + uuid.uuid4().hex)}
    first = await client.get("/graphql", params=params)
    hit = await client.get("/graphql", params=params)
    assert hit.headers["x-response-cache"] == "HIT"
    for header in ("cache-control", "vary", "content-type"):
        assert hit.headers[header] == first.headers[header]
    assert hit.json()["data"] == first.json()["data"]


async def test_an_answer_read_before_an_invalidation_is_not_stored_after_it(
    redis: Redis,
) -> None:
    cache = ResponseCache(redis, ttl_seconds=60)
    limit = BucketLimit(capacity=1000, restore_rate=100)
    vehicle = 880_000_000 + uuid.uuid4().int % 1_000_000
    keys = [cache_key(f"race-{uuid.uuid4()}", None, {}, "anonymous", rules_version="t")
            for _ in range(2)]  # fmt: skip
    plans = []
    for key in keys:
        lookup = await cache.lookup(key, "race-test", limit)
        assert lookup is not None
        assert lookup.body is None
        plans.append(Plan(key=key, document="d", sequence=lookup.sequence,
                          body=b'{"data":{}}', tags={vehicle_tag(vehicle)}))  # fmt: skip
    # The vehicle changes (commit, then invalidation) while the first answer is computed.
    await invalidate(redis, [vehicle_tag(vehicle)])
    assert await cache.store(plans[0]) is False
    assert await redis.exists(keys[0]) == 0
    # An answer whose lookup came after the invalidation read the new rows: kept.
    lookup = await cache.lookup(keys[1], "race-test", limit)
    assert lookup is not None
    plans[1].sequence = lookup.sequence
    assert await cache.store(plans[1]) is True
    assert await invalidate(redis, [vehicle_tag(vehicle)]) == 1
    assert await redis.exists(keys[1]) == 0


async def test_a_redis_failure_is_a_miss_not_an_error() -> None:
    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        cache = ResponseCache(broken, ttl_seconds=60)
        key = cache_key("d", None, {}, "anonymous", rules_version="t")
        assert await cache.lookup(key, "x", BucketLimit(10, 1)) is None
        assert await cache.store(Plan(key=key, document="d", body=b"{}")) is False
        assert await invalidate(broken, ["vehicles"]) == 0
    finally:
        await broken.aclose()


CREATE_VEHICLE = """
mutation($input: CreateVehicleInput!) {
  createVehicle(input: $input) { vehicle { id } userErrors { field code message } }
}
"""


def _listing(make: str, price: str) -> dict[str, Any]:
    from tests.accounts_data import new_vin

    return {
        "vin": new_vin(), "make": make, "model": "Cache", "year": 2021, "mileageKm": 30000,
        "fuel": "PETROL", "transmission": "MANUAL", "bodyType": "HATCHBACK",
        "colour": "Blue", "powerKw": 90, "locationCountry": "DE", "locationCity": "Köln",
        "price": price,
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _cache_is_on(settings: Any) -> None:
    assert settings.response_cache, "these tests need RESPONSE_CACHE on"
