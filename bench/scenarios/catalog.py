"""The catalog's read scenarios: a catalog page, a vehicle's page, the page by GET."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import asyncpg
import httpx

from bench.operations import (
    CATALOG_PAGE,
    CATALOG_PAGE_VARIABLES,
    VEHICLE_DETAIL,
    sha256_hex,
)
from bench.requests import HttpRequest, graphql_get, graphql_post
from bench.scenario import BenchEnv, Scenario, send
from bench.servers import Contender
from schema.ids import to_global_id

DETAIL_VEHICLES = 32
DETAIL_DESTINATION = "FR"
# The API keeps public catalog answers in its response cache; the uncached scenarios ask
# it not to (the floor and the naive baseline have no such cache and ignore the header).
NO_STORE = ("Cache-Control", "no-store")


def uncached(contender: Contender, requests: Sequence[HttpRequest]) -> list[HttpRequest]:
    """The requests as sent to this contender, bypassing the API's response cache."""
    if contender is not Contender.API:
        return list(requests)
    return [replace(request, headers=(*request.headers, NO_STORE)) for request in requests]


class CatalogPage(Scenario):
    name = "catalog-page"
    title = (
        "50 vehicles (14 fields, dealer, price delivered to DE), filtered by fuel, year, "
        "price and status, sorted by price, with totalCount and pageInfo; POST"
    )

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        return uncached(contender, [graphql_post(CATALOG_PAGE, CATALOG_PAGE_VARIABLES)])


class CatalogPageCached(Scenario):
    name = "catalog-page-cached"
    title = (
        "the catalog page served from the API's response cache (Redis), against the "
        "floor computing it; the cache is warmed by one request before timing"
    )
    contenders = (Contender.FLOOR, Contender.API)

    async def prepare(self, env: BenchEnv) -> None:
        [request] = self.requests(Contender.API)
        request = replace(request, path=env.servers[Contender.API].base_url + request.path)
        async with httpx.AsyncClient(timeout=60) as client:
            for _ in range(2):  # the first stores the answer, the second must be a hit
                response = await send(client, request)
        if response.headers.get("x-response-cache") != "HIT":
            raise RuntimeError(f"the API did not answer from its cache: {response.text[:300]}")

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        return [graphql_post(CATALOG_PAGE, CATALOG_PAGE_VARIABLES)]


class VehicleDetail(Scenario):
    name = "vehicle-detail"
    title = (
        f"one vehicle (17 fields, dealer, full delivered price to {DETAIL_DESTINATION}), "
        f"cycling over {DETAIL_VEHICLES} available vehicles; POST"
    )

    def __init__(self) -> None:
        self.vehicle_ids: list[int] = []

    async def prepare(self, env: BenchEnv) -> None:
        conn = await asyncpg.connect(env.dsn)
        try:
            # Spread over the table, the same ones on every run of the same catalog.
            rows = await conn.fetch(
                "SELECT id FROM vehicle WHERE status = 'AVAILABLE'"
                " ORDER BY (id * 2654435761) % 1000003, id LIMIT $1",
                DETAIL_VEHICLES,
            )
        finally:
            await conn.close()
        self.vehicle_ids = [row["id"] for row in rows]
        if not self.vehicle_ids:
            raise RuntimeError("the catalog has no available vehicle to show")

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        return uncached(
            contender,
            [
                graphql_post(
                    VEHICLE_DETAIL,
                    {"id": to_global_id("Vehicle", pk), "destination": DETAIL_DESTINATION},
                )
                for pk in self.vehicle_ids
            ],
        )


class CatalogPageByPersistedGet(Scenario):
    name = "catalog-page-pq-get"
    title = (
        "the catalog page as an automatic persisted query by GET (hash and variables in "
        "the URL; the naive baseline, which has no persisted queries, sends the text)"
    )

    async def prepare(self, env: BenchEnv) -> None:
        # Registers the text under its hash, as a client's first (POST) request does.
        body = {
            "query": CATALOG_PAGE,
            "variables": CATALOG_PAGE_VARIABLES,
            "extensions": self._extensions(),
        }
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.post(
                env.servers[Contender.API].base_url + "/graphql", json=body
            )
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"registering the persisted query failed: {response.text[:500]}")

    @staticmethod
    def _extensions() -> dict[str, object]:
        return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(CATALOG_PAGE)}}

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        if contender is Contender.NAIVE:
            return [graphql_get({"query": CATALOG_PAGE, "variables": CATALOG_PAGE_VARIABLES})]
        return uncached(
            contender,
            [graphql_get({"variables": CATALOG_PAGE_VARIABLES, "extensions": self._extensions()})],
        )
