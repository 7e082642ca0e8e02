"""The domain's enumerations, exposed to GraphQL under the same names."""

from __future__ import annotations

import strawberry

from models.vehicle import BodyType, CurrencyCode, FuelType, Transmission, VehicleStatus
from services.vehicles.catalog import SortDirection, VehicleSort

FuelTypeEnum = strawberry.enum(FuelType, description="Fuel or energy source.")
TransmissionEnum = strawberry.enum(Transmission, description="Gearbox type.")
BodyTypeEnum = strawberry.enum(BodyType, description="Body style.")
VehicleStatusEnum = strawberry.enum(
    VehicleStatus,
    description="AVAILABLE to buy, RESERVED by an order, SOLD once paid, or WITHDRAWN.",
)
CurrencyCodeEnum = strawberry.enum(CurrencyCode, description="ISO 4217 currency code.")
VehicleSortEnum = strawberry.enum(
    VehicleSort, name="VehicleSortField", description="What the catalog is sorted by."
)
SortDirectionEnum = strawberry.enum(SortDirection, description="Ascending or descending.")
