"""GET /metrics: what each part records, with bounded labels, read as Prometheus reads it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from arq import create_pool
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.metrics import OperationNames
from core.persisted_queries import sha256_of
from core.redis_keys import JOB_QUEUE
from core.settings import Settings
from jobs.worker import create_worker, redis_settings
from tests.api.conftest import Cast
from tests.api.subscription_support import bearer, reserved_order, transport_ws

CATALOG_PAGE = """
query MetricsCatalogPage {
  vehicles(first: 20, filter: {status: [AVAILABLE]}) {
    edges { node { id make dealer { name } deliveredPrice(destinationCountry: "DE") { vat { amount } } } }
  }
}
"""
REQUEST_QUOTE = """
mutation MetricsQuote($input: RequestQuoteInput!) { requestQuote(input: $input) { quote { id } } }
"""
Labels = dict[str, str]
# Computed, not answered by the response cache (whose hits run no operation).
COMPUTED = {"cache-control": "no-store"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text, by name and sorted labels."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


async def test_a_query_records_its_request_operation_sql_and_batches(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    response = await client.post("/graphql", json={"query": CATALOG_PAGE}, headers=COMPUTED)
    assert response.status_code == 200
    assert "errors" not in response.json()
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    operation = {"operation": "MetricsCatalogPage"}
    assert (
        delta("autobroker_graphql_operations_total", **operation, type="query", outcome="ok") == 1
    )
    assert (
        delta("autobroker_graphql_operation_duration_seconds_count", **operation, type="query") == 1
    )
    assert delta("autobroker_graphql_sql_statements_count", **operation) == 1
    # A priced catalog page: the page with its dealers joined, and one batched valuation.
    assert delta("autobroker_graphql_sql_statements_sum", **operation) == 2
    prices = {"loader": "DeliveredPriceByVehicleIdLoader"}
    assert delta("autobroker_dataloader_batch_size_count", **prices) == 1
    assert delta("autobroker_dataloader_batch_size_sum", **prices) == 20
    http = {"method": "POST", "route": "/graphql"}
    assert delta("autobroker_http_requests_total", **http, status="2xx") == 1
    assert delta("autobroker_http_request_duration_seconds_count", **http) == 1


async def test_errors_are_counted_by_code_and_rejected_operations_keep_no_new_name(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    await client.post("/graphql", json={"query": "query NeverSeenBefore { nope }"})
    await client.post("/graphql", json={"query": "query Broken {"})
    await client.get("/no/such/path/12345")
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("autobroker_graphql_errors_total", code="BAD_USER_INPUT") == 2
    assert (
        delta(
            "autobroker_graphql_operations_total",
            operation="other",
            type="query",
            outcome="rejected",
        )
        == 1
    )
    # Not parsed, so its name is unknown: counted as anonymous.
    assert (
        delta(
            "autobroker_graphql_operations_total",
            operation="anonymous",
            type="unknown",
            outcome="rejected",
        )
        == 1
    )
    assert "NeverSeenBefore" not in after
    assert "/no/such/path" not in after
    assert (
        delta("autobroker_http_requests_total", method="GET", route="unmatched", status="4xx") == 1
    )


async def test_persisted_query_and_quote_caches_count_hits_and_misses(
    client: httpx.AsyncClient,
) -> None:
    query = "query MetricsApq { vehicles(first: 1) { totalCount } }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}
    vehicle = (await client.post("/graphql", json={"query": CATALOG_PAGE})).json()
    vehicle_id = vehicle["data"]["vehicles"]["edges"][0]["node"]["id"]
    before = await scrape(client)
    missing = await client.post("/graphql", json={"extensions": extensions}, headers=COMPUTED)
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    await client.post("/graphql", json={"query": query, "extensions": extensions}, headers=COMPUTED)
    found = await client.post("/graphql", json={"extensions": extensions}, headers=COMPUTED)
    assert "errors" not in found.json()
    for _ in range(2):
        quoted = await client.post(
            "/graphql",
            json={
                "query": REQUEST_QUOTE,
                "variables": {"input": {"vehicleId": vehicle_id, "destinationCountry": "FR"}},
            },
        )
        assert "errors" not in quoted.json(), quoted.json()
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    apq = {"cache": "persisted_query"}
    assert delta("autobroker_cache_requests_total", **apq, result="miss") == 1
    assert delta("autobroker_cache_requests_total", **apq, result="hit") == 1
    assert delta("autobroker_graphql_errors_total", code="PERSISTED_QUERY_NOT_FOUND") == 1
    quote_hits = delta("autobroker_cache_requests_total", cache="quote", result="hit")
    quote_misses = delta("autobroker_cache_requests_total", cache="quote", result="miss")
    assert (quote_hits + quote_misses, quote_hits >= 1) == (2, True)


async def test_job_runs_are_counted_by_job_and_outcome(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    before = await scrape(client)
    pool = await create_pool(redis_settings(settings), default_queue_name=JOB_QUEUE)
    try:
        job = await pool.enqueue_job("expire_reservations")
        assert job is not None
        worker = create_worker(settings, handle_signals=False, burst=True)
        worker.cron_jobs = []
        await worker.main()
        await worker.close()
        await job.result(timeout=5)
    finally:
        await pool.aclose()
    after = await scrape(client)
    job_labels = {"job": "expire_reservations", "outcome": "success"}
    assert (
        value(after, "autobroker_job_runs_total", **job_labels)
        - value(before, "autobroker_job_runs_total", **job_labels)
        == 1
    )
    assert value(after, "autobroker_job_duration_seconds_count", **job_labels) >= 1


async def test_websocket_connections_and_subscriptions_are_gauged(
    live_server: str, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    order_id = await reserved_order(engine, redis, cast)
    async with httpx.AsyncClient(base_url=live_server) as http:
        idle = await scrape(http)
        assert value(idle, "autobroker_websocket_connections") == 0
        async with transport_ws(live_server, bearer(cast.buyer.token)) as ws:
            await ws.subscribe("1", order_id, after=3)
            busy: str = ""
            for _ in range(50):  # the subscription starts just after the message is read
                busy = await scrape(http)
                if value(busy, "autobroker_graphql_subscriptions_active") == 1:
                    break
                await asyncio.sleep(0.05)
            assert value(busy, "autobroker_websocket_connections") == 1
            assert value(busy, "autobroker_graphql_subscriptions_active") == 1
        done: str = ""
        for _ in range(50):
            done = await scrape(http)
            if value(done, "autobroker_websocket_connections") == 0:
                break
            await asyncio.sleep(0.05)
        assert value(done, "autobroker_websocket_connections") == 0
        assert value(done, "autobroker_graphql_subscriptions_active") == 0
        cancelled = {
            "operation": "StatusChanged",
            "type": "subscription",
            "outcome": "cancelled",
        }  # counted since the server started: other tests subscribe on it too
        assert (
            value(done, "autobroker_graphql_operations_total", **cancelled)
            == value(idle, "autobroker_graphql_operations_total", **cancelled) + 1
        ), [line for line in done.splitlines() if "operations_total{" in line]


def test_operation_names_are_bounded() -> None:
    names = OperationNames(limit=2)
    assert names.label("First", admit=True) == "First"
    assert names.label("Second", admit=False) == "other"  # a rejected document adds none
    assert names.label("Second", admit=True) == "Second"
    assert names.label("Third", admit=True) == "other"  # past the limit
    assert names.label("First", admit=False) == "First"  # known names stay
    assert names.label(None, admit=True) == "anonymous"
    assert OperationNames().label("x" * 65, admit=True) == "other"
    assert OperationNames().label("has space", admit=True) == "other"
    assert OperationNames().label({"not": "a name"}, admit=True) == "other"


def test_metric_labels_never_hold_identifiers(live_server: str) -> None:
    """Every label of every sample comes from a bounded set (see core/metrics.py)."""
    text = httpx.get(f"{live_server}/metrics").text
    allowed: dict[str, Any] = {
        "method": {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"},
        "status": {"1xx", "2xx", "3xx", "4xx", "5xx", "other"},
        "type": {"query", "mutation", "subscription", "unknown"},
        "outcome": {"ok", "error", "rejected", "cancelled", "success", "retry", "failure"},
        "result": {"hit", "miss"},
        "cache": {"quote", "persisted_query", "response"},
    }
    for (name, labels), _ in samples(text).items():
        for label, label_value in labels:
            if label in allowed:
                assert label_value in allowed[label], (name, label, label_value)
            elif label == "route":
                assert label_value == "unmatched" or label_value.startswith("/"), label_value
                assert not any(ch.isdigit() for ch in label_value), label_value
            elif label == "code":
                assert label_value.isupper() or label_value == "OTHER", label_value
