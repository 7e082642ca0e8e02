"""The valuation model in quotes over GraphQL: the vehicle line names the model and its
interval when it values the car, a priced page of 50 still costs three statements, and a
corrupt model leaves the comparables to value every vehicle without an error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import start_counting
from schema.ids import to_global_id
from services.pricing import invalidate_vehicle_quotes
from services.pricing.engine import ModelValuation, market_value
from services.pricing.model_evaluation import Evaluation
from services.pricing.model_serving import ACTIVE_MODEL
from services.pricing.model_store import activate_model, save_model
from services.pricing.rules import current_rules
from services.pricing.valuation import Subject, value_vehicles
from tests.api.test_quotes import DELIVERED_PAGE
from tests.conftest import graphql
from tests.valuation_data import NOW, serve_model, stored_models, trained_model

NO_STORE = {"cache-control": "no-store"}  # computed, not served by the response cache

VALUATION = "marketValue { amount } valuationSource valuationModelVersion lines { label }"
REQUEST_QUOTE = f"""
mutation RequestQuote($input: RequestQuoteInput!) {{
  requestQuote(input: $input) {{ quote {{ id {VALUATION} }} userErrors {{ code }} }}
}}
"""
QUOTE = f"query Quote($id: ID!) {{ quote(id: $id) {{ {VALUATION} }} }}"
PAGE = """
query Page($first: Int!) {
  vehicles(first: $first, filter: {country: ["DE"], status: [AVAILABLE]}) { edges { node {
    id deliveredPrice(destinationCountry: "FR") { marketValue { amount } valuationSource
      valuationModelVersion }
  } } }
}
"""


@pytest.fixture
async def models(engine: AsyncEngine) -> AsyncIterator[tuple[bytes, Evaluation]]:
    async with stored_models(engine):
        yield trained_model()


async def _valued(engine: AsyncEngine) -> dict[int, Subject]:
    async with engine.connect() as conn:
        ids = (await conn.execute(sa.text(
            "SELECT id FROM vehicle WHERE status = 'AVAILABLE' AND location_country = 'DE'"
            " ORDER BY id LIMIT 200"
        ))).scalars().all()  # fmt: skip
        return await value_vehicles(conn, ids, current_rules())


def _confident(subject: Subject) -> ModelValuation | None:
    assert subject.market is not None
    model = subject.market.model
    if model is None or model.relative_width() > current_rules().model_max_interval_share:
        return None
    return model


async def _quote_line(client: httpx.AsyncClient, redis: Redis, vehicle_id: int) -> dict[str, Any]:
    await invalidate_vehicle_quotes(redis, vehicle_id)  # priced now, not from the cache
    body = await graphql(client, REQUEST_QUOTE, {"input": {
        "vehicleId": to_global_id("Vehicle", vehicle_id), "destinationCountry": "FR"}})  # fmt: skip
    assert "errors" not in body, body
    quote = body["data"]["requestQuote"]["quote"]
    stored = await graphql(client, QUOTE, {"id": quote.pop("id")})
    assert stored == {"data": {"quote": quote}}  # persisted with its valuation
    return {"label": quote["lines"][0]["label"], "value": quote["marketValue"]["amount"],
            "source": quote["valuationSource"], "version": quote["valuationModelVersion"]}  # fmt: skip


async def test_a_confident_model_values_the_quote_and_its_line_says_so(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, models: tuple[bytes, Evaluation]
) -> None:
    version = await serve_model(engine, *models)
    valued = await _valued(engine)
    confident = {vid: m for vid, s in valued.items() if (m := _confident(s)) is not None}
    unsure = [vid for vid, s in valued.items() if vid not in confident and s.market
              and s.market.comparable_count >= current_rules().comparable_min_count]  # fmt: skip
    assert confident, "the model is confident of some common cars"
    vehicle_id, model = next(iter(confident.items()))
    line = await _quote_line(client, redis, vehicle_id)
    assert line["value"] == str(model.value)
    assert (line["source"], line["version"]) == ("MODEL", version)
    assert line["label"].endswith(
        f"; model v{version} values it at {model.value:,.2f} EUR "
        f"(80 % interval {model.low:,.2f}-{model.high:,.2f})"
    )
    if unsure:  # a car the model is unsure of keeps the comparables' value, and says why
        subject = valued[unsure[0]]
        assert subject.market is not None
        line = await _quote_line(client, redis, unsure[0])
        assert f"(model v{version} unsure: interval " in line["label"]
        assert (line["source"], line["version"]) == ("COMPARABLES", None)
        assert Decimal(line["value"]) == market_value(subject.market, current_rules()).value


@pytest.mark.parametrize("page_size", [50])
async def test_a_priced_page_still_costs_three_statements_with_a_model(
    client: httpx.AsyncClient, engine: AsyncEngine, models: tuple[bytes, Evaluation],
    page_size: int,
) -> None:  # fmt: skip
    await serve_model(engine, *models)
    counter = start_counting(keep_text=True)
    body = await graphql(client, DELIVERED_PAGE, {"first": page_size, "country": "IT"}, **NO_STORE)
    assert "errors" not in body, body
    assert len(body["data"]["vehicles"]["edges"]) == page_size
    assert counter.count == 3, counter.statements


async def test_a_corrupt_model_leaves_quotes_to_the_comparables(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, models: tuple[bytes, Evaluation]
) -> None:
    async with engine.begin() as conn:
        version = await save_model(conn, b"corrupt", models[1], trained_at=NOW)
    await activate_model(engine, version)
    valued = await _valued(engine)  # the process has not polled yet: no model
    assert await ACTIVE_MODEL.refresh(engine) is None
    vehicle_id = next(
        vid for vid, s in valued.items() if s.market and s.market.comparable_count > 5
    )
    line = await _quote_line(client, redis, vehicle_id)
    assert "comparables value it at" in line["label"]
    assert line["label"].endswith("(no model)")
    assert (line["source"], line["version"]) == ("COMPARABLES", None)


async def test_a_catalog_page_says_what_valued_each_price(
    client: httpx.AsyncClient, engine: AsyncEngine, models: tuple[bytes, Evaluation]
) -> None:
    version = await serve_model(engine, *models)
    body = await graphql(client, PAGE, {"first": 50}, **NO_STORE)
    assert "errors" not in body, body
    prices = [edge["node"]["deliveredPrice"] for edge in body["data"]["vehicles"]["edges"]]
    sources = {(p["valuationSource"], p["valuationModelVersion"]) for p in prices if p}
    assert ("MODEL", version) in sources
    assert sources <= {("MODEL", version), ("COMPARABLES", None), ("NONE", None)}
    assert all((p["marketValue"] is None) == (p["valuationSource"] == "NONE") for p in prices if p)
