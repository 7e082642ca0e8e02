"""Listing root fields: createVehicle, updateVehicle, withdrawVehicle.

Dealers act on their own dealer's vehicles only, admins on any; buyers, partners and
anonymous callers may not list (FORBIDDEN / UNAUTHENTICATED). Rules a listing breaks
(invalid VIN, year, price, country; VIN taken; vehicle reserved or sold) come back as
userErrors naming the input field. Payloads are nullable: a refused field is null with
its error, and the document's other root fields still run.
"""

from __future__ import annotations

import strawberry

from auth.permissions import HasRole, IsVehicleOwner, ListsForOwnDealer, requires
from models.account import UserRole
from resolvers import listings
from schema.context import Info
from schema.listings import (
    CreateVehicleInput,
    CreateVehiclePayload,
    UpdateVehicleInput,
    UpdateVehiclePayload,
    WithdrawVehicleInput,
    WithdrawVehiclePayload,
)

_LISTERS = (UserRole.DEALER, UserRole.ADMIN)


@strawberry.type
class ListingMutation:
    @strawberry.mutation(
        description="List a vehicle for sale (AVAILABLE). Requires DEALER (own dealer) or ADMIN.",
        extensions=[requires(HasRole(*_LISTERS), ListsForOwnDealer())],
    )
    async def create_vehicle(
        self, info: Info, input: CreateVehicleInput
    ) -> CreateVehiclePayload | None:
        return await listings.create_vehicle(info, input)

    @strawberry.mutation(
        description="Edit a vehicle that is neither reserved nor sold. Requires the DEALER "
        "that lists it, or ADMIN.",
        extensions=[requires(HasRole(*_LISTERS), IsVehicleOwner())],
    )
    async def update_vehicle(
        self, info: Info, input: UpdateVehicleInput
    ) -> UpdateVehiclePayload | None:
        return await listings.update_vehicle(info, input)

    @strawberry.mutation(
        description="Take a vehicle off sale (WITHDRAWN); idempotent. Requires the DEALER "
        "that lists it, or ADMIN.",
        extensions=[requires(HasRole(*_LISTERS), IsVehicleOwner())],
    )
    async def withdraw_vehicle(
        self, info: Info, input: WithdrawVehicleInput
    ) -> WithdrawVehiclePayload | None:
        return await listings.withdraw_vehicle(info, input)
