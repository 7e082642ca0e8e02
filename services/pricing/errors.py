"""Why the pricing engine refuses to quote, as domain errors with stable codes.

DomainError
 └── PricingError (code, argument)
      ├── UnsupportedDestinationError   UNSUPPORTED_DESTINATION   destinationCountry
      ├── VehicleNotFoundError          VEHICLE_NOT_FOUND         vehicleId
      ├── VehicleUnavailableError       VEHICLE_UNAVAILABLE       vehicleId (SOLD, WITHDRAWN)
      └── VehicleNotPriceableError      VEHICLE_NOT_PRICEABLE     vehicleId (origin or
                                                                  currency outside the rules)
UnknownRulesVersionError: a programming error (a version that was never defined).
"""

from __future__ import annotations

import enum

from services.errors import DomainError


class PricingErrorCode(enum.StrEnum):
    UNSUPPORTED_DESTINATION = "UNSUPPORTED_DESTINATION"
    VEHICLE_NOT_FOUND = "VEHICLE_NOT_FOUND"
    VEHICLE_UNAVAILABLE = "VEHICLE_UNAVAILABLE"
    VEHICLE_NOT_PRICEABLE = "VEHICLE_NOT_PRICEABLE"


class PricingError(DomainError):
    """A quote cannot be made; `argument` names the input at fault."""

    code: PricingErrorCode
    argument: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedDestinationError(PricingError):
    code = PricingErrorCode.UNSUPPORTED_DESTINATION
    argument = "destinationCountry"

    def __init__(self, country: str) -> None:
        super().__init__(
            f"{country!r} is not a destination we deliver to: "
            "an EU member state's ISO 3166-1 alpha-2 code is expected"
        )
        self.country = country


class VehicleNotFoundError(PricingError):
    code = PricingErrorCode.VEHICLE_NOT_FOUND
    argument = "vehicleId"

    def __init__(self, vehicle_id: int) -> None:
        super().__init__("no vehicle with this id")
        self.vehicle_id = vehicle_id


class VehicleUnavailableError(PricingError):
    code = PricingErrorCode.VEHICLE_UNAVAILABLE
    argument = "vehicleId"

    def __init__(self, vehicle_id: int, status: str) -> None:
        super().__init__(f"the vehicle is {status.lower()} and cannot be quoted")
        self.vehicle_id = vehicle_id
        self.status = status


class VehicleNotPriceableError(PricingError):
    code = PricingErrorCode.VEHICLE_NOT_PRICEABLE
    argument = "vehicleId"

    def __init__(self, vehicle_id: int, reason: str) -> None:
        super().__init__(f"the vehicle cannot be priced: {reason}")
        self.vehicle_id = vehicle_id
        self.reason = reason


class UnknownRulesVersionError(LookupError):
    """No rule set has this version."""

    def __init__(self, version: str) -> None:
        super().__init__(f"no pricing rules version {version!r}")
        self.version = version
