"""Catalog root fields: node, nodes, vehicles, vehicle, vehicleByVin, dealers, dealer."""

from __future__ import annotations

import strawberry

from resolvers import catalog, node
from schema.catalog import (
    Dealer,
    DealerConnection,
    Vehicle,
    VehicleConnection,
    VehicleFilterInput,
    VehicleOrderBy,
)
from schema.context import Info
from schema.node import Node


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Any object by its global ID (Relay); null if none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await node.node(info, id)

    @strawberry.field(description="Objects by global ID, in order (at most 100); null for missing.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await node.nodes(info, ids)

    @strawberry.field(
        description="The catalog: filtered, sorted and cursor-paginated (first at most 100)."
    )
    async def vehicles(
        self,
        info: Info,
        filter: VehicleFilterInput | None = None,
        order_by: VehicleOrderBy | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> VehicleConnection:
        return await catalog.vehicles(
            info, filter, order_by, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="A vehicle by global ID; NOT_FOUND if there is none.")
    async def vehicle(self, info: Info, id: strawberry.ID) -> Vehicle | None:
        return await catalog.vehicle(info, id)

    @strawberry.field(description="A vehicle by its VIN; NOT_FOUND if there is none.")
    async def vehicle_by_vin(self, info: Info, vin: str) -> Vehicle | None:
        return await catalog.vehicle_by_vin(info, vin)

    @strawberry.field(description="Dealers by name, optionally in one country (alpha-2).")
    async def dealers(
        self,
        info: Info,
        country: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> DealerConnection:
        return await catalog.dealers(
            info, country, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="A dealer by global ID; NOT_FOUND if there is none.")
    async def dealer(self, info: Info, id: strawberry.ID) -> Dealer | None:
        return await catalog.dealer(info, id)
