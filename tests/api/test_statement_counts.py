"""SQL statements per catalog page are pinned: DataLoaders batch, page size does not matter."""

from __future__ import annotations

import httpx
import pytest

from core.db import start_counting
from tests.conftest import graphql

# Counted answers are computed, never served by the response cache.
NO_STORE = {"cache-control": "no-store"}

CATALOG_WITH_DEALERS = """
query($first: Int!) {
  vehicles(first: $first, orderBy: {field: PRICE, direction: ASC}) {
    totalCount
    edges { node { id vin make model price { amount currency } dealer { id name city rating } } }
  }
}
"""

DEALERS_WITH_VEHICLES = """
query($first: Int!) {
  dealers(first: $first) {
    edges { node { name vehicles(first: 5) { totalCount edges { node { vin dealer { name } } } } } }
  }
}
"""


@pytest.mark.parametrize("page_size", [50, 100])
async def test_catalog_page_with_dealers_costs_two_statements(
    client: httpx.AsyncClient, page_size: int
) -> None:
    counter = start_counting(keep_text=True)
    body = await graphql(client, CATALOG_WITH_DEALERS, {"first": page_size}, **NO_STORE)
    assert "errors" not in body, body
    assert len(body["data"]["vehicles"]["edges"]) == page_size
    # the page with its dealers joined, and its total count
    assert counter.count == 2, counter.statements
    assert "JOIN dealer" in counter.statements[0]


@pytest.mark.parametrize("page_size", [10, 40])
async def test_dealers_with_their_vehicles_cost_a_constant_number(
    client: httpx.AsyncClient, page_size: int
) -> None:
    counter = start_counting(keep_text=True)
    body = await graphql(client, DEALERS_WITH_VEHICLES, {"first": page_size}, **NO_STORE)
    assert "errors" not in body, body
    assert len(body["data"]["dealers"]["edges"]) == page_size
    # dealers page, one LATERAL query for every dealer's vehicles, one grouped count
    # (their dealers are primed from the page, so no further dealer look-up)
    assert counter.count == 3, counter.statements


async def test_a_page_selects_only_the_columns_it_needs(client: httpx.AsyncClient) -> None:
    counter = start_counting(keep_text=True)
    await graphql(client, "{ vehicles(first: 5) { edges { node { vin } } } }", **NO_STORE)
    [statement] = counter.statements
    select_list = statement.split("FROM")[0]
    assert "vin" in select_list
    assert "make" not in select_list
    assert "price_minor" not in select_list
