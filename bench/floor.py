"""The floor: the read scenarios hand-written on Starlette, asyncpg and orjson.

It answers the same HTTP requests as the API (a GraphQL body by POST, or a persisted
query's hash by GET) for the operations of bench/operations.py only, by sending the same
SQL statements the API sends (the same text shape, parameter casts and IN lists, so that
PostgreSQL plans them alike, generic plans included), on one pooled connection per
request, and building the same JSON, byte for byte: no GraphQL, no SQLAlchemy, no
DataLoader, no model objects.
It is what these pages cost written by hand, the yardstick the API is measured against.

The business rules are shared, not re-implemented: the delivered price is the pricing
engine's (`price_vehicle`) on the valuation statement the API sends (compiled once from
services/pricing/valuation.py), and cursors and global IDs are encoded by the functions
the API uses. It does no rate limiting, so its responses carry no `extensions` (the
API's cost report); the benchmark compares the API's response without that member.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.operations import CATALOG_PAGE, VEHICLE_DETAIL, sha256_hex
from core.db import SERVER_SETTINGS, create_engine, current_counter
from core.settings import Settings, get_settings
from models.base import utcnow
from schema.ids import to_global_id
from services.pricing.engine import (
    PricedQuote,
    check_destination,
    price_vehicle,
)
from services.pricing.errors import (
    PricingError,
    UnsupportedDestinationError,
    VehicleUnavailableError,
)
from services.pricing.model_serving import ACTIVE_MODEL
from services.pricing.quotes import check_quotable
from services.pricing.rules import RULES_VERSION, current_rules
from services.pricing.valuation import _VALUATION, Subject, valued_subjects
from services.vehicles.catalog import Ordering, SortDirection, VehicleSort, encode_cursor

JSON = "application/json"
MINOR = Decimal(100)


class FloorRequestError(Exception):
    """A request outside what the floor was written for (answered 400)."""


def _compile_valuation() -> tuple[str, tuple[str, ...]]:
    compiled = _VALUATION.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    return compiled.string, tuple(compiled.positiontup or ())


VALUATION_SQL, VALUATION_PARAMS = _compile_valuation()

# The vehicle table's columns in table order (what SQLAlchemy lists), and those the API
# selects for CATALOG_PAGE; the sort key is added when it is not among them.
VEHICLE_COLUMNS = (
    "id", "vin", "make", "model", "trim", "year", "first_registration", "mileage_km", "fuel",
    "transmission", "body_type", "colour", "power_kw", "co2_g_km", "location_country",
    "location_city", "dealer_id", "price_minor", "currency", "status", "source", "external_id",
    "created_at", "updated_at",
)  # fmt: skip
PAGE_COLUMNS = frozenset({
    "id", "vin", "make", "model", "trim", "year", "mileage_km", "fuel", "transmission",
    "body_type", "location_country", "location_city", "dealer_id", "price_minor", "currency",
})  # fmt: skip
DEALER_SELECT = (
    "SELECT dealer.id, dealer.name, dealer.country, dealer.city, dealer.rating,"
    " dealer.created_at, dealer.updated_at FROM dealer"
)
# A page's dealers come joined, labelled as services/vehicles/catalog.py labels them.
DEALER_JOINED_COLUMNS = ", ".join(
    f"dealer.{c} AS dealer__{c}"
    for c in ("id", "name", "country", "city", "rating", "created_at", "updated_at")
)
SORT_COLUMNS = {"PRICE": "price_minor", "YEAR": "year", "MILEAGE": "mileage_km",
                "NEWEST": "created_at"}  # fmt: skip
# The filters, in the order and with the parameter casts of the statements the API sends
# (services/vehicles/catalog.py through SQLAlchemy): the same text gets the same plans,
# generic plans included, so that PostgreSQL's work is the same for every contender.
_CONDITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("make", "lower(vehicle.make)", "=", "VARCHAR"),
    ("model", "lower(vehicle.model)", "=", "VARCHAR"),
    ("yearMin", "vehicle.year", ">=", "SMALLINT"),
    ("yearMax", "vehicle.year", "<=", "SMALLINT"),
    ("priceMin", "vehicle.price_minor", ">=", "BIGINT"),
    ("priceMax", "vehicle.price_minor", "<=", "BIGINT"),
    ("mileageMax", "vehicle.mileage_km", "<=", "INTEGER"),
    ("fuel", "vehicle.fuel", "IN", "VARCHAR"),
    ("transmission", "vehicle.transmission", "IN", "VARCHAR"),
    ("bodyType", "vehicle.body_type", "IN", "VARCHAR"),
    ("country", "vehicle.location_country", "IN", "VARCHAR"),
    ("status", "vehicle.status", "IN", "VARCHAR"),
)
_FILTERS = frozenset(name for name, *_ in _CONDITIONS)


async def _fetch(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    counter = current_counter()  # set only when the harness counts statements in-process
    if counter is not None:
        counter.count += 1
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": str(Decimal(minor).scaleb(-2)), "currency": currency}


def _bound(name: str, value: Any) -> Any:
    if name in ("make", "model"):
        return str(value).lower()
    if name in ("priceMin", "priceMax"):
        return int(Decimal(value) * MINOR)
    if name == "country":
        return [str(code).upper() for code in value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return int(value)


def _filtered(
    head: str, flt: Mapping[str, Any], tail: str = "", limit: int | None = None
) -> tuple[str, list[Any]]:
    """`head WHERE … tail LIMIT …` numbered as SQLAlchemy numbers: scalars, then IN lists."""
    unknown = set(flt) - _FILTERS
    if unknown:
        raise FloorRequestError(f"the floor does not filter by {', '.join(sorted(unknown))}")
    scalars: list[Any] = []
    expanded: list[Any] = []
    pieces: list[tuple[str, str, str, int, int]] = []  # column, operator, cast, index, count
    for name, column, operator, cast in _CONDITIONS:
        value = flt.get(name)
        if value is None or value == []:
            continue
        value = _bound(name, value)
        if operator != "IN":
            scalars.append(value)
            pieces.append((column, operator, cast, len(scalars), 0))
        elif len(value) == 1:
            scalars.append(value[0])
            pieces.append((column, "=", cast, len(scalars), 0))
        else:
            pieces.append((column, "IN", cast, len(expanded), len(value)))
            expanded.extend(value)
    if limit is not None:
        scalars.append(limit)
        tail += f" LIMIT ${len(scalars)}::INTEGER"
    clauses = []
    for column, operator, cast, index, count in pieces:
        if count:
            first = len(scalars) + index + 1
            listed = ", ".join(f"${n}::{cast}" for n in range(first, first + count))
            clauses.append(f"{column} IN ({listed})")
        else:
            clauses.append(f"{column} {operator} ${index}::{cast}")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return head + where + tail, scalars + expanded


def _by_ids(head: str, table: str, count: int) -> str:
    listed = ", ".join(f"${n}::BIGINT" for n in range(1, count + 1))
    return f"{head} WHERE {table}.id IN ({listed})"


async def _value(conn: asyncpg.Connection, vehicle_ids: list[int]) -> dict[int, Subject]:
    rules = current_rules()
    params = {
        "ids": sorted(set(vehicle_ids)),
        "per_km": rules.mileage_factor_per_km,
        "factor_min": rules.mileage_factor_min,
        "factor_max": rules.mileage_factor_max,
        "year_window": rules.comparable_year_window,
        "per_side": rules.comparable_nearest_per_side,
    }
    rows = await _fetch(conn, VALUATION_SQL, *(params[name] for name in VALUATION_PARAMS))
    # asyncpg records read by column name like SQLAlchemy's mappings: the API's own code
    # builds the subjects, the serving valuation model's batch included.
    return valued_subjects(rows, rules)


def _price(subjects: dict[int, Subject], vehicle_id: int, destination: str) -> PricedQuote | None:
    try:
        subject = check_quotable(subjects.get(vehicle_id), vehicle_id)
        assert subject.market is not None
        return price_vehicle(
            subject.facts,
            subject.market,
            destination,
            rules_version=RULES_VERSION,
            as_of=utcnow().date(),
        )
    except (PricingError, VehicleUnavailableError):
        return None


def _destination(variables: Mapping[str, Any]) -> str:
    if "destination" not in variables:
        raise FloorRequestError("$destination is required")
    try:
        return check_destination(str(variables["destination"]), current_rules())
    except UnsupportedDestinationError as error:
        raise FloorRequestError(error.message) from None


async def catalog_page(conn: asyncpg.Connection, variables: Mapping[str, Any]) -> bytes:
    """CATALOG_PAGE: the page with its dealers joined, its count, its valuation: 3 statements."""
    first = int(variables.get("first") or 20)
    order = variables.get("orderBy") or {}
    ordering = Ordering(
        sort=VehicleSort(order.get("field", "NEWEST")),
        direction=SortDirection(order.get("direction", "DESC")),
    )
    destination = _destination(variables)
    flt = variables.get("filter") or {}
    key = SORT_COLUMNS[ordering.sort.value]
    columns = ", ".join(f"vehicle.{c}" for c in VEHICLE_COLUMNS if c in PAGE_COLUMNS or c == key)
    direction = "ASC" if ordering.direction is SortDirection.ASC else "DESC"
    order_by = f" ORDER BY vehicle.{key} {direction}, vehicle.id {direction}"
    head = (
        f"SELECT {columns}, {DEALER_JOINED_COLUMNS} FROM vehicle"  # noqa: S608 - names, not input
        " JOIN dealer ON dealer.id = vehicle.dealer_id"
    )
    sql, args = _filtered(head, flt, order_by, limit=first + 1)
    rows = await _fetch(conn, sql, *args)
    has_next = len(rows) > first
    rows = rows[:first]
    count_sql, count_args = _filtered("SELECT count(*) AS count_1 FROM vehicle", flt)
    total = await _fetch(conn, count_sql, *count_args)
    dealers = {
        row["dealer__id"]: {
            "id": to_global_id("Dealer", row["dealer__id"]),
            "name": row["dealer__name"],
            "city": row["dealer__city"],
            "rating": str(row["dealer__rating"]),
        }
        for row in rows
    }
    subjects = await _value(conn, [row["id"] for row in rows]) if rows else {}
    edges = []
    for row in rows:
        pricing = _price(subjects, row["id"], destination)
        edges.append(
            {
                "cursor": encode_cursor(ordering, row),
                "node": {
                    "id": to_global_id("Vehicle", row["id"]),
                    "vin": row["vin"],
                    "make": row["make"],
                    "model": row["model"],
                    "trim": row["trim"],
                    "year": row["year"],
                    "mileageKm": row["mileage_km"],
                    "fuel": row["fuel"],
                    "transmission": row["transmission"],
                    "bodyType": row["body_type"],
                    "price": _money(row["price_minor"], row["currency"]),
                    "location": {"country": row["location_country"], "city": row["location_city"]},
                    "dealer": dealers[row["dealer_id"]],
                    "deliveredPrice": None
                    if pricing is None
                    else {
                        "total": {"amount": str(pricing.total), "currency": pricing.currency},
                        "marketPosition": pricing.market_position.value,
                    },
                },
            }
        )
    page_info = {
        "hasNextPage": has_next,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    data = {"vehicles": {"totalCount": total[0][0], "pageInfo": page_info, "edges": edges}}
    return orjson.dumps({"data": data})


def _decode_vehicle_id(global_id: str) -> int:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded).decode().partition(":")
    except ValueError:
        raise FloorRequestError("$id is not a global ID") from None
    if type_name != "Vehicle" or not key.isdigit():
        raise FloorRequestError("$id is not a vehicle's global ID")
    return int(key)


def _delivered_price(pricing: PricedQuote | None) -> dict[str, Any] | None:
    if pricing is None:
        return None
    currency = pricing.currency

    def money(amount: Decimal) -> dict[str, str]:
        return {"amount": str(amount), "currency": currency}

    return {
        "destinationCountry": pricing.destination_country,
        "subtotal": money(pricing.subtotal),
        "vat": money(pricing.vat),
        "total": money(pricing.total),
        "vatScheme": pricing.vat_scheme.value,
        "marketPosition": pricing.market_position.value,
        "comparableCount": pricing.comparable_count,
        "marketValue": None if pricing.market_value is None else money(pricing.market_value),
        "rulesVersion": pricing.rules_version,
    }


async def vehicle_detail(conn: asyncpg.Connection, variables: Mapping[str, Any]) -> bytes:
    """VEHICLE_DETAIL: the vehicle, its dealer and its valuation: 3 statements."""
    vehicle_id = _decode_vehicle_id(str(variables.get("id", "")))
    destination = _destination(variables)
    columns = ", ".join(f"vehicle.{column}" for column in VEHICLE_COLUMNS)
    head = f"SELECT {columns} FROM vehicle"  # noqa: S608 - column names, not input
    found = await _fetch(conn, _by_ids(head, "vehicle", 1), vehicle_id)
    if not found:
        raise FloorRequestError("no such vehicle (the floor has no NOT_FOUND error)")
    row = found[0]
    [dealer] = await _fetch(conn, _by_ids(DEALER_SELECT, "dealer", 1), row["dealer_id"])
    subjects = await _value(conn, [vehicle_id])
    registered = row["first_registration"]
    vehicle = {
        "id": to_global_id("Vehicle", vehicle_id),
        "vin": row["vin"],
        "make": row["make"],
        "model": row["model"],
        "trim": row["trim"],
        "year": row["year"],
        "firstRegistration": None if registered is None else registered.isoformat(),
        "mileageKm": row["mileage_km"],
        "fuel": row["fuel"],
        "transmission": row["transmission"],
        "bodyType": row["body_type"],
        "colour": row["colour"],
        "powerKw": row["power_kw"],
        "co2GramsPerKm": row["co2_g_km"],
        "status": row["status"],
        "createdAt": row["created_at"].isoformat(),
        "price": _money(row["price_minor"], row["currency"]),
        "location": {"country": row["location_country"], "city": row["location_city"]},
        "dealer": {
            "id": to_global_id("Dealer", dealer["id"]),
            "name": dealer["name"],
            "country": dealer["country"],
            "city": dealer["city"],
            "rating": str(dealer["rating"]),
        },
        "deliveredPrice": _delivered_price(_price(subjects, vehicle_id, destination)),
    }
    return orjson.dumps({"data": {"vehicle": vehicle}})


Handler = Callable[[asyncpg.Connection, Mapping[str, Any]], Awaitable[bytes]]
OPERATIONS: dict[str, Handler] = {CATALOG_PAGE: catalog_page, VEHICLE_DETAIL: vehicle_detail}
OPERATIONS_BY_HASH: dict[str, Handler] = {sha256_hex(t): h for t, h in OPERATIONS.items()}


def _operation(request: Request, payload: Mapping[str, Any]) -> Handler:
    query = payload.get("query")
    if query is not None:
        handler = OPERATIONS.get(query)
    else:
        persisted = (payload.get("extensions") or {}).get("persistedQuery") or {}
        handler = OPERATIONS_BY_HASH.get(persisted.get("sha256Hash", ""))
    if handler is None:
        raise FloorRequestError("the floor answers only the operations of bench/operations.py")
    return handler


def _payload(request: Request, body: bytes) -> Mapping[str, Any]:
    if request.method == "POST":
        payload: dict[str, Any] = orjson.loads(body)
        return payload
    params = request.query_params
    return {
        name: orjson.loads(params[name]) if name in ("variables", "extensions") else params[name]
        for name in ("query", "variables", "extensions")
        if name in params
    }


def create_app(settings: Settings | None = None) -> Starlette:
    """The floor as an ASGI app, its connection pool opened by the lifespan."""
    settings = settings or get_settings()
    if settings.database_url is None:
        raise ValueError("DATABASE_URL is not set")
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool_size = settings.db_pool_size + settings.db_max_overflow  # the API's maximum
    pools: list[asyncpg.Pool] = []

    async def graphql(request: Request) -> Response:
        try:
            payload = _payload(request, await request.body())
            handler = _operation(request, payload)
            async with pools[0].acquire() as conn:
                body = await handler(conn, payload.get("variables") or {})
        except (FloorRequestError, orjson.JSONDecodeError, ValueError) as error:
            return Response(orjson.dumps({"errors": [{"message": str(error)}]}), 400, None, JSON)
        return Response(body, 200, None, JSON)

    async def live(request: Request) -> Response:
        return Response(b'{"status":"ok"}', 200, None, JSON)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=pool_size,
            # The API's own settings (plans per call included): the same work in PostgreSQL.
            server_settings={"application_name": "autobroker-floor", **SERVER_SETTINGS},
        )
        pools.append(pool)
        # The valuation model the API serves, loaded once: the same prices, byte for byte.
        engine = create_engine(settings)
        try:
            await ACTIVE_MODEL.refresh(engine)
        finally:
            await engine.dispose()
        try:
            yield
        finally:
            await pool.close()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health/live", live),
        ],
        lifespan=lifespan,
    )
