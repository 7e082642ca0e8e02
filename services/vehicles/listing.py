"""Dealers' listings: create, edit and withdraw a vehicle, validated.

Who may call these is decided before (auth/permissions.py); `owner_dealer_id` is passed
again so that the statement itself only touches that dealer's vehicle (None: an admin).
A vehicle that is RESERVED or SOLD belongs to an order's locked quote: it cannot be
edited or withdrawn. Withdrawing is idempotent. After any change (price and status, but
also year, mileage or country, which the valuation reads), the vehicle's cached quotes
and cached responses are dropped, after the commit (services/vehicles/changes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.dealer import Dealer
from models.vehicle import Vehicle, VehicleStatus
from services.countries import is_eu_member, normalise_country
from services.errors import DomainError, FieldProblem, FieldProblemsError
from services.vehicles.changes import group_of, vehicles_changed
from services.vehicles.vin import is_valid_vin, normalise_vin

vehicle_table: sa.Table = Vehicle.__table__  # type: ignore[attr-defined]
dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]
RETURNED_COLUMNS = [column for column in vehicle_table.c if column.name != "search"]

MIN_YEAR = 1950
MAX_MILEAGE_KM = 2_000_000
MAX_POWER_KW = 2_000
MAX_CO2_G_KM = 1_000
MAX_PRICE_MINOR = 10_000_000_00  # ten million in the currency: a typo guard
_TEXT_LIMITS = {"make": 60, "model": 60, "trim": 100, "colour": 40, "location_city": 100}
_REQUIRED = (
    "vin", "make", "model", "year", "mileage_km", "fuel", "transmission", "body_type",
    "colour", "power_kw", "location_country", "location_city", "price_minor", "currency",
)  # fmt: skip
EDITABLE = frozenset((*_REQUIRED, "trim", "first_registration", "co2_g_km"))


class ListingRefusedError(FieldProblemsError):
    """The listing breaks rules; every field at fault is named."""


class ListingNotFoundError(DomainError):
    """No such vehicle (or not the given dealer's)."""


@dataclass(frozen=True, slots=True)
class ListingChange:
    row: Any
    changed: bool


def listing_problems(values: Mapping[str, Any], *, today: date) -> list[FieldProblem]:
    """Every rule the given vehicle fields break (only the fields present are checked)."""
    problems: list[FieldProblem] = []

    def refuse(field: str, code: str, message: str) -> None:
        problems.append(FieldProblem(field, code, message))

    if "vin" in values and not is_valid_vin(values["vin"]):
        refuse("vin", "VIN_INVALID", "17 characters of A-Z (no I, O or Q) and 0-9.")
    for field, limit in _TEXT_LIMITS.items():
        text = values.get(field)
        if field in values and text is not None and not 0 < len(text) <= limit:
            refuse(field, "TEXT_LENGTH", f"1 to {limit} characters.")
    year = values.get("year")
    if year is not None and not MIN_YEAR <= year <= today.year + 1:
        refuse("year", "YEAR_OUT_OF_RANGE", f"A model year from {MIN_YEAR} to {today.year + 1}.")
    registered = values.get("first_registration")
    if registered is not None and (registered > today or registered.year < MIN_YEAR - 1):
        refuse("first_registration", "DATE_OUT_OF_RANGE", "Not in the future nor before 1949.")
    _check_range(refuse, values, "mileage_km", 0, MAX_MILEAGE_KM)
    _check_range(refuse, values, "power_kw", 1, MAX_POWER_KW)
    _check_range(refuse, values, "co2_g_km", 0, MAX_CO2_G_KM)
    _check_range(refuse, values, "price_minor", 1, MAX_PRICE_MINOR)
    country = values.get("location_country")
    if "location_country" in values and not (isinstance(country, str) and is_eu_member(country)):
        refuse("location_country", "COUNTRY_UNSUPPORTED", "An EU member state (ISO alpha-2).")
    return problems


def _check_range(refuse: Any, values: Mapping[str, Any], field: str, low: int, high: int) -> None:
    value = values.get(field)
    if value is not None and not low <= value <= high:
        refuse(field, "OUT_OF_RANGE", f"From {low} to {high}.")


def normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as stored: VIN and country canonical, text trimmed (blank trim: none)."""
    clean = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    # An explicit null is no text to normalise: the required-field check refuses it.
    if isinstance(clean.get("vin"), str):
        clean["vin"] = normalise_vin(clean["vin"])
    if isinstance(clean.get("location_country"), str):
        clean["location_country"] = normalise_country(clean["location_country"])
    if clean.get("trim") == "":
        clean["trim"] = None
    return clean


def _refuse_if_invalid(values: Mapping[str, Any]) -> None:
    problems = listing_problems(values, today=datetime.now(UTC).date())
    if problems:
        raise ListingRefusedError(problems)


_VIN_TAKEN = FieldProblem("vin", "VIN_TAKEN", "Another listing has this VIN.")
# A reserved or sold vehicle is the order's: its listing cannot change.
_UNCHANGEABLE = {
    VehicleStatus.RESERVED: FieldProblem("id", "VEHICLE_RESERVED", "The vehicle is reserved."),
    VehicleStatus.SOLD: FieldProblem("id", "VEHICLE_SOLD", "The vehicle is sold."),
}


async def create_listing(
    engine: AsyncEngine, redis: Redis, dealer_id: int, values: Mapping[str, Any]
) -> Any:
    """List a vehicle for `dealer_id` (AVAILABLE); returns the new row."""
    clean = normalised(values)
    missing = [field for field in _REQUIRED if clean.get(field) is None]
    if missing:
        raise ListingRefusedError([FieldProblem(f, "REQUIRED", "Required.") for f in missing])
    _refuse_if_invalid(clean)
    async with engine.begin() as conn:
        dealer = await conn.execute(
            sa.select(dealer_table.c.id).where(dealer_table.c.id == dealer_id)
        )
        if dealer.first() is None:
            problem = FieldProblem("dealer_id", "DEALER_NOT_FOUND", "No such dealer.")
            raise ListingRefusedError([problem])
        statement = (
            insert(vehicle_table)
            .values(**clean, dealer_id=dealer_id, status=VehicleStatus.AVAILABLE.value)
            .on_conflict_do_nothing(index_elements=["vin"])
            .returning(*RETURNED_COLUMNS)
        )
        row = (await conn.execute(statement)).mappings().first()
    if row is None:
        raise ListingRefusedError([_VIN_TAKEN])
    await vehicles_changed(redis, [row["id"]], [group_of(row)])
    return row


async def _locked(conn: AsyncConnection, vehicle_id: int, owner_dealer_id: int | None) -> Any:
    statement = sa.select(*RETURNED_COLUMNS).where(vehicle_table.c.id == vehicle_id)
    if owner_dealer_id is not None:
        statement = statement.where(vehicle_table.c.dealer_id == owner_dealer_id)
    row = (await conn.execute(statement.with_for_update())).mappings().first()
    if row is None:
        raise ListingNotFoundError(f"no vehicle {vehicle_id}")
    unchangeable = _UNCHANGEABLE.get(row["status"])
    if unchangeable is not None:
        raise ListingRefusedError([unchangeable])
    return row


async def update_listing(
    engine: AsyncEngine,
    redis: Redis,
    vehicle_id: int,
    changes: Mapping[str, Any],
    *,
    owner_dealer_id: int | None,
) -> ListingChange:
    """Change the given fields of a vehicle that is neither reserved nor sold."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    clean = normalised(changes)
    nulled = [f for f in _REQUIRED if f in clean and clean[f] is None]
    if nulled:
        raise ListingRefusedError([FieldProblem(f, "REQUIRED", "Cannot be empty.") for f in nulled])
    _refuse_if_invalid(clean)
    try:
        async with engine.begin() as conn:
            before = await _locked(conn, vehicle_id, owner_dealer_id)
            if not clean:
                return ListingChange(before, changed=False)
            statement = (
                vehicle_table.update()
                .where(vehicle_table.c.id == vehicle_id)
                .values(**clean)
                .returning(*RETURNED_COLUMNS)
            )
            row = (await conn.execute(statement)).mappings().one()
    except IntegrityError as error:
        if "uq_vehicle_vin" in str(error.orig):
            raise ListingRefusedError([_VIN_TAKEN]) from None
        raise
    # Any edit (year, mileage, country: not only the price) can change a quote.
    await vehicles_changed(redis, [vehicle_id], [group_of(before), group_of(row)])
    return ListingChange(row, changed=True)


async def withdraw_listing(
    engine: AsyncEngine, redis: Redis, vehicle_id: int, *, owner_dealer_id: int | None
) -> ListingChange:
    """Take an available vehicle off sale (WITHDRAWN); a withdrawn one stays as it is."""
    async with engine.begin() as conn:
        before = await _locked(conn, vehicle_id, owner_dealer_id)
        if before["status"] == VehicleStatus.WITHDRAWN:
            return ListingChange(before, changed=False)
        statement = (
            vehicle_table.update()
            .where(vehicle_table.c.id == vehicle_id)
            .values(status=VehicleStatus.WITHDRAWN.value)
            .returning(*RETURNED_COLUMNS)
        )
        row = (await conn.execute(statement)).mappings().one()
    await vehicles_changed(redis, [vehicle_id], [group_of(row)])
    return ListingChange(row, changed=True)
