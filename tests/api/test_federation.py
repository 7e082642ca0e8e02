"""Apollo Federation v2: the subgraph SDL, `_entities` through the DataLoaders and the
permission rules, coded errors for bad representations, cost, the switch, composition.

The composition tests need Node and `npm ci --prefix tests/federation` (CI does both,
and sets AUTOBROKER_REQUIRE_NODE=1 so a missing install fails instead of skipping).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from core import cli
from core.app import create_app
from core.db import start_counting
from core.settings import Settings
from models.account import UserRole
from schema.federation import FEDERATION_DIRECTIVES, FEDERATION_FIELDS, FEDERATION_TYPES
from schema.ids import to_global_id as gid
from services.orders.lifecycle import Actor, ActorKind
from services.orders.ordering import create_order
from services.payments.checkout import checkout
from services.payments.stripe_gateway import StripeGateway
from tests.accounts_data import TestUser, create_user, create_vehicle, new_vin
from tests.api.conftest import Cast
from tests.conftest import graphql
from tests.node_packages import TESTS_DIR, require_node
from tests.stripe_fixtures import reserved_order

COMPOSITION_DIR = TESTS_DIR / "federation"

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Vehicle { id vin make }
    ... on Dealer { id name }
    ... on Quote { id destinationCountry }
    ... on Order { id number }
    ... on Payment { id attempt order { id } }
  }
}
"""
VEHICLES_WITH_DEALERS = """
query VehicleEntities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Vehicle { vin dealer { name } } }
}
"""
VEHICLE_VINS = """
query VehicleVins($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Vehicle { id vin make } }
}
"""
VEHICLE_DETAILS = """
query VehicleDetails($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Vehicle { id vin make model year mileageKm }
  }
}
"""
REQUEST_QUOTE = """
mutation($input: RequestQuoteInput!) { requestQuote(input: $input) { quote { id } } }
"""
SERVICE_SDL = "{ _service { sdl } }"
INTROSPECTION = "{ __schema { queryType { fields { name } } types { name } directives { name } } }"

REVIEWS_SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Vehicle @key(fields: "id") {
  id: ID!
  reviews: [Review!]!
}

type Review {
  id: ID!
  rating: Int!
  body: String!
}

type Query {
  latestReviews(first: Int! = 10): [Review!]!
}
"""
# Redefines Vehicle.year with another type, and without @shareable.
CONFLICTING_SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Vehicle @key(fields: "id") {
  id: ID!
  year: String!
}

type Query {
  vehicleYears: [String!]!
}
"""


def _representations(type_name: str, key: str, values: list[Any]) -> list[dict[str, Any]]:
    return [{"__typename": type_name, key: value} for value in values]


def _errors(body: dict[str, Any]) -> list[tuple[int, str, str | None, str]]:
    """(index, code, field, message) of each error of `_entities`, by index."""
    found = []
    for error in body["errors"]:
        assert error["path"][0] == "_entities", error
        extensions = error["extensions"]
        found.append(
            (error["path"][1], extensions["code"], extensions.get("field"), error["message"])
        )
    return sorted(found)


async def _vehicle_rows(engine: AsyncEngine, count: int) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT id, vin, make, dealer_id FROM vehicle ORDER BY id LIMIT :n"),
            {"n": count},
        )
        return list(result.mappings())


