"""The naive baseline: the same operations through a plain Strawberry schema.

What a first version of this API would look like: Strawberry's stock ASGI view with no
schema extension (no parser or validation cache, no cost limit), types filled from whole
rows by their constructors, and each relation resolved per object by a query of its own
(no DataLoader): a catalog page of 50 vehicles sends 2 + 50 + 50 statements. It shares
the API's services (SQL and pricing), its input types and its leaf types (Money,
Location, DeliveredPrice), so that its answers are the API's. Responses are encoded with
orjson, only so that they can be compared with the floor's byte for byte.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info as StrawberryInfo
from strawberry.types.unset import UNSET

from core.db import Database, OperationConnection, create_engine
from core.settings import Settings, get_settings
from loaders import ALL_VEHICLE_COLUMNS
from models.base import utcnow
from models.vehicle import BodyType, FuelType, Transmission, VehicleStatus
from schema.catalog import Location, VehicleFilterInput, VehicleOrderBy
from schema.ids import decode_int_id, to_global_id
from schema.money import Money
from schema.pagination import PageInfo
from schema.pricing import DeliveredPrice
from services.dealers import fetch_dealers_by_ids
from services.pricing.delivered import delivered_prices
from services.pricing.engine import check_destination
from services.pricing.model_serving import ACTIVE_MODEL
from services.pricing.rules import current_rules
from services.vehicles import catalog


@dataclass(slots=True)
class NaiveContext:
    db: OperationConnection


Info = StrawberryInfo[NaiveContext, None]


@strawberry.type
class Dealer:
    id: strawberry.ID
    name: str
    country: str
    city: str
    rating: Decimal
    created_at: datetime


@strawberry.type
class Vehicle:
    id: strawberry.ID
    vin: str
    make: str
    model: str
    trim: str | None
    year: int
    first_registration: date | None
    mileage_km: int
    fuel: FuelType
    transmission: Transmission
    body_type: BodyType
    colour: str
    power_kw: int
    co2_g_km: int | None = strawberry.field(name="co2GramsPerKm")
    status: VehicleStatus
    source: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    price: Money
    location: Location
    pk: strawberry.Private[int]
    dealer_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Vehicle:
        return cls(
            id=strawberry.ID(to_global_id("Vehicle", row["id"])),
            vin=row["vin"],
            make=row["make"],
            model=row["model"],
            trim=row["trim"],
            year=row["year"],
            first_registration=row["first_registration"],
            mileage_km=row["mileage_km"],
            fuel=FuelType(row["fuel"]),
            transmission=Transmission(row["transmission"]),
            body_type=BodyType(row["body_type"]),
            colour=row["colour"],
            power_kw=row["power_kw"],
            co2_g_km=row["co2_g_km"],
            status=VehicleStatus(row["status"]),
            source=row["source"],
            external_id=row["external_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            price=Money.from_minor(row["price_minor"], row["currency"]),
            location=Location(country=row["location_country"], city=row["location_city"]),
            pk=row["id"],
            dealer_id=row["dealer_id"],
        )

    @strawberry.field
    async def dealer(self, info: Info) -> Dealer:
        conn = await info.context.db.get()
        row = (await fetch_dealers_by_ids(conn, [self.dealer_id]))[self.dealer_id]
        return Dealer(
            id=strawberry.ID(to_global_id("Dealer", row["id"])),
            name=row["name"],
            country=row["country"],
            city=row["city"],
            rating=row["rating"],
            created_at=row["created_at"],
        )

    @strawberry.field
    async def delivered_price(self, info: Info, destination_country: str) -> DeliveredPrice | None:
        destination = check_destination(destination_country, current_rules())
        conn = await info.context.db.get()
        key = (self.pk, destination)
        pricing = (await delivered_prices(conn, [key], as_of=utcnow().date()))[key]
        return None if pricing is None else DeliveredPrice.from_pricing(pricing)


@strawberry.type
class VehicleEdge:
    cursor: str
    node: Vehicle


@strawberry.type
class VehicleConnection:
    edges: list[VehicleEdge]
    page_info: PageInfo
    filter: strawberry.Private[catalog.VehicleFilter]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await catalog.count_vehicles(await info.context.db.get(), self.filter)


@strawberry.type
class Query:
    @strawberry.field
    async def vehicles(
        self,
        info: Info,
        filter: VehicleFilterInput | None = None,
        order_by: VehicleOrderBy | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> VehicleConnection:
        flt = filter.to_domain() if filter is not None else catalog.VehicleFilter()
        ordering = (
            catalog.Ordering(sort=order_by.field, direction=order_by.direction)
            if order_by is not None
            else catalog.Ordering()
        )
        cursor = None if after is None else catalog.decode_cursor(after, ordering, argument="after")
        page = catalog.PageRequest(limit=first if first is not None else 20, after=cursor)
        conn = await info.context.db.get()
        result = await catalog.fetch_page(conn, flt, ordering, page, ALL_VEHICLE_COLUMNS)
        edges = [
            VehicleEdge(cursor=catalog.encode_cursor(ordering, row), node=Vehicle.from_row(row))
            for row in result.rows
        ]
        return VehicleConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=result.has_next_page,
                has_previous_page=result.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            filter=flt,
        )

    @strawberry.field
    async def vehicle(self, info: Info, id: strawberry.ID) -> Vehicle | None:
        conn = await info.context.db.get()
        pk = decode_int_id(id, "Vehicle")
        rows = await catalog.fetch_by_ids(conn, [pk], ALL_VEHICLE_COLUMNS)
        return Vehicle.from_row(rows[pk]) if pk in rows else None


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, config=StrawberryConfig(auto_camel_case=True))


_opened: contextvars.ContextVar[list[OperationConnection] | None] = contextvars.ContextVar(
    "naive_connections", default=None
)


class NaiveView(GraphQL[NaiveContext, None]):
    """Strawberry's stock view; one lazily opened connection per request."""

    def __init__(self, schema: strawberry.Schema, database: Database) -> None:
        super().__init__(schema, graphql_ide=None)
        self.database = database

    async def get_context(self, request: Any, response: Any) -> NaiveContext:
        connection = OperationConnection(self.database)
        opened = _opened.get()
        if opened is not None:
            opened.append(connection)
        return NaiveContext(db=connection)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        opened: list[OperationConnection] = []
        token = _opened.set(opened)
        try:
            return await super().run(request, context, root_value)
        finally:
            _opened.reset(token)
            for connection in opened:
                await connection.close()

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def create_app(settings: Settings | None = None) -> Starlette:
    """The naive baseline as an ASGI app."""
    settings = settings or get_settings()
    database = Database(create_engine(settings))
    view = NaiveView(build_schema(), database)

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The valuation model the API serves, loaded once: the same prices.
        await ACTIVE_MODEL.refresh(database.engine)
        try:
            yield
        finally:
            await database.dispose()

    return Starlette(
        routes=[Route("/graphql", view, methods=["GET", "POST"]), Route("/health/live", live)],
        lifespan=lifespan,
    )
