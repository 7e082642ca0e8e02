"""Why the pricing engine refuses to quote, as domain errors with stable codes.

RefusalError (services/errors.py)
 ├── PricingError (code, field)
      ├── UnsupportedDestinationError   UNSUPPORTED_DESTINATION   destinationCountry
      ├── VehicleNotFoundError          VEHICLE_NOT_FOUND         vehicleId
      └── VehicleNotPriceableError      VEHICLE_NOT_PRICEABLE     vehicleId (origin or
                                                                  currency outside the rules)
 └── VehicleUnavailableError            VEHICLE_UNAVAILABLE       vehicleId (SOLD, WITHDRAWN;
                                        services/errors.py, shared with orders: `not_quotable`)
UnknownRulesVersionError: a programming error (a version that was never defined).
"""

from __future__ import annotations

from services.errors import RefusalError, RefusalErrorCode, VehicleUnavailableError

__all__ = [
    "PricingError",
    "UnknownRulesVersionError",
    "UnsupportedDestinationError",
    "VehicleNotFoundError",
    "VehicleNotPriceableError",
    "VehicleUnavailableError",
]


class PricingError(RefusalError):
    """A quote cannot be made; `field` names the input at fault."""

    field: str


class UnsupportedDestinationError(PricingError):
    code = RefusalErrorCode.UNSUPPORTED_DESTINATION
    field = "destinationCountry"

    def __init__(self, country: str) -> None:
        super().__init__(
            f"{country!r} is not a destination we deliver to: "
            "an EU member state's ISO 3166-1 alpha-2 code is expected"
        )
        self.country = country


class VehicleNotFoundError(PricingError):
    code = RefusalErrorCode.VEHICLE_NOT_FOUND
    field = "vehicleId"

    def __init__(self, vehicle_id: int) -> None:
        super().__init__("no vehicle with this id")
        self.vehicle_id = vehicle_id


class VehicleNotPriceableError(PricingError):
    code = RefusalErrorCode.VEHICLE_NOT_PRICEABLE
    field = "vehicleId"

    def __init__(self, vehicle_id: int, reason: str) -> None:
        super().__init__(f"the vehicle cannot be priced: {reason}")
        self.vehicle_id = vehicle_id
        self.reason = reason


def not_quotable(vehicle_id: int, status: str) -> VehicleUnavailableError:
    """The refusal of a quote for a vehicle that is sold or withdrawn."""
    return VehicleUnavailableError(
        f"the vehicle is {status.lower()} and cannot be quoted",
        vehicle_id=vehicle_id,
        status=status,
    )


class UnknownRulesVersionError(LookupError):
    """No rule set has this version."""

    def __init__(self, version: str) -> None:
        super().__init__(f"no pricing rules version {version!r}")
        self.version = version
