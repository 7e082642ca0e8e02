"""Listing inputs and payloads: dealers create, edit and withdraw their vehicles.

Inputs name the Vehicle type's fields; `price` is an exact decimal in `currency`.
In UpdateVehicleInput an omitted field is left as it is and null clears an optional one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from models.vehicle import BodyType, CurrencyCode, FuelType, Transmission
from schema.catalog import Vehicle
from schema.ids import decode_int_id
from schema.money import to_minor
from schema.payloads import UserError

# Service field -> input field, for userErrors' paths.
INPUT_FIELD_NAMES: dict[str, str] = {
    "id": "id", "dealer_id": "dealerId", "vin": "vin", "make": "make", "model": "model",
    "trim": "trim", "year": "year", "first_registration": "firstRegistration",
    "mileage_km": "mileageKm", "fuel": "fuel", "transmission": "transmission",
    "body_type": "bodyType", "colour": "colour", "power_kw": "powerKw",
    "co2_g_km": "co2GramsPerKm", "location_country": "locationCountry",
    "location_city": "locationCity", "price_minor": "price", "currency": "currency",
}  # fmt: skip

_PLAIN_FIELDS = (
    "vin", "make", "model", "trim", "year", "first_registration", "mileage_km", "colour",
    "power_kw", "co2_g_km", "location_country", "location_city",
)  # fmt: skip
_ENUM_FIELDS = ("fuel", "transmission", "body_type", "currency")


def _values(source: Any) -> dict[str, Any]:
    """The service's column values for the input fields that were given."""
    values: dict[str, Any] = {}
    for name in (*_PLAIN_FIELDS, *_ENUM_FIELDS):
        value = getattr(source, name)
        if value is not strawberry.UNSET:
            values[name] = value.value if name in _ENUM_FIELDS and value is not None else value
    price = source.price
    if price is not strawberry.UNSET:
        values["price_minor"] = None if price is None else to_minor(price, field="price")
    return values


@strawberry.input(description="A vehicle to list. Dealers may omit dealerId; admins give it.")
class CreateVehicleInput:
    dealer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The listing dealer; a dealer's own by default."
    )
    vin: str
    make: str
    model: str
    trim: str | None = None
    year: int = strawberry.field(description="Model year.")
    first_registration: date | None = None
    mileage_km: int
    fuel: FuelType
    transmission: Transmission
    body_type: BodyType
    colour: str
    power_kw: int
    co2_g_km: int | None = strawberry.field(default=None, name="co2GramsPerKm")
    location_country: str = strawberry.field(description="EU member state, ISO alpha-2.")
    location_city: str
    price: Decimal = strawberry.field(description="Asking price, at most two decimals.")
    currency: CurrencyCode = CurrencyCode.EUR

    def dealer_key(self) -> int | None:
        if self.dealer_id is None:
            return None
        return decode_int_id(self.dealer_id, "Dealer", field="dealerId")

    def values(self) -> dict[str, Any]:
        return _values(self)


@strawberry.input(description="Fields to change; omitted ones stay as they are.")
class UpdateVehicleInput:
    id: strawberry.ID
    vin: str | None = strawberry.UNSET
    make: str | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    trim: str | None = strawberry.UNSET
    year: int | None = strawberry.UNSET
    first_registration: date | None = strawberry.UNSET
    mileage_km: int | None = strawberry.UNSET
    fuel: FuelType | None = strawberry.UNSET
    transmission: Transmission | None = strawberry.UNSET
    body_type: BodyType | None = strawberry.UNSET
    colour: str | None = strawberry.UNSET
    power_kw: int | None = strawberry.UNSET
    co2_g_km: int | None = strawberry.field(default=strawberry.UNSET, name="co2GramsPerKm")
    location_country: str | None = strawberry.UNSET
    location_city: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    currency: CurrencyCode | None = strawberry.UNSET

    def vehicle_key(self) -> int:
        return decode_int_id(self.id, "Vehicle")

    def values(self) -> dict[str, Any]:
        return _values(self)


@strawberry.input
class WithdrawVehicleInput:
    id: strawberry.ID

    def vehicle_key(self) -> int:
        return decode_int_id(self.id, "Vehicle")


@strawberry.type
class CreateVehiclePayload:
    vehicle: Vehicle | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateVehiclePayload:
    vehicle: Vehicle | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WithdrawVehiclePayload:
    vehicle: Vehicle | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
