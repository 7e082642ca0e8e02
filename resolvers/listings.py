"""Listing root fields: arguments in, one service call, payload or coded error out."""

from __future__ import annotations

from typing import Any

from auth.permissions import principal_of
from schema.catalog import Vehicle
from schema.context import Info
from schema.errors import NotFoundError
from schema.listings import (
    INPUT_FIELD_NAMES,
    CreateVehicleInput,
    CreateVehiclePayload,
    UpdateVehicleInput,
    UpdateVehiclePayload,
    WithdrawVehicleInput,
    WithdrawVehiclePayload,
)
from schema.payloads import refusal_errors
from services.errors import FieldProblem
from services.vehicles import listing


def _vehicle(info: Info, row: Any) -> Vehicle:
    # The permission check loaded the old row: later reads in this operation see the new.
    info.context.loaders.vehicle_by_id.clear(row["id"]).prime(row["id"], row)
    return Vehicle.from_row(row)


def _owner(info: Info) -> int | None:
    principal = principal_of(info)
    return None if principal.is_admin else principal.dealer_id


async def create_vehicle(info: Info, input: CreateVehicleInput) -> CreateVehiclePayload:
    """List a vehicle for the caller's dealer (an admin names the dealer)."""
    dealer_id = input.dealer_key() or principal_of(info).dealer_id
    if dealer_id is None:
        missing = FieldProblem("dealer_id", "REQUIRED", "An admin must name the dealer.")
        refused = listing.ListingRefusedError([missing])
        return CreateVehiclePayload(user_errors=refusal_errors(refused, INPUT_FIELD_NAMES))
    try:
        row = await listing.create_listing(
            await info.context.db.for_writes(), info.context.redis, dealer_id, input.values()
        )
    except listing.ListingRefusedError as error:
        return CreateVehiclePayload(user_errors=refusal_errors(error, INPUT_FIELD_NAMES))
    return CreateVehiclePayload(vehicle=_vehicle(info, row))


async def update_vehicle(info: Info, input: UpdateVehicleInput) -> UpdateVehiclePayload:
    """Change the given fields of a vehicle the caller may edit."""
    ctx = info.context
    try:
        change = await listing.update_listing(
            await ctx.db.for_writes(), ctx.redis, input.vehicle_key(), input.values(),
            owner_dealer_id=_owner(info),
        )  # fmt: skip
    except listing.ListingNotFoundError:
        raise NotFoundError(f"no vehicle with id {input.id}", field="id") from None
    except listing.ListingRefusedError as error:
        return UpdateVehiclePayload(user_errors=refusal_errors(error, INPUT_FIELD_NAMES))
    return UpdateVehiclePayload(vehicle=_vehicle(info, change.row))


async def withdraw_vehicle(info: Info, input: WithdrawVehicleInput) -> WithdrawVehiclePayload:
    """Take a vehicle off sale."""
    ctx = info.context
    try:
        change = await listing.withdraw_listing(
            await ctx.db.for_writes(), ctx.redis, input.vehicle_key(), owner_dealer_id=_owner(info)
        )
    except listing.ListingNotFoundError:
        raise NotFoundError(f"no vehicle with id {input.id}", field="id") from None
    except listing.ListingRefusedError as error:
        return WithdrawVehiclePayload(user_errors=refusal_errors(error, INPUT_FIELD_NAMES))
    return WithdrawVehiclePayload(vehicle=_vehicle(info, change.row))