async def test_the_subgraph_sdl_is_served_and_exported(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = await graphql(client, SERVICE_SDL)
    sdl = body["data"]["_service"]["sdl"]
    assert sdl.startswith(
        'schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key"]) {'
    )
    for line in (
        'type Vehicle implements Node @key(fields: "id") @key(fields: "vin") {',
        'type Dealer implements Node @key(fields: "id") {',
        'type Order implements Node @key(fields: "id") {',
        'type Payment implements Node @key(fields: "id") {',
        'type Quote implements Node @key(fields: "id") {',
        "union _Entity = Dealer | Order | Payment | Quote | Vehicle",
        "  _entities(representations: [_Any!]!): [_Entity]!",
        "  _service: _Service!",
    ):
        assert line in sdl.splitlines(), line
    runner = CliRunner()
    printed = runner.invoke(cli.app, ["export-schema", "--federation"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == sdl + "\n"
    written = runner.invoke(
        cli.app, ["export-schema", "--federation", "--output", str(tmp_path / "subgraph.graphql")]
    )
    assert written.exit_code == 0, written.output
    assert (tmp_path / "subgraph.graphql").read_text() == sdl + "\n"
    # The SDL clients read stays the plain one.
    assert "@key" not in cli.SCHEMA_FILE.read_text()


async def test_vehicles_dealers_and_quotes_resolve_by_their_keys_for_anyone(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast
) -> None:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    vehicle_id = gid("Vehicle", vehicle["id"])
    dealer_id = gid("Dealer", cast.dealer_ids[0])
    async with engine.connect() as conn:
        dealer_name = await conn.scalar(
            sa.text("SELECT name FROM dealer WHERE id = :id"), {"id": cast.dealer_ids[0]}
        )
    requested = await graphql(
        client, REQUEST_QUOTE, {"input": {"vehicleId": vehicle_id, "destinationCountry": "FR"}}
    )
    quote_id = requested["data"]["requestQuote"]["quote"]["id"]
    spaced_vin = f"{vehicle['vin'][:8].lower()} {vehicle['vin'][8:]}"  # normalised as vehicleByVin
    representations = [
        {"__typename": "Vehicle", "id": vehicle_id},
        {"__typename": "Vehicle", "vin": spaced_vin, "make": "ignored: not a key"},
        {"__typename": "Dealer", "id": dealer_id},
        {"__typename": "Quote", "id": quote_id},
    ]
    body = await graphql(client, ENTITIES, {"representations": representations})
    as_vehicle = {"__typename": "Vehicle", "id": vehicle_id, "vin": vehicle["vin"], "make": "Skoda"}
    assert body == {
        "data": {
            "_entities": [
                as_vehicle,
                as_vehicle,
                {"__typename": "Dealer", "id": dealer_id, "name": dealer_name},
                {"__typename": "Quote", "id": quote_id, "destinationCountry": "FR"},
            ]
        }
    }
    inline = await graphql(
        client,
        f'{{ _entities(representations: [{{__typename: "Vehicle", id: "{vehicle_id}"}}])'
        " { ... on Vehicle { vin } } }",
    )
    assert inline == {"data": {"_entities": [{"vin": vehicle["vin"]}]}}
    empty = await graphql(client, ENTITIES, {"representations": []})
    assert empty == {"data": {"_entities": []}}


async def test_orders_and_payments_resolve_only_for_who_may_see_them(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings,
    cast: Cast, gateway: StripeGateway,
) -> None:  # fmt: skip
    order = await reserved_order(engine, redis, cast.buyer.id)
    paid = await checkout(engine, redis, gateway, order.id, Actor(ActorKind.BUYER, cast.buyer.id))
    order_id, payment_id = gid("Order", order.id), gid("Payment", paid.payment_id)
    representations = [
        {"__typename": "Order", "id": order_id},
        {"__typename": "Payment", "id": payment_id},
    ]
    visible = [
        {"__typename": "Order", "id": order_id, "number": f"AB-{order.id:08d}"},
        {"__typename": "Payment", "id": payment_id, "attempt": 1, "order": {"id": order_id}},
    ]
    for allowed in (cast.buyer, cast.admin):
        body = await graphql(
            client, ENTITIES, {"representations": representations}, **allowed.headers
        )
        assert body == {"data": {"_entities": visible}}, allowed.role

    other_buyer = await create_user(engine, settings, UserRole.BUYER)
    callers: list[tuple[TestUser | None, str, str]] = [
        (other_buyer, "FORBIDDEN", "Only the order's buyer, the partner that placed it, or staff may see it."),
        (cast.dealer, "FORBIDDEN", "Only the order's buyer, the partner that placed it, or staff may see it."),
        (None, "UNAUTHENTICATED", "Sign in first: send Authorization: Bearer <access token>, or an API key."),
    ]  # fmt: skip
    for caller, code, message in callers:
        headers = caller.headers if caller is not None else {}
        body = await graphql(client, ENTITIES, {"representations": representations}, **headers)
        assert body["data"] == {"_entities": [None, None]}
        assert _errors(body) == [(0, code, None, message), (1, code, None, message)]


async def test_bad_representations_are_coded_errors_at_their_index(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    [row] = await _vehicle_rows(engine, 1)
    vehicle_id, order_id, missing_id = (
        gid("Vehicle", row["id"]),
        gid("Order", 1),
        gid("Vehicle", 987_654_321),
    )
    unknown_vin = new_vin()
    representations: list[Any] = [
        "Vehicle",
        5,
        {"id": vehicle_id},
        {"__typename": "Spaceship", "id": vehicle_id},
        {"__typename": "Refund", "id": gid("Refund", 1)},
        {"__typename": "Vehicle", "make": "Skoda"},
        {"__typename": "Vehicle", "id": 5},
        {"__typename": "Vehicle", "id": order_id},
        {"__typename": "Vehicle", "id": "not a global id!"},
        {"__typename": "Vehicle", "vin": "WVW"},
        {"__typename": "Vehicle", "id": missing_id},
        {"__typename": "Vehicle", "vin": unknown_vin},
        {"__typename": "Vehicle", "id": vehicle_id},
    ]
    response = await client.post(
        "/graphql", json={"query": VEHICLE_VINS, "variables": {"representations": representations}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {
        "_entities": [None] * 12 + [{"id": vehicle_id, "vin": row["vin"], "make": row["make"]}]
    }
    bad = "BAD_USER_INPUT"
    shape = "an object with __typename and the fields of a key expected"
    assert _errors(body) == [
        (0, bad, "representations[0]", f"representations[0]: {shape}"),
        (1, bad, "representations[1]", f"representations[1]: {shape}"),
        (2, bad, "representations[2]", "representations[2]: __typename (a string) missing"),
        (3, bad, "representations[3]", "representations[3]: Spaceship is not an entity of this subgraph"),
        (4, bad, "representations[4]", "representations[4]: Refund is not an entity of this subgraph"),
        (5, bad, "representations[5]", "representations[5]: a Vehicle is referenced by id or by vin"),
        (6, bad, "representations[6].id", "representations[6].id: a string expected"),
        (7, bad, "representations[7].id",
         "representations[7].id: expected the ID of a Vehicle, got the ID of a Order"),
        (8, bad, "representations[8].id", "representations[8].id: not a valid global ID"),
        (9, bad, "representations[9].vin",
         "representations[9].vin: 17 characters of A-Z (no I, O or Q) and 0-9 expected"),
        (10, "NOT_FOUND", "representations[10]", f"representations[10]: no Vehicle with id {missing_id}"),
        (11, "NOT_FOUND", "representations[11]", f"representations[11]: no Vehicle with vin {unknown_vin}"),
    ]  # fmt: skip

    # A single value where the list belongs is a list of one (GraphQL input coercion).
    single = await graphql(client, '{ _entities(representations: "Vehicle") { __typename } }')
    assert single["data"] == {"_entities": [None]}
    assert _errors(single) == [(0, bad, "representations[0]", f"representations[0]: {shape}")]
    # A null representation breaks the argument's type: the whole operation is refused.
    null = await graphql(client, ENTITIES, {"representations": [None]})
    assert "data" not in null or null["data"] is None
    assert [error["extensions"]["code"] for error in null["errors"]] == [bad]


async def test_a_hundred_representations_cost_one_statement_per_loader(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings,
    cast: Cast,
) -> None:  # fmt: skip
    rows = await _vehicle_rows(engine, 100)
    by_id = _representations("Vehicle", "id", [gid("Vehicle", row["id"]) for row in rows])
    by_vin = _representations("Vehicle", "vin", [row["vin"] for row in rows])
    for representations in (by_id, by_vin):
        counter = start_counting(keep_text=True)
        body = await graphql(client, VEHICLES_WITH_DEALERS, {"representations": representations})
        assert "errors" not in body, body
        assert [entity["vin"] for entity in body["data"]["_entities"]] == [r["vin"] for r in rows]
        # the vehicles in one statement, their dealers in another
        assert counter.count == 2, counter.statements

    buyer = await create_user(engine, settings, UserRole.BUYER)
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    customer = Actor(ActorKind.BUYER, buyer.id)
    order_ids = []
    quote_id = None
    for _ in range(100):  # quoted, not reserved: one vehicle may have many
        outcome = await create_order(
            engine, redis, customer=customer, buyer_id=buyer.id, partner_id=None,
            vehicle_id=vehicle["id"], destination_country="DE", reserve=False, quote_id=quote_id,
        )  # fmt: skip
        order_ids.append(outcome.order_id)
        if quote_id is None:
            async with engine.connect() as conn:
                quote_id = await conn.scalar(
                    sa.text("SELECT quote_id FROM orders WHERE id = :id"), {"id": outcome.order_id}
                )
    orders = _representations("Order", "id", [gid("Order", pk) for pk in order_ids])
    # The buyer's first request checks its sign-in in PostgreSQL, later ones in Redis
    # (services/accounts/session_check.py): counted here are the operation's statements.
    await graphql(client, "{ __typename }", None, **buyer.headers)
    counter = start_counting(keep_text=True)
    body = await graphql(client, ENTITIES, {"representations": orders}, **buyer.headers)
    assert "errors" not in body, body
    assert [entity["number"] for entity in body["data"]["_entities"]] == [
        f"AB-{pk:08d}" for pk in order_ids
    ]
    assert counter.count == 1, counter.statements  # the orders, checked against the caller

    dealers = _representations("Dealer", "id", [gid("Dealer", r["dealer_id"]) for r in rows[:20]])
    quotes = _representations("Quote", "id", [gid("Quote", quote_id)] * 5)
    mixed = [*by_id[:25], *by_vin[25:50], *orders[:25], *dealers, *quotes]
    counter = start_counting(keep_text=True)
    body = await graphql(client, ENTITIES, {"representations": mixed}, **buyer.headers)
    assert "errors" not in body, body
    assert len(body["data"]["_entities"]) == 100
    # vehicles by id, by VIN, orders, dealers, quotes and their lines
    assert counter.count == 6, counter.statements


async def test_entities_are_costed_by_their_number(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = await _vehicle_rows(engine, 100)
    representations = _representations("Vehicle", "id", [gid("Vehicle", row["id"]) for row in rows])
    response = await client.post(
        "/graphql", json={"query": VEHICLE_VINS, "variables": {"representations": representations}}
    )
    cost = response.json()["extensions"]["cost"]
    # 1 for _entities, 3 fields for each of the 100
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (301, 301)

    too_many = representations * 10  # 1 + 6 x 1,000 is above the 5,000 allowed
    counter = start_counting()
    refused = await client.post(
        "/graphql",
        json={"query": VEHICLE_DETAILS, "variables": {"representations": too_many}},
    )
    [error] = refused.json()["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX", "requestedQueryCost": 6001, "maximumQueryCost": 5000
    }  # fmt: skip
    assert counter.count == 0


async def _client_of(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with Federation switched on, as a router's subgraph (off by default)."""
    async for federated in _client_of(settings.model_copy(update={"federation": True})):
        yield federated


@pytest.fixture
async def plain_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as it is by default: no Federation."""
    assert settings.federation is False
    async for plain in _client_of(settings):
        yield plain


def _federation_names(introspected: dict[str, Any]) -> set[str]:
    schema = introspected["data"]["__schema"]
    names = {field["name"] for field in schema["queryType"]["fields"]}
    names |= {type_["name"] for type_ in schema["types"]}
    names |= {directive["name"] for directive in schema["directives"]}
    return names & (FEDERATION_FIELDS | FEDERATION_TYPES | FEDERATION_DIRECTIVES)


async def test_federation_can_be_switched_off(
    client: httpx.AsyncClient, plain_client: httpx.AsyncClient
) -> None:
    assert _federation_names(await graphql(client, INTROSPECTION)) == {
        "_entities", "_service", "_Any", "_Entity", "_Service", "_FieldSet", "link__Import",
        "link__Purpose", "key", "link",
    }  # fmt: skip
    assert _federation_names(await graphql(plain_client, INTROSPECTION)) == set()
    refused = await graphql(plain_client, SERVICE_SDL)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused["errors"][0]["message"] == "Cannot query field '_service' on type 'Query'."
    catalog = await graphql(plain_client, "{ vehicles(first: 1) { edges { node { vin } } } }")
    assert len(catalog["data"]["vehicles"]["edges"]) == 1


def _compose(tmp_path: Path, **subgraphs: str) -> tuple[int, dict[str, Any]]:
    """Compose the exported subgraph with these (name=SDL) as a router's tooling does."""
    node = require_node(COMPOSITION_DIR, "@apollo/composition")
    ours = tmp_path / "autobroker.graphql"
    exported = CliRunner().invoke(cli.app, ["export-schema", "--federation", "--output", str(ours)])
    assert exported.exit_code == 0, exported.output
    arguments = [f"autobroker={ours}"]
    for name, sdl in subgraphs.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
        arguments.append(f"{name}={tmp_path / f'{name}.graphql'}")
    result = subprocess.run(
        [node, str(COMPOSITION_DIR / "compose.mjs"), *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_the_subgraph_composes_with_one_that_extends_vehicle(tmp_path: Path) -> None:
    status, result = _compose(tmp_path, reviews=REVIEWS_SUBGRAPH)
    assert result.get("errors") is None, result["errors"]
    assert status == 0
    supergraph = result["supergraphSdl"]
    assert '@join__type(graph: AUTOBROKER, key: "vin")' in supergraph
    assert '@join__type(graph: REVIEWS, key: "id")' in supergraph
    assert "  reviews: [Review!]! @join__field(graph: REVIEWS)" in supergraph.splitlines()


def test_composition_fails_on_a_conflicting_subgraph(tmp_path: Path) -> None:
    status, result = _compose(tmp_path, inventory=CONFLICTING_SUBGRAPH)
    assert status == 1
    codes = {error["code"] for error in result["errors"]}
    assert codes == {"FIELD_TYPE_MISMATCH", "INVALID_FIELD_SHARING"}
    assert all('"Vehicle.year"' in error["message"] for error in result["errors"])
